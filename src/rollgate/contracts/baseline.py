"""The baseline — `reports/baseline.json`: what the monitor compares live data with, bound to one model.

Written by the evaluate stage from the training rows (per-feature reference bins and shares, an
"unseen" category bin, the week-to-week spread of each statistic) and the model's holdout scores (their
distribution, an isotonic calibration map fitted on the holdout, the holdout metrics), with the
digest of the model it belongs to. `rollgate.monitor.baseline.Reference` builds and reads its body;
this module is the file's contract.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio, metrics
from rollgate.contracts.bins import FeatureBins, ServedBaseline
from rollgate.contracts.errors import ContractError

SCHEMA = "baseline"
DIGEST = "model_sha256"  # the top-level field naming the model the baseline belongs to


SCORE_BUCKETS = "score_buckets"  # the holdout's score CDF at the server's fixed histogram bounds


def write(path: Path, body: dict[str, Any], model_sha256: str, score_cdf: Sequence[float] | None = None) -> None:
    """Write `body` (a `Reference.to_dict()`) bound to `model_sha256`, schema-checked, atomically; with
    `score_cdf`, the holdout's share of scores at or below each of `metrics.SCORE_BUCKETS`."""
    doc = {**body, DIGEST: model_sha256}
    if score_cdf is not None:
        doc[SCORE_BUCKETS] = {"le": list(metrics.SCORE_BUCKETS), "cdf": [float(v) for v in score_cdf]}
    jsonio.write_checked(path, doc, SCHEMA)


def read(path: Path) -> tuple[dict[str, Any], str]:
    """A baseline file, schema-checked, and the sha256 of its bytes (what a release record pins)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ContractError(f"{path}: no baseline (the evaluate stage writes it)") from exc
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    check(doc, str(path))
    return doc, hashlib.sha256(data).hexdigest()


def served(doc: dict[str, Any], file_sha256: str, features: Sequence[str], source: str) -> ServedBaseline:
    """What the release record carries of a baseline: each of the model's `features`' bins and shares
    (in the model's order) and the score CDF at the server's bounds; refused when they do not match."""
    given = doc["features"]
    if sorted(given) != sorted(features):
        raise ContractError(
            f"{source}: baseline bins are for features {sorted(given)}, the model takes {list(features)}"
        )
    if doc.get(SCORE_BUCKETS) is None:
        raise ContractError(f"{source}: no {SCORE_BUCKETS!r}: the score reference the alert rules need")
    bins = []
    for name in features:
        raw = given[name]
        rows = max(sum(raw["counts"]), 1)
        shares = tuple(c / rows for c in raw["counts"])
        if raw["kind"] == "numeric":
            bins.append(FeatureBins(name, "numeric", shares, edges=tuple(float(e) for e in raw["edges"][1:-1])))
        else:
            bins.append(FeatureBins(name, "categorical", shares, categories=tuple(raw["categories"])))
    score = doc[SCORE_BUCKETS]
    return ServedBaseline(file_sha256, tuple(bins), tuple(score["le"]), tuple(score["cdf"]))


def check(doc: Any, source: str) -> None:
    """Raise `ContractError` naming `source` and every offending field if `doc` breaks the schema."""
    jsonio.check(doc, SCHEMA, source)
