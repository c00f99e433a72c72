"""The baseline — `reports/baseline.json`: what the monitor compares live data with, bound to one model.

Written by the evaluate stage from the training rows (per-feature reference bins and shares, an
"unseen" category bin, the week-to-week spread of each statistic) and the model's holdout scores (their
distribution, an isotonic calibration map fitted on the holdout, the holdout metrics), with the
digest of the model it belongs to. `rollgate.monitor.baseline.Reference` builds and reads its body;
this module is the file's contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio

SCHEMA = "baseline"
DIGEST = "model_sha256"  # the top-level field naming the model the baseline belongs to


def write(path: Path, body: dict[str, Any], model_sha256: str) -> None:
    """Write `body` (a `Reference.to_dict()`) bound to `model_sha256`, schema-checked, atomically."""
    jsonio.write_checked(path, {**body, DIGEST: model_sha256}, SCHEMA)


def check(doc: Any, source: str) -> None:
    """Raise `ContractError` naming `source` and every offending field if `doc` breaks the schema."""
    jsonio.check(doc, SCHEMA, source)
