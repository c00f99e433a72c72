"""Cut rows into windows: calendar periods of a time column (ISO week by default, or day), or runs
of a fixed number of rows in time order.

A calendar window is the half-open period [start, end) — Monday 00:00 to the next Monday for a week —
with an id like `2026-W05` (ISO year and week) or `2026-02-03`. Every period from the first row's to
the last row's is a window, including one with no rows (a week the log is empty is a problem to
report, not to skip: judging it is an error naming it). A row-count window holds `rows` consecutive
rows (the last one may hold fewer), id `rows-0000`, bounds the first and last row's time, both
included, or none without a time column (then the frame's order is the order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rollgate.contracts.errors import RollgateError

UNITS = ("week", "day")


@dataclass(frozen=True)
class Window:
    id: str
    start: str | None  # ISO 8601
    end: str | None
    closed: str  # "left": [start, end), a calendar period; "both": [first row, last row]
    rows: int
    frame: pd.DataFrame = field(compare=False, repr=False)


def _times(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise RollgateError(f"time column {column!r} missing")
    try:
        raw = frame[column]
        times = raw if pd.api.types.is_datetime64_any_dtype(raw) else pd.to_datetime(raw, format="ISO8601")
    except (TypeError, ValueError) as e:
        raise RollgateError(f"time column {column!r}: not timestamps ({e})") from e
    if times.isna().any():
        raise RollgateError(f"time column {column!r}: {int(times.isna().sum())} rows without a time")
    return times


def iso_weeks(frame: pd.DataFrame, time_column: str) -> list[str]:
    """Each row's ISO week (`2026-W14`) by its time column: how reference rows are split into weeks."""
    iso = _times(frame, time_column).dt.isocalendar()
    return [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)]


def _period_id(start: pd.Timestamp, unit: str) -> str:
    if unit == "day":
        return start.strftime("%Y-%m-%d")
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def calendar_windows(frame: pd.DataFrame, time_column: str, unit: str = "week") -> tuple[Window, ...]:
    """One window per calendar period from the first row's to the last row's, in time order."""
    if unit not in UNITS:
        raise RollgateError(f"window unit {unit!r}: one of {', '.join(UNITS)} (or a row count)")
    if frame.empty:
        raise RollgateError("no rows to cut into windows")
    times = _times(frame, time_column)
    zone = times.dt.tz
    day = (times.dt.tz_localize(None) if zone else times).dt.normalize()  # wall-clock days: DST cannot shift them
    starts = day - pd.to_timedelta(day.dt.day_of_week, unit="D") if unit == "week" else day
    step = pd.Timedelta(days=7 if unit == "week" else 1)
    first = starts.min()
    period = ((starts - first) // step).to_numpy(dtype="int64")
    positions = pd.Series(period).groupby(period).indices
    out = []
    for k in range(int(period.max()) + 1):
        start, end = (first + i * step for i in (k, k + 1))
        bounds = [(b.tz_localize(zone) if zone else b).isoformat() for b in (start, end)]
        part = frame.iloc[positions.get(k, [])]
        out.append(Window(_period_id(start, unit), bounds[0], bounds[1], "left", len(part), part))
    return tuple(out)


def row_windows(frame: pd.DataFrame, rows: int, time_column: str | None = None) -> tuple[Window, ...]:
    """Consecutive windows of `rows` rows, in time order (the frame's order without a time column)."""
    if rows < 1:
        raise RollgateError(f"window of {rows} rows: must be at least 1")
    if frame.empty:
        raise RollgateError("no rows to cut into windows")
    ordered, times = frame, None
    if time_column is not None:
        order = _times(frame, time_column).to_numpy().argsort(kind="stable")
        ordered = frame.iloc[order]
        times = _times(ordered, time_column)
    out = []
    for i, first in enumerate(range(0, len(ordered), rows)):
        part = ordered.iloc[first : first + rows]
        start = times.iloc[first].isoformat() if times is not None else None
        end = times.iloc[first + len(part) - 1].isoformat() if times is not None else None
        out.append(Window(f"rows-{i:04d}", start, end, "both", len(part), part))
    return tuple(out)


def split_windows(frame: pd.DataFrame, window: str | int, time_column: str | None) -> tuple[Window, ...]:
    """`window` a calendar unit ("week", "day") or a row count (an int, or digits)."""
    if isinstance(window, int) or str(window).isdigit():
        return row_windows(frame, int(window), time_column)
    if time_column is None:
        raise RollgateError(f"window {window!r}: calendar windows need a time column")
    return calendar_windows(frame, time_column, str(window))
