"""The time-based split: the latest rows (by weeks, a date or a share) are the holdout, the rest trains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.params import HoldoutParams


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    holdout_start: pd.Timestamp


def week_of(timestamps: pd.Series) -> pd.Series:
    """The Monday (00:00) of each timestamp's week."""
    days = timestamps.dt.normalize()
    monday: pd.Series = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return monday


def _start(stamps: pd.Series, holdout: HoldoutParams) -> tuple[pd.Timestamp, str]:
    """The holdout's first timestamp, and the params key that chose it (for messages)."""
    if holdout.weeks is not None:
        distinct = sorted(week_of(stamps).unique())
        if len(distinct) <= holdout.weeks:
            raise RollgateError(
                f"params.yaml: prepare.holdout.weeks={holdout.weeks} leaves no training data: "
                f"the data spans {len(distinct)} calendar week(s)"
            )
        return pd.Timestamp(distinct[-holdout.weeks]), f"weeks={holdout.weeks}"
    if holdout.since is not None:
        return pd.Timestamp(holdout.since), f"since={holdout.since}"
    assert holdout.fraction is not None  # HoldoutParams holds exactly one of the three
    ordered = stamps.sort_values(kind="stable").to_numpy()
    cut = len(ordered) - max(1, round(holdout.fraction * len(ordered)))
    return pd.Timestamp(ordered[max(cut, 0)]), f"fraction={holdout.fraction}"


def time_split(df: pd.DataFrame, holdout: HoldoutParams) -> Split:
    """Rows from the holdout's start on form the holdout (rows at one timestamp stay together); order is kept.

    Raises:
        RollgateError: either side would be empty, naming the params key.
    """
    stamps = df[DATASET.timestamp]
    start, key = _start(stamps, holdout)
    in_holdout = (stamps >= start).to_numpy()
    if in_holdout.all() or not in_holdout.any():
        side = "no training data" if in_holdout.all() else "an empty holdout"
        raise RollgateError(
            f"params.yaml: prepare.holdout.{key} leaves {side}: the data runs from {stamps.min()} to {stamps.max()}"
        )
    return Split(
        train=df.loc[~in_holdout].reset_index(drop=True),
        holdout=df.loc[in_holdout].reset_index(drop=True),
        holdout_start=start,
    )


def manifest(split: Split, data_md5: str) -> dict[str, Any]:
    """`artifacts/prepared/manifest.json`: what was split, and how."""
    return {
        "data_md5": data_md5,
        "rows": len(split.train) + len(split.holdout),
        "train_rows": len(split.train),
        "train_positives": int(split.train[DATASET.label].sum()),
        "holdout_rows": len(split.holdout),
        "holdout_positives": int(split.holdout[DATASET.label].sum()),
        "holdout_start": split.holdout_start.isoformat(),
    }
