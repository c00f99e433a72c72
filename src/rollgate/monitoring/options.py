"""What a monitor run was asked for, checked once at the command line's edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("reports/monitor")


@dataclass(frozen=True)
class Options:
    """One run: `performance` judges realized performance too (it needs a score column)."""

    command: str  # "drift" or "performance"
    reference: Path  # a table of training rows, or a baseline.json (the CLI's default: reports/baseline.json)
    current: Path
    labels: Path | None = None
    features: tuple[str, ...] = ()  # empty: every column of the reference but the named ones
    categorical: tuple[str, ...] | None = None  # None: the non-numeric features
    time_column: str | None = None
    window: str = "week"
    score_column: str | None = None
    label_column: str = "label"
    id_column: str = "id"
    previous_score_column: str | None = None
    label_time_column: str | None = None  # when each label arrived; labels after `as_of` are left out
    as_of: str | None = None  # ISO 8601; None: now
    maturity_days: float | None = None  # a window's labels are mature this long after its end (None: as given)
    judged: Path | None = None  # the previous run's report.json: the cohorts it judged are not judged again
    threshold: float = 0.5
    sha256: str | None = None
    out: Path = DEFAULT_OUT


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list of column names."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def from_arguments(arguments: Mapping[str, Any]) -> Options:
    """The options of `rollgate monitor` from its parsed arguments (`--features a,b` and the like as
    text; `monitor_command` the subcommand); arguments of other commands are ignored."""
    given = {f.name: arguments[f.name] for f in fields(Options) if f.name in arguments}
    given["command"] = arguments["monitor_command"]
    given["features"] = names(arguments.get("features") or "")
    categorical = arguments.get("categorical")
    given["categorical"] = names(categorical) if categorical is not None else None
    return Options(**given)
