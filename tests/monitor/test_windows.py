"""Windows: ISO weeks, days and row counts, with their bounds and ids."""

from __future__ import annotations

import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.windows import split_windows

pytestmark = pytest.mark.unit


@pytest.fixture
def frame() -> pd.DataFrame:
    times = ["2026-01-26T10:00:00", "2026-02-15T23:59:00", "2026-01-29T08:00:00", "2026-02-01T23:59:59"]
    return pd.DataFrame({"t": times, "x": [1, 2, 3, 4]})


def test_iso_weeks_keep_empty_weeks_between(frame: pd.DataFrame) -> None:
    windows = split_windows(frame, "week", "t")
    assert [(w.id, w.rows, w.frame["x"].tolist()) for w in windows] == [
        ("2026-W05", 3, [1, 3, 4]),
        ("2026-W06", 0, []),
        ("2026-W07", 1, [2]),
    ]
    first = windows[0]
    assert (first.start, first.end, first.closed) == ("2026-01-26T00:00:00", "2026-02-02T00:00:00", "left")


def test_days(frame: pd.DataFrame) -> None:
    windows = split_windows(frame, "day", "t")
    assert len(windows) == 21 and windows[0].id == "2026-01-26" and windows[3].rows == 1


def test_a_week_across_a_daylight_saving_change_is_whole() -> None:
    times = pd.to_datetime(["2026-03-23 00:30", "2026-03-29 23:59", "2026-03-30 00:10"]).tz_localize("Europe/Berlin")
    windows = split_windows(pd.DataFrame({"t": times}), "week", "t")
    assert [(w.id, w.rows) for w in windows] == [("2026-W13", 2), ("2026-W14", 1)]
    assert (windows[0].start, windows[0].end) == ("2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00")


def test_row_windows_follow_time_order(frame: pd.DataFrame) -> None:
    windows = split_windows(frame, 3, "t")
    assert [(w.id, w.frame["x"].tolist()) for w in windows] == [("rows-0000", [1, 3, 4]), ("rows-0001", [2])]
    first = windows[0]
    assert (first.start, first.end, first.closed) == ("2026-01-26T10:00:00", "2026-02-01T23:59:59", "both")
    untimed = split_windows(frame, "2", None)
    assert [w.frame["x"].tolist() for w in untimed] == [[1, 2], [3, 4]] and untimed[0].start is None


@pytest.mark.parametrize(
    ("window", "column", "frame_", "message"),
    [
        ("week", "when", None, "time column 'when' missing"),
        ("month", "t", None, "window unit 'month'"),
        ("week", None, None, "calendar windows need a time column"),
        (0, "t", None, "at least 1"),
        ("week", "t", pd.DataFrame({"t": ["2026-01-01", None]}), "1 rows without a time"),
        ("week", "t", pd.DataFrame({"t": ["yesterday"]}), "not timestamps"),
        ("week", "t", pd.DataFrame({"t": []}), "no rows"),
    ],
)
def test_bad_windows_are_refused(
    frame: pd.DataFrame, window: str | int, column: str | None, frame_: pd.DataFrame | None, message: str
) -> None:
    with pytest.raises(RollgateError, match=message):
        split_windows(frame if frame_ is None else frame_, window, column)
