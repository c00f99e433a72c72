"""The benchmark's printed tables and its last, machine-readable line."""

from __future__ import annotations

from benchmarks.gate.sizing import Cell, Plan, cell, smallest_rows


def _fmt(effect: float) -> str:
    return f"{effect:.4g}"


def headline(equal: Cell, better: Cell) -> list[str]:
    lines = [
        f"{equal.seeds} seeds per scenario on the holdout as it is ({equal.rows:,} rows):",
        f"{'scenario':<32} {'our gate':>9} {'95% Clopper-Pearson':>20} {'naive rule':>11}",
    ]
    for name, c in (("equal (false promotion)", equal), (f"better by {_fmt(better.effect or 0)} (power)", better)):
        low, high = c.interval
        lines.append(f"{name:<32} {c.rate:>9.3f} {f'[{low:.3f}, {high:.3f}]':>20} {c.naive / c.seeds:>11.3f}")
    return lines


def grid(cells: list[Cell], plan: Plan, real_rows: int) -> list[str]:
    """One row per holdout size: false promotion (with its upper bound), then power at each effect."""
    effects = sorted(plan.effects)
    lines = [
        f"sizing: the holdout's rows resampled with replacement to each size; {plan.cell_seeds} seeds per cell "
        f"({max(plan.seeds, plan.cell_seeds)} at {real_rows:,} rows for equal and {_fmt(plan.configured)})",
        f"{'holdout rows':>14} {'false promotion [upper95]':>26}"
        + "".join(f"{'power@' + _fmt(e):>15}" for e in effects),
    ]
    for rows in sorted({c.rows for c in cells}):
        equal = cell(cells, rows, None)
        if equal is None:
            continue
        powers = [cell(cells, rows, e) for e in effects]
        mark = "*" if rows == real_rows else " "
        line = f"{mark}{rows:>13,} {f'{equal.rate:.3f} [{equal.interval[1]:.3f}]':>26}"
        lines.append(line + "".join(f"{p.rate:>15.3f}" if p else f"{'-':>15}" for p in powers))
    if any(cell(cells, real_rows, e) is None for e in effects):
        lines.append("(-: more than a noiseless model can gain over the champion)")
    found = [(e, smallest_rows(cells, e)) for e in effects]
    lines.append(
        "meets the goals: "
        + "; ".join(f"{_fmt(e)} from {r:,} rows" if r else f"{_fmt(e)} at no size tried" for e, r in found)
    )
    return lines


def recommendation(best: tuple[float, int] | None) -> str:
    if best is None:
        return "recommendation: none of the min_effect values and holdout sizes tried meet the goals"
    return f"recommendation: min_effect {_fmt(best[0])} and a holdout of {best[1]:,} rows meet the goals"


def last_line(equal: Cell, better: Cell, plan: Plan, best: tuple[float, int] | None) -> str:
    effect, rows = (_fmt(best[0]), str(best[1])) if best else ("none", "none")
    return (
        f"false_promotion={equal.rate:.4f} false_promotion_upper95={equal.interval[1]:.4f} power={better.rate:.4f} "
        f"naive_false_promotion={equal.naive / equal.seeds:.4f} seeds={equal.seeds} holdout_rows={equal.rows} "
        f"cell_seeds={plan.cell_seeds} recommended_min_effect={effect} recommended_holdout_rows={rows}"
    )
