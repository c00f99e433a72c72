"""The time-based split: the last weeks are the holdout, everything before them trains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import LABEL, TIMESTAMP


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


def time_split(df: pd.DataFrame, holdout_weeks: int) -> Split:
    """Rows of the last `holdout_weeks` calendar weeks present form the holdout; order is kept."""
    if holdout_weeks < 1:
        raise RollgateError(f"params.yaml: prepare.holdout_weeks={holdout_weeks}: must be at least 1")
    weeks = week_of(df[TIMESTAMP])
    distinct = sorted(weeks.unique())
    if len(distinct) <= holdout_weeks:
        raise RollgateError(
            f"params.yaml: prepare.holdout_weeks={holdout_weeks} leaves no training data: "
            f"the data spans {len(distinct)} week(s)"
        )
    start = pd.Timestamp(distinct[-holdout_weeks])
    in_holdout = (weeks >= start).to_numpy()
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
        "train_positives": int(split.train[LABEL].sum()),
        "holdout_rows": len(split.holdout),
        "holdout_positives": int(split.holdout[LABEL].sum()),
        "holdout_start": split.holdout_start.isoformat(),
    }
