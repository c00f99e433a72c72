"""`make bench-gate`: the gate's false-promotion rate and power on the adopter's own holdout, and which
`min_effect` and holdout size meet the goals.

The truth is built from the holdout and the trained model (`make repro` writes both): each row's latent
log-odds is a linear map of the model's score log-odds, fitted so the label rate and the model's ROC AUC
are the holdout's (`latent`). Each seed redraws the labels from that latent probability over the real rows
(their segment columns kept) and draws the champion's and the challenger's scores as the latent log-odds
plus shared and own noise. "Equally good" is the same own noise; "better by `min_effect`" is less, set so
the expected ROC AUC rises by exactly `min_effect`: both true by construction, not retrained guesses. Each
pair goes through the same evidence and decision functions as `rollgate gate`, with the real policy from
params.yaml (floors, the paired test, per-segment checks; latency is not simulated), next to the naive
rule "promote when the challenger's point ROC AUC is higher". The sizing grid repeats this on the holdout
resampled to other sizes and for other `min_effect` values, with fewer seeds per cell.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.gate import latent, report, sizing, trials
from benchmarks.gate.holdout import Holdout, load, require
from rollgate import params as params_
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.params import GateParams


def run(data: Holdout, policy: GateParams, fpr: float, plan: sizing.Plan) -> str:
    """Measure, print the tables and the recommendation; return the machine-readable line."""
    started = time.perf_counter()
    logit, auc = latent.fit(data.y, data.scores)
    sim = trials.Simulation(data.frame, logit, data.features, policy, fpr)
    cells = sizing.measure(sim, plan)
    n = len(data.y)
    equal, better = sizing.cell(cells, n, None), sizing.cell(cells, n, plan.configured)
    if equal is None or better is None:
        raise RollgateError(f"min_effect={plan.configured} is more than a noiseless model can gain over the champion")
    best = sizing.recommend(cells, plan, n)
    segments = ", ".join(policy.segments.columns) or "none"
    print(
        f"gate simulation: holdout {n:,} rows, {int(data.y.sum()):,} with {data.label}=1 ({data.y.mean():.2%}); "
        f"the trained model's ROC AUC {auc:.4f}; segments judged by {segments}; {policy.rule} on "
        f"{policy.primary_metric} at {policy.confidence:.1%} one-sided, decision margin {policy.decision_margin}"
    )
    print("\n".join([*report.headline(equal, better), "", *report.grid(cells, plan, n)]))
    print(report.recommendation(best))
    print(f"({time.perf_counter() - started:.0f} s)")
    return report.last_line(equal, better, plan, best)


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per scenario on the holdout as it is")
    parser.add_argument("--cell-seeds", type=int, default=100, help="seeds per other cell of the sizing grid")
    parser.add_argument("--sizes", type=_floats, default=(0.5, 1.0, 2.0, 4.0), help="holdout sizes, x its rows")
    parser.add_argument("--effects", type=_floats, default=(0.75, 1.0, 1.5), help="min_effects, x gate.min_effect")
    parser.add_argument("--params", type=Path, default=Path(paths.PARAMS))
    parser.add_argument("--holdout", type=Path, default=Path(paths.HOLDOUT_SET))
    parser.add_argument("--model", type=Path, default=Path(paths.MODEL_ARTIFACT), help="its metadata: .json beside")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    try:
        require(args.holdout, args.model)  # before params.yaml: the usual first mistake, said first
        loaded = params_.load(args.params, DATASET.params_columns)
        policy = loaded.gate
        data = load(args.holdout, args.model, DATASET.label, policy.segments.columns)
        plan = sizing.Plan(
            factors=tuple(sorted({1.0, *args.sizes})),
            effects=tuple(sorted({policy.min_effect * k for k in {1.0, *args.effects}})),
            configured=policy.min_effect,
            seeds=args.seeds,
            cell_seeds=args.cell_seeds,
        )
        print(run(data, policy, loaded.evaluate.fpr_target, plan))
    except RollgateError as exc:
        raise SystemExit(f"bench-gate: {exc}") from exc


if __name__ == "__main__":
    main()
