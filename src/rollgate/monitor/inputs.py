"""Checks on a window's data: each failure is a `RollgateError` naming the window and the column."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from rollgate.contracts.errors import RollgateError


def require_rows(frame: pd.DataFrame, window: str) -> None:
    if len(frame) == 0:
        raise RollgateError(f"window {window}: no rows")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], window: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RollgateError(f"window {window}: column {', '.join(map(repr, missing))} missing (the reference has it)")


def finite_scores(scores: np.ndarray, window: str, column: str = "score") -> np.ndarray:
    """Scores as float64, refusing an empty window and any NaN or infinity."""
    values = np.asarray(scores, dtype=np.float64)
    if len(values) == 0:
        raise RollgateError(f"window {window}: no rows")
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise RollgateError(f"window {window}: column {column!r} has {bad} non-finite scores")
    return values


def labels_of(labels: np.ndarray, window: str, column: str = "label") -> np.ndarray:
    """Labels as float64: 0, 1, or NaN for a row whose label has not arrived."""
    values = np.asarray(labels, dtype=np.float64)
    known = values[~np.isnan(values)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise RollgateError(f"window {window}: column {column!r} has labels other than 0 and 1")
    return values


def numeric_column(frame: pd.DataFrame, column: str, window: str) -> np.ndarray:
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise RollgateError(f"window {window}: column {column!r} is not numeric ({e})") from e
