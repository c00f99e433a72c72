"""The benchmark's printed tables and its last, machine-readable line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rollgate.gate.stats import clopper_pearson

RUNS_PER_YEAR = 52
GOAL_PER_YEAR = 1.0


@dataclass(frozen=True)
class Count:
    kind: str  # "retrain" or "revert"
    share: float
    alarms: int
    seeds: int

    @property
    def per_year(self) -> float:
        return RUNS_PER_YEAR * self.alarms / self.seeds

    @property
    def upper95(self) -> float:
        return RUNS_PER_YEAR * clopper_pearson(self.alarms, self.seeds)[1]


@dataclass(frozen=True)
class Delay:
    shift: str
    share: float
    weeks: tuple[int | None, ...]  # per seed; None: not detected within the horizon

    @property
    def worst(self) -> int | None:
        return None if None in self.weeks else max(w for w in self.weeks if w is not None)


def _share(share: float) -> str:
    return "full" if share >= 1 else f"{share:.0%} log"


def _weeks(w: int | None, horizon: int) -> str:
    return f">{horizon}" if w is None else str(w)


def false_alarms(counts: Sequence[Count]) -> list[str]:
    lines = [f"{'kind':<8} {'sampling':<9} {'seeds':>6} {'alarms':>7} {'per year':>9} {'upper 95%':>10} goal met"]
    for c in counts:
        met = "yes" if c.upper95 <= GOAL_PER_YEAR else "no"
        rate = f"{c.per_year:>9.3f} {c.upper95:>10.3f}"
        lines.append(f"{c.kind:<8} {_share(c.share):<9} {c.seeds:>6} {c.alarms:>7} {rate} {met}")
    return lines


def shifts(delays: Sequence[Delay], horizon: int) -> list[str]:
    lines = [f"{'shift':<17} {'sampling':<9} {'delay weeks per seed':<30} max"]
    for d in delays:
        per_seed = " ".join(_weeks(w, horizon) for w in d.weeks)
        lines.append(f"{d.shift:<17} {_share(d.share):<9} {per_seed:<30} {_weeks(d.worst, horizon)}")
    return lines


def last_line(counts: Sequence[Count], delays: Sequence[Delay], horizon: int) -> str:
    full = [c for c in counts if c.share >= 1]
    worst = max(full, key=lambda c: c.upper95)
    late = [d.worst for d in delays if d.share >= 1]
    delay = f">{horizon}" if None in late else str(max((w for w in late if w is not None), default=0))
    return (
        f"false_alarms_per_year={max(c.per_year for c in full):.3f} upper95={worst.upper95:.3f} "
        f"max_delay_weeks={delay} seeds={worst.seeds}"
    )
