"""One false-alarm budget per run, and which cohorts are due for performance judgment.

A run may raise an alarm from any of seven families. The run's total alpha (default 0.01) is split
across the families in proportion to their weights (equal by default) — Bonferroni — and each
family's share is split evenly across the windows it is judged on in this run — Bonferroni again:
drift, domain, prediction and label-free judge every window of the run, realized, positives and paired
judge only the cohorts due now. Within one family and window, Holm across its tests (`findings.judge`).
By the union bound, the chance that a run with nothing wrong raises any alarm is at most the total
alpha, whatever the dependence between tests. Families that cannot run this time (no cohort due, no
previous model) give their share to the others: which families run depends on the data available,
never on a test's outcome, so the bound holds.

Each cohort is judged once, when its labels have matured (the maturity horizon has passed), and never
again: the caller keeps the ids already judged and passes them in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.policy import Alphas

PER_WINDOW = ("drift", "domain", "prediction", "label_free")
PER_COHORT = ("realized", "positives", "paired")
FAMILIES = PER_WINDOW + PER_COHORT
EQUAL = Alphas(*([1.0] * len(FAMILIES)))


@dataclass(frozen=True)
class Budget:
    alpha: float = 0.01  # the chance a run with nothing wrong raises any alarm, at most
    weights: Alphas = EQUAL  # relative share of each family

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise RollgateError(f"monitor budget: alpha {self.alpha} must lie strictly between 0 and 1")
        if min(getattr(self.weights, f) for f in FAMILIES) < 0:
            raise RollgateError("monitor budget: family weights must not be negative")


def split(budget: Budget, *, windows: int, cohorts: int, families: Collection[str] = FAMILIES) -> Alphas:
    """The alpha each family is judged at in each window (0 for a family that does not run)."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise RollgateError(f"monitor budget: unknown families {sorted(unknown)}")
    runs = dict.fromkeys(PER_WINDOW, windows) | dict.fromkeys(PER_COHORT, cohorts)
    active = [f for f in FAMILIES if f in families and runs[f] > 0 and getattr(budget.weights, f) > 0]
    total = sum(getattr(budget.weights, f) for f in active)
    share = {f: budget.alpha * getattr(budget.weights, f) / total / runs[f] for f in active}
    return Alphas(**{f.name: share.get(f.name, 0.0) for f in fields(Alphas)})


@dataclass(frozen=True)
class Maturity:
    """What is known about one cohort's labels."""

    window: str
    rows: int
    labelled: int
    horizon_reached: bool  # the maturity horizon has passed for every row of the window


@dataclass(frozen=True)
class Due:
    due: tuple[str, ...]  # judge these now
    judged: tuple[str, ...]  # judged in an earlier run: never again
    waiting: tuple[str, ...]  # labels not mature yet


def due_for_judgment(cohorts: Sequence[Maturity], judged: Collection[str]) -> Due:
    """Which cohorts to judge now: matured and not judged before (in the order given)."""
    done = set(judged)
    return Due(
        tuple(c.window for c in cohorts if c.horizon_reached and c.window not in done),
        tuple(c.window for c in cohorts if c.window in done),
        tuple(c.window for c in cohorts if not c.horizon_reached and c.window not in done),
    )
