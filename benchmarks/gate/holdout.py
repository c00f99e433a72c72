"""The benchmark's input: the adopter's own holdout, labelled, and the trained model's scores on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rollgate.contracts import model_metadata
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.data import batches
from rollgate.model import artifact


@dataclass(frozen=True)
class Holdout:
    """The holdout's segment columns, labels (0/1) and the trained model's scores, row by row."""

    frame: pd.DataFrame  # only the segment columns the gate judges
    y: np.ndarray
    scores: np.ndarray
    features: FeatureContract  # the model's input contract (both simulated models share it)
    label: str


def _labels(column: pd.Series, shown: str) -> np.ndarray:
    values = set(pd.unique(column.dropna()).tolist())
    if column.isna().any() or not values <= {0, 1}:
        raise RollgateError(f"{shown}: label {column.name!r} must be 0/1 (found {sorted(map(str, values))[:5]})")
    y = column.to_numpy().astype(np.int64)
    positives = int(y.sum())
    if positives in (0, len(y)):
        raise RollgateError(
            f"{shown}: label {column.name!r} has one class only ({positives} positives in {len(y)} rows): "
            "a comparison needs both"
        )
    return y


def require(holdout: Path, model: Path) -> None:
    """Raise unless the holdout, the model and its metadata (`.json` beside it) are all there."""
    for path in (holdout, model, model.with_suffix(".json")):
        if not path.is_file():
            raise RollgateError(f"{path}: missing: run `make repro` first (or pass --holdout/--model)")


def load(holdout: Path, model: Path, label: str, segments: tuple[str, ...]) -> Holdout:
    """Read the holdout and the model (`model.skops`, its metadata `model.json` beside it) and score.

    Raises:
        RollgateError: a file is missing or unreadable, the digest does not match, a column is missing, or
            the label is not 0/1 with both classes.
    """
    require(holdout, model)
    meta = model_metadata.read(model.with_suffix(".json"))
    fitted = artifact.loads(model.read_bytes(), meta.sha256, str(model))
    frame = batches.read_table(holdout, [label, *segments, *meta.features.names], str(holdout))
    y = _labels(frame[label], str(holdout))
    scores = np.asarray(fitted.predict_proba(frame[meta.features.names])[:, 1], dtype=np.float64)
    rows = frame[list(segments)].reset_index(drop=True)
    return Holdout(rows, y, scores, meta.features, label)
