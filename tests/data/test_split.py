"""The time-based split: the last calendar weeks present (or rows from a date, or the latest share) form the
holdout, nothing is lost or reordered. Columns are the active dataset's."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.data.split import time_split, week_of
from rollgate.params import HoldoutParams

pytestmark = pytest.mark.unit

# Two rows in each of four weeks (Mondays 2026-01-05, -12, -19, -26), with rows on the week boundaries.
TIMESTAMPS = [
    "2026-01-05 00:00:00",
    "2026-01-11 23:59:59",
    "2026-01-12 00:00:00",
    "2026-01-15 12:30:00",
    "2026-01-19 08:00:00",
    "2026-01-25 23:00:00",
    "2026-01-26 00:00:00",
    "2026-02-01 23:59:59",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": [f"r{i}" for i in range(len(TIMESTAMPS))],
            DATASET.timestamp: pd.to_datetime(TIMESTAMPS),
            DATASET.label: [0, 1, 0, 0, 0, 1, 0, 1],
        }
    )


# --- week_of ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "monday"),
    [
        ("2026-01-05 00:00:00", "2026-01-05"),  # a Monday at midnight is its own week
        ("2026-01-11 23:59:59", "2026-01-05"),  # the last second of Sunday
        ("2026-01-12 00:00:00", "2026-01-12"),  # the first second of the next week
        ("2026-01-01 12:00:00", "2025-12-29"),  # a week across the new year
        ("2024-03-03 06:00:00", "2024-02-26"),  # a week across a leap day
    ],
)
def test_week_of_is_the_monday_at_midnight(timestamp: str, monday: str) -> None:
    weeks = week_of(pd.Series(pd.to_datetime([timestamp])))

    assert weeks.iloc[0] == pd.Timestamp(monday)


def weeks(n: int) -> HoldoutParams:
    return HoldoutParams(weeks=n)


# --- time_split -------------------------------------------------------------------------------------


def test_one_holdout_week_is_exactly_the_last_calendar_week(frame: pd.DataFrame) -> None:
    split = time_split(frame, weeks(1))

    assert split.holdout["row"].tolist() == ["r6", "r7"]
    assert split.train["row"].tolist() == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert split.holdout_start == pd.Timestamp("2026-01-26")


@pytest.mark.parametrize(("holdout_weeks", "holdout_rows"), [(1, 2), (2, 4), (3, 6)])
def test_holdout_grows_by_whole_weeks(frame: pd.DataFrame, holdout_weeks: int, holdout_rows: int) -> None:
    split = time_split(frame, weeks(holdout_weeks))

    assert len(split.holdout) == holdout_rows
    assert len(split.train) == len(frame) - holdout_rows


@pytest.mark.parametrize("holdout_weeks", [1, 2, 3])
def test_no_row_is_lost_or_duplicated(frame: pd.DataFrame, holdout_weeks: int) -> None:
    split = time_split(frame, weeks(holdout_weeks))

    together = pd.concat([split.train, split.holdout], ignore_index=True)
    pd.testing.assert_frame_equal(together, frame)


@pytest.mark.parametrize("holdout_weeks", [1, 2, 3])
def test_the_holdout_is_strictly_later_than_training(frame: pd.DataFrame, holdout_weeks: int) -> None:
    split = time_split(frame, weeks(holdout_weeks))

    assert split.holdout[DATASET.timestamp].min() > split.train[DATASET.timestamp].max()
    assert split.holdout[DATASET.timestamp].min() >= split.holdout_start


def test_order_is_kept_within_each_part(frame: pd.DataFrame) -> None:
    shuffled = frame.iloc[[7, 0, 3, 6, 5, 1, 4, 2]].reset_index(drop=True)

    split = time_split(shuffled, weeks(1))

    assert split.holdout["row"].tolist() == ["r7", "r6"]
    assert split.train["row"].tolist() == ["r0", "r3", "r5", "r1", "r4", "r2"]
    assert list(split.train.index) == list(range(6))


def test_only_weeks_present_count(frame: pd.DataFrame) -> None:
    without_third_week = frame[~frame["row"].isin(["r4", "r5"])].reset_index(drop=True)

    split = time_split(without_third_week, weeks(2))

    assert split.holdout["row"].tolist() == ["r2", "r3", "r6", "r7"]
    assert split.holdout_start == pd.Timestamp("2026-01-12")


def test_split_is_deterministic(frame: pd.DataFrame) -> None:
    first, second = time_split(frame, weeks(2)), time_split(frame, weeks(2))

    pd.testing.assert_frame_equal(first.train, second.train)
    pd.testing.assert_frame_equal(first.holdout, second.holdout)
    assert first.holdout_start == second.holdout_start


@pytest.mark.parametrize("holdout_weeks", [4, 5])
def test_a_holdout_leaving_no_training_data_is_refused(frame: pd.DataFrame, holdout_weeks: int) -> None:
    with pytest.raises(
        RollgateError,
        match=rf"prepare\.holdout\.weeks={holdout_weeks} leaves no training data: the data spans 4 calendar week",
    ):
        time_split(frame, weeks(holdout_weeks))


def test_a_date_starts_the_holdout(frame: pd.DataFrame) -> None:
    split = time_split(frame, HoldoutParams(since=date(2026, 1, 19)))

    assert split.holdout["row"].tolist() == ["r4", "r5", "r6", "r7"]
    assert split.holdout_start == pd.Timestamp("2026-01-19")


@pytest.mark.parametrize(("fraction", "rows"), [(0.25, ["r6", "r7"]), (0.5, ["r4", "r5", "r6", "r7"]), (0.01, ["r7"])])
def test_a_fraction_takes_the_latest_rows(frame: pd.DataFrame, fraction: float, rows: list[str]) -> None:
    assert time_split(frame, HoldoutParams(fraction=fraction)).holdout["row"].tolist() == rows


def test_rows_at_the_cut_stay_together(frame: pd.DataFrame) -> None:
    tied = frame.assign(**{DATASET.timestamp: pd.to_datetime(["2026-01-05"] * 4 + ["2026-01-20"] * 4)})

    split = time_split(tied, HoldoutParams(fraction=0.25))

    assert len(split.holdout) == 4  # the two latest rows share their timestamp with two more


@pytest.mark.parametrize("since", [date(2025, 1, 1), date(2027, 1, 1)])
def test_a_date_leaving_one_side_empty_is_refused(frame: pd.DataFrame, since: date) -> None:
    with pytest.raises(RollgateError, match=rf"prepare\.holdout\.since={since} leaves"):
        time_split(frame, HoldoutParams(since=since))
