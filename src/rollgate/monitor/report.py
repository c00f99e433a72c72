"""The record of one window (`WindowResult`) and the run's verdict (`Verdict`), JSON-safe.

Two kinds of alarm are kept apart because they call for different pull requests: `retrain` — the
world moved (input or prediction drift, joint drift, a label-free drop, a realized drop against the
holdout, more or fewer positives than the calibrated scores expect) — and `revert` — on the same
matured rows the deployed model is worse than the previous known-good one. When both models degraded
alike the paired test sees no difference and only `retrain` fires: reverting would not help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rollgate.monitor.estimate import LabelFree
from rollgate.monitor.findings import Family
from rollgate.monitor.performance import Realized
from rollgate.monitor.windows import Window

REVERT_FAMILIES = ("paired",)


@dataclass(frozen=True)
class Alarm:
    kind: str  # "retrain" or "revert"
    window: str
    family: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "window": self.window, "family": self.family, "reason": self.reason}


def _kind(family: Family) -> str:
    return "revert" if family.name in REVERT_FAMILIES else "retrain"


# Where a window's cohort stands for realized performance: judged in this run; judged by an earlier
# run (never again); waiting for its labels to mature; or not asked (a drift run, or no labels given).
JUDGED, JUDGED_BEFORE, WAITING, NOT_ASKED = "judged", "judged_before", "waiting", "not_asked"
COHORT_STATES = (JUDGED, JUDGED_BEFORE, WAITING, NOT_ASKED)


@dataclass(frozen=True)
class WindowResult:
    """Everything judged about one window; `performance` is None when its cohort is not due."""

    window: str
    start: str | None
    end: str | None
    closed: str
    rows: int
    labelled_rows: int
    drift: Family
    domain: Family
    prediction: Family | None = None
    label_free: LabelFree | None = None
    performance: Realized | None = None
    cohort: str = NOT_ASKED  # see COHORT_STATES

    @classmethod
    def of(cls, window: Window, labelled_rows: int, **parts: Any) -> WindowResult:
        return cls(window.id, window.start, window.end, window.closed, window.rows, labelled_rows, **parts)

    @property
    def families(self) -> tuple[Family, ...]:
        out = [self.drift, self.domain] + ([self.prediction] if self.prediction else [])
        out += [self.label_free.family] if self.label_free else []
        return tuple(out) + (self.performance.families if self.performance else ())

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(
            Alarm(_kind(family), self.window, family.name, f.reason(family.alpha))
            for family in self.families
            for f in family.alarms
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "start": self.start,
            "end": self.end,
            "closed": self.closed,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
            "families": {f.name: f.to_dict() for f in self.families},
            "label_free": self.label_free.to_dict() if self.label_free else None,
            "performance": self.performance.to_dict() if self.performance else None,
            "cohort": self.cohort,
            "alarms": [a.to_dict() for a in self.alarms],
        }


@dataclass(frozen=True)
class Verdict:
    windows: tuple[str, ...]
    retrain: tuple[Alarm, ...]
    revert: tuple[Alarm, ...]

    @property
    def alarm(self) -> bool:
        return bool(self.retrain or self.revert)

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": list(self.windows),
            "alarm": self.alarm,
            "retrain": [a.to_dict() for a in self.retrain],
            "revert": [a.to_dict() for a in self.revert],
        }


def verdict(results: Sequence[WindowResult]) -> Verdict:
    """The run's verdict: every alarm of every window, retrain and revert apart."""
    alarms = [a for r in results for a in r.alarms]
    return Verdict(
        tuple(r.window for r in results),
        tuple(a for a in alarms if a.kind == "retrain"),
        tuple(a for a in alarms if a.kind == "revert"),
    )
