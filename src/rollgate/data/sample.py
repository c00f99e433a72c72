"""Rows for any schema, drawn from its column checks: the template's tests and tools build data with it.

Features are drawn from the feature contract (ranges, categories, types), the label from a random but
fixed function of them (so a model has something to learn), the timestamp spread over 16 weeks. A
schema whose dataframe-level checks such rows cannot meet names a sampler hook instead
(`Dataset.define(..., sampler="module:function")`); this module then says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from rollgate.contracts import probe
from rollgate.contracts.errors import ContractError
from rollgate.data.dataset import Dataset

START = pd.Timestamp("2026-01-05")
SPAN_SECONDS = 16 * 7 * 24 * 3600
_SIGNAL = 2.0  # standard deviation of the label's log-odds: a learnable but imperfect signal


def _signal(frame: pd.DataFrame, dataset: Dataset, rng: np.random.Generator) -> np.ndarray:
    logit = np.zeros(len(frame))
    for spec in dataset.features.features:
        values = frame[spec.name]
        if spec.type == "category":
            effects = dict(zip(spec.categories or (), rng.normal(0.0, 1.0, len(spec.categories or ())), strict=True))
            part = values.map(effects).to_numpy(dtype=float)
        else:
            numeric = values.to_numpy(dtype=float)
            part = (numeric - numeric.mean()) / (numeric.std() or 1.0) * rng.normal(0.0, 1.0)
        logit += part
    return logit / (logit.std() or 1.0) * _SIGNAL


def _intercept(logit: np.ndarray, rate: float) -> float:
    """The shift of `logit` whose mean probability is `rate` (bisection: the mean is monotone in it)."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(np.mean(1.0 / (1.0 + np.exp(-(logit + mid))))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _filler(dtype: str, rows: int, prefix: str) -> np.ndarray | list[str]:
    if dtype == "bool":
        return np.zeros(rows, dtype=bool)
    if dtype.startswith(("int", "uint")):
        return np.arange(rows, dtype=np.int64)
    if dtype.startswith("float"):
        return np.zeros(rows)
    return [f"{prefix}{i:08d}" for i in range(rows)]


def generic(dataset: Dataset, rows: int, seed: int, label_rate: float = 0.25) -> pd.DataFrame:
    """`rows` rows valid for `dataset`'s schema, sorted by time, the same for the same seed.

    Raises:
        ContractError: the schema rejects such rows (a dataframe-level check): it needs a sampler hook.
    """
    rng = np.random.default_rng(seed)
    columns = dataset.schema.to_schema().columns
    drawn = {spec.name: probe.column(spec, rng, rows) for spec in dataset.features.features}
    seconds = np.sort(rng.integers(0, SPAN_SECONDS, rows))
    data: dict[str, object] = {}
    for name in dataset.columns:
        if name in drawn:
            data[name] = drawn[name]
        elif name == dataset.timestamp:
            data[name] = (START + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]")
        elif name != dataset.label:
            data[name] = _filler(str(columns[name].dtype), rows, f"{seed}-")
    frame = pd.DataFrame(data)
    for spec in dataset.features.features:
        if spec.type == "category":
            frame[spec.name] = frame[spec.name].astype("str")
    logit = _signal(frame, dataset, rng)
    labels = rng.random(rows) < 1.0 / (1.0 + np.exp(-(logit + _intercept(logit, label_rate))))
    frame[dataset.label] = labels if str(columns[dataset.label].dtype) == "bool" else labels.astype(np.int64)
    frame = frame[dataset.columns]
    try:
        dataset.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        first = exc.failure_cases.head(3)[["column", "check"]].to_dict("records")
        raise ContractError(
            f"{dataset.schema.__name__}: rows drawn from its column checks fail {first}: give the dataset "
            'definition a sampler hook (Dataset.define(..., sampler="module:function"))'
        ) from None
    return frame
