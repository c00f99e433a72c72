"""Gate sizing: false promotion and power over a grid of holdout sizes and `min_effect` values, and which
of them meet the goals (PRODUCT.md: false promotion's 95 % Clopper-Pearson upper bound at most 5 % when the
models are truly equal, power at least 80 % at `min_effect`)."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.gate import trials
from benchmarks.gate.latent import CHAMPION_NOISE, better_noise
from rollgate.contracts.errors import RollgateError
from rollgate.gate.stats import clopper_pearson

FALSE_PROMOTION_GOAL = 0.05
POWER_GOAL = 0.80
PROOF_SEEDS = 1000  # a cell with fewer seeds is judged on its false-promotion rate, not its upper bound


@dataclass(frozen=True)
class Plan:
    factors: tuple[float, ...]  # holdout sizes, as multiples of the real holdout's rows
    effects: tuple[float, ...]  # min_effect values tried (the configured one among them)
    configured: float  # gate.min_effect
    seeds: int  # at the real holdout's size, for "equal" and the configured effect
    cell_seeds: int  # for every other cell


@dataclass(frozen=True)
class Cell:
    rows: int
    effect: float | None  # None: the challenger is equally good (the rate is false promotion)
    seeds: int
    promoted: int  # by rollgate's gate
    naive: int  # by "promote when the point ROC AUC is higher"

    @property
    def rate(self) -> float:
        return self.promoted / self.seeds

    @property
    def interval(self) -> tuple[float, float]:
        return clopper_pearson(self.promoted, self.seeds)

    def meets(self) -> bool:
        if self.effect is not None:
            return self.rate >= POWER_GOAL
        bound = self.interval[1] if self.seeds >= PROOF_SEEDS else self.rate
        return bound <= FALSE_PROMOTION_GOAL


def _noises(sim: trials.Simulation, plan: Plan) -> dict[float | None, float]:
    """Each scenario's noise level; an effect no model can reach here is left out, unless it is the
    configured one (then the error says so)."""
    found: dict[float | None, float] = {None: CHAMPION_NOISE}
    for effect in plan.effects:
        try:
            found[effect] = better_noise(sim.logit, effect)
        except RollgateError:
            if effect == plan.configured:
                raise
    return found


def measure(sim: trials.Simulation, plan: Plan) -> list[Cell]:
    """Every cell of the grid; at the real size the first `cell_seeds` worlds judge every effect, the rest
    only "equal" and the configured effect (so those two reach `seeds`)."""
    n, noises, cells = len(sim.logit), _noises(sim, plan), []
    for factor in plan.factors:
        rows = max(2, round(factor * n))
        seeds = max(plan.seeds, plan.cell_seeds) if rows == n else plan.cell_seeds
        tally = {key: [0, 0, 0] for key in noises}  # seeds, gate, naive
        for seed in range(seeds):
            w = trials.world(sim, rows, seed)
            for key, noise in noises.items():
                if seed >= plan.cell_seeds and key not in (None, plan.configured):
                    continue
                got = trials.outcome(sim, w, noise)
                tally[key][0] += 1
                tally[key][1] += got.gate
                tally[key][2] += got.naive
        cells += [Cell(rows, key, *counts) for key, counts in tally.items()]
    return cells


def cell(cells: list[Cell], rows: int, effect: float | None) -> Cell | None:
    return next((c for c in cells if c.rows == rows and c.effect == effect), None)


def meets(cells: list[Cell], rows: int, effect: float) -> bool:
    """Whether a holdout of `rows` rows meets both goals for `effect`."""
    equal, better = cell(cells, rows, None), cell(cells, rows, effect)
    return equal is not None and better is not None and equal.meets() and better.meets()


def smallest_rows(cells: list[Cell], effect: float) -> int | None:
    """The smallest holdout tried at which `effect` meets both goals."""
    return next((rows for rows in sorted({c.rows for c in cells}) if meets(cells, rows, effect)), None)


def recommend(cells: list[Cell], plan: Plan, real_rows: int) -> tuple[float, int] | None:
    """Keep the holdout if some effect meets the goals there (the smallest such effect); else keep
    `min_effect` and grow the holdout; else the smallest effect that meets them at any size tried."""
    effects = sorted(plan.effects)
    at_real = [e for e in effects if meets(cells, real_rows, e)]
    if at_real:
        return at_real[0], real_rows
    found = {e: r for e in effects if (r := smallest_rows(cells, e)) is not None}
    if plan.configured in found:
        return plan.configured, found[plan.configured]
    return next(iter(found.items()), None)
