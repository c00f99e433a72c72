"""`make bench-canary`: the rendered canary analysis on simulated canaries, good and bad.

The AnalysisTemplate's conditions, counts, intervals, failure limits and evidence guards and the
Rollout's analysed steps (shadow at its mirrored share, then each canary weight) are read from the
manifests rendered from configs/deploy/<env>.yaml (`template`), never re-declared. Each rollout draws
per-interval counts of a canary and stable (`traffic`) and runs each step's analysis on them
(`rollout`), every criterion computed as its PromQL computes it (`reference`, checked against promtool
by tests/benchmarks/test_canary_bench.py). Traffic is set so the canary's window at the smallest
analysed share holds `--traffic` x min-requests scoring requests on average (1: the hardest case).
Each request carries `--rows-per-request` rows (1: a single-row client; the rehearsal sends several), its
latency log-normal with `--latency-sigma`. Simplifications: the canary's and stable's scores are independent draws (in
shadow they are in fact scores of the same requests, which only makes a good canary look closer);
window counts are exact sums of the intervals (Prometheus's extrapolation of `increase` is ignored).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.canary import report, rollout, template, traffic
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET


def pool(holdout: Path, model: Path) -> tuple[np.ndarray, str]:
    """The trained model's scores on the holdout when `make repro` has written both, else a beta mixture."""
    from benchmarks.gate.holdout import load  # the model stack only when there is a model

    if holdout.is_file() and model.is_file() and model.with_suffix(".json").is_file():
        return load(holdout, model, DATASET.label, ()).scores, f"the trained model's scores on {holdout}"
    return traffic.beta_mixture(np.random.default_rng(0)), "a fraud-like beta mixture (no holdout and model)"


def measure(
    plan: template.Plan, stable: traffic.Model, seeds: int, factor: float, shift: float = traffic.SHIFT
) -> dict[str, report.Tally]:
    """Every kind's rollouts; seed s of every kind draws from its own stream."""
    window_requests = factor * plan.arg("min-requests") / min(s.canary_share for s in plan.steps)
    out = {}
    for k, kind in enumerate(traffic.KINDS):
        sides = (traffic.canary(kind, stable, shift), stable)
        runs = tuple(rollout.run(np.random.default_rng([s, k]), plan, sides, window_requests) for s in range(seeds))
        out[kind] = report.Tally(kind, runs)
    return out


def _what_if(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    try:
        float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ARG=NUMBER, got {text!r}") from None
    return name, value


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000, help="rollouts per canary kind")
    parser.add_argument("--env", default="prod", help="configs/deploy/<env>.yaml and manifests/<env>/release.json")
    parser.add_argument("--traffic", type=float, default=1.0, help="canary requests per window, x min-requests")
    parser.add_argument("--shift", type=float, default=traffic.SHIFT, help="log-odds the shifted canary adds")
    parser.add_argument("--rows-per-request", type=int, default=1, help="rows each scoring request carries")
    parser.add_argument("--latency-sigma", type=float, default=traffic.LATENCY_SIGMA,
                        help="log-normal sigma of a request's latency (the rehearsal measures real tails)")  # fmt: skip
    parser.add_argument(
        "--what-if",
        type=_what_if,
        action="append",
        default=[],
        metavar="ARG=VALUE",
        help="replace a rendered AnalysisTemplate argument, e.g. min-expected-positives=10",
    )
    parser.add_argument("--holdout", type=Path, default=Path(paths.HOLDOUT_SET))
    parser.add_argument("--model", type=Path, default=Path(paths.MODEL_ARTIFACT))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    started = time.perf_counter()
    try:
        plan, threshold = template.load(Path.cwd(), args.env, dict(args.what_if))
        scores, source = pool(args.holdout, args.model)
    except RollgateError as exc:
        raise SystemExit(f"bench-canary: {exc}") from exc
    stable = traffic.Model(scores, threshold, rows=args.rows_per_request, latency_sigma=args.latency_sigma)
    tallies = measure(plan, stable, args.seeds, args.traffic, args.shift)
    requests = args.traffic * plan.arg("min-requests")
    print(f"canary simulation ({args.env}): scores from {source}, {np.mean(scores >= threshold):.2%} at or above "
          f"the threshold {threshold:g}; steps {', '.join(s.name for s in plan.steps)}; {requests:g} canary requests "
          f"per {plan.window_s}s window at the smallest share; shifted by {args.shift:g} in log-odds"
          + "".join(f"; what if {k}={v}" for k, v in args.what_if))  # fmt: skip
    print("\n".join(report.table(list(tallies.values()), [s.name for s in plan.steps])))
    print(f"({time.perf_counter() - started:.0f} s)")
    print(report.last_line(tallies, plan.steps[0].name))


if __name__ == "__main__":
    main()
