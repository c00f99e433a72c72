"""The fixed probe set behind the prediction fingerprint.

Rows are drawn from the feature contract alone (never from training data), so every model with the
same contract is fingerprinted on the same rows: training, the registry, the release record and the
server at start-up can all recompute and compare it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rollgate.contracts.features import FeatureContract, FeatureSpec

PROBE_SEED = 20260105


def column(spec: FeatureSpec, rng: np.random.Generator, rows: int) -> np.ndarray:
    """`rows` values that satisfy `spec`, drawn with `rng` (also the generic sample data of `rollgate.data`)."""
    if spec.type == "category":
        choices = np.asarray(spec.categories or ("",), dtype=object)
        picked: np.ndarray = choices[rng.integers(0, len(choices), rows)]
        return picked
    if spec.type == "bool":
        return rng.random(rows) < 0.5
    lo = spec.minimum if spec.minimum is not None else 0.0
    hi = spec.maximum if spec.maximum is not None else lo + 1_000.0
    # Half uniform over the range, half log-uniform near its bottom, where real values cluster.
    uniform = rng.uniform(lo, hi, rows)
    start = max(lo, 1e-2)
    low_heavy = np.exp(rng.uniform(np.log(start), np.log(max(hi, start * 1.0001)), rows))
    values = np.where(rng.random(rows) < 0.5, uniform, low_heavy).clip(lo, hi)
    out: np.ndarray
    if spec.type == "int":
        lo_int = int(np.floor(lo)) + 1 if spec.minimum_exclusive else int(np.ceil(lo))
        hi_int = int(np.ceil(hi)) - 1 if spec.maximum_exclusive else int(np.floor(hi))
        out = np.floor(values).astype(np.int64).clip(lo_int, hi_int)
    else:
        lo_ok = np.nextafter(lo, np.inf) if spec.minimum_exclusive else lo
        hi_ok = np.nextafter(hi, -np.inf) if spec.maximum_exclusive else hi
        out = np.round(values, 2).clip(lo_ok, hi_ok)
    return out


def probe_frame(contract: FeatureContract, rows: int) -> pd.DataFrame:
    """`rows` rows that satisfy `contract`, the same for the same contract on every machine."""
    rng = np.random.default_rng(PROBE_SEED)
    data = {spec.name: column(spec, rng, rows) for spec in contract.features}
    frame = pd.DataFrame(data)
    for spec in contract.features:
        if spec.type == "category":
            frame[spec.name] = frame[spec.name].astype("str")
    return frame
