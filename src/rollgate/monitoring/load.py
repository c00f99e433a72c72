"""The reference and the current rows of a run, checked: every failure names the file and the column.

The reference is a table (its rows split into ISO weeks by the time column, one week without one; the
holdout is its score and label columns when a score column is named) or a `baseline.json` (the
`rollgate.monitor.baseline.Reference` JSON form, with an optional top-level `model_sha256`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rollgate.contracts import baseline, paths
from rollgate.contracts.errors import RollgateError
from rollgate.monitor import windows
from rollgate.monitor.baseline import Reference
from rollgate.monitor.reference import Holdout, build_reference
from rollgate.monitoring import cohorts, read
from rollgate.monitoring.options import Options


@dataclass(frozen=True)
class Loaded:
    reference: Reference
    current: pd.DataFrame = field(repr=False)
    time: str | None
    label: str | None  # the label column of the current rows, when they have one
    digest: str | None  # the model digest the reference expects the log to come from


def _named(o: Options) -> set[str]:
    return {c for c in (o.time_column, o.id_column, o.score_column, o.label_column, o.previous_score_column) if c}


def _weeks(frame: pd.DataFrame, path: Path, time: str | None) -> list[str]:
    if time is None:
        return ["all"] * len(frame)
    read.require(frame, [time], path, "the time column splits it into weeks")
    try:
        return windows.iso_weeks(frame, time)
    except RollgateError as e:
        raise RollgateError(f"{path}: {e}") from e


def finite(values: pd.Series, path: Path, column: str) -> np.ndarray:
    scores = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise RollgateError(f"{path}: column {column!r} has {bad} non-finite scores")
    return scores


def _holdout(frame: pd.DataFrame, o: Options) -> Holdout | None:
    if o.score_column is None:
        return None
    why = "the holdout's scores and labels"
    read.require(frame, [o.score_column, o.label_column], o.reference, why)
    labels = pd.to_numeric(frame[o.label_column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isin(labels, (0.0, 1.0)).all():
        raise RollgateError(f"{o.reference}: column {o.label_column!r} holds labels other than 0 and 1")
    return Holdout(finite(frame[o.score_column], o.reference, o.score_column), labels.astype(int), o.threshold)


def _from_table(o: Options) -> Reference:
    frame = read.read_table(o.reference)
    features = list(o.features) or [c for c in frame.columns if c not in _named(o)]
    read.require(frame, features, o.reference, "a feature to monitor")
    if not features:
        raise RollgateError(f"{o.reference}: no feature columns left to monitor")
    categorical = o.categorical
    if categorical is None:
        categorical = tuple(c for c in features if not pd.api.types.is_numeric_dtype(frame[c]))
    numeric = [c for c in features if c not in categorical]
    try:
        return build_reference(
            frame, _weeks(frame, o.reference, o.time_column), numeric=numeric,
            categorical=[c for c in features if c in categorical], holdout=_holdout(frame, o),
        )  # fmt: skip
    except RollgateError as e:
        raise RollgateError(f"{o.reference}: {e}") from e


def _from_baseline(o: Options) -> tuple[Reference, str | None]:
    if not o.reference.is_file():
        hint = (
            " (the evaluate stage writes it: `make repro`, or `dvc pull`)"
            if o.reference == Path(paths.BASELINE)
            else ""
        )
        raise RollgateError(f"{o.reference}: no baseline there{hint}")
    try:
        raw = json.loads(o.reference.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RollgateError(f"{o.reference}: not a readable baseline ({e})") from e
    baseline.check(raw, str(o.reference))
    try:
        reference = Reference.from_dict(raw)
    except RollgateError as e:
        raise RollgateError(f"{o.reference}: {e}") from e
    if o.score_column and reference.score is None:
        raise RollgateError(f"{o.reference}: no holdout scores ('score' is null), needed for {o.score_column!r}")
    digest = raw.get(baseline.DIGEST)
    return reference, str(digest) if digest else None


def _current(o: Options) -> pd.DataFrame:
    frame = read.read_table(o.current)
    if read.is_log(o.current):  # the log's own names become the ones the options give
        renames = {read.LOG_TIME: o.time_column, read.LOG_ID: o.id_column, read.LOG_SCORE: o.score_column}
        frame = frame.rename(columns={k: v for k, v in renames.items() if v and k != v})
    if o.labels is not None:
        labels = _arrived(read.read_table(o.labels), o)
        frame = read.join_labels(frame, labels, id_column=o.id_column, label_column=o.label_column,
                                 current_path=o.current, labels_path=o.labels)  # fmt: skip
    return frame


def _arrived(labels: pd.DataFrame, o: Options) -> pd.DataFrame:
    """The labels that had arrived by `o.as_of` (all of them without a label time column)."""
    column = o.label_time_column
    if column is None:
        return labels
    read.require(labels, [column], Path(str(o.labels)), "the labels' arrival times")
    arrived = pd.to_datetime(labels[column], format="ISO8601", utc=True, errors="coerce")
    if arrived.isna().any():
        raise RollgateError(f"{o.labels}: column {column!r} has {int(arrived.isna().sum())} rows without a time")
    return labels.loc[(arrived <= cohorts.as_of(o)).to_numpy()]


def _check_digest(frame: pd.DataFrame, path: Path, expected: str | None) -> None:
    if expected is None or read.LOG_DIGEST not in frame.columns:
        return
    other = sorted(set(frame[read.LOG_DIGEST].astype(str)) - {expected})
    if other:
        raise RollgateError(f"{path}: column {read.LOG_DIGEST!r} holds model digest {other[0]}, expected {expected}")


def load(o: Options) -> Loaded:
    """The reference and the current rows, every column the run needs checked present and sound."""
    digest = None
    if o.reference.suffix == ".json":
        reference, digest = _from_baseline(o)
    else:
        reference = _from_table(o)
    current = _current(o)
    time = o.time_column or (read.LOG_TIME if read.is_log(o.current) else None)
    needed = [f.name for f in reference.features] + [c for c in (o.score_column, o.previous_score_column) if c]
    read.require(current, needed, o.current, "the reference has it")
    for column in (o.score_column, o.previous_score_column):
        if column:
            finite(current[column], o.current, column)
    _check_digest(current, o.current, o.sha256 or digest)
    label = o.label_column if o.label_column in current.columns else None
    if o.command == "performance" and label is None:
        raise RollgateError(f"{o.current}: column {o.label_column!r} missing (give --labels L, or label the rows)")
    return Loaded(reference, current, time, label, o.sha256 or digest)
