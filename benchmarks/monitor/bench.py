"""`make bench-monitor`: the monitor's false retrain and revert alarms per year of weekly runs on
drift-free weeks, and how many weeks it takes to alarm on each shift, at full traffic and on a 1 % log.

The world is the example generator (`world.ExampleWorld`): the reference and the deployed model come
from training weeks 0..11 (seed 0), the holdout from week 12; a second model trained the same way on
other weeks (seed 1) plays the previous known-good model, so any revert alarm here is false. Labels
arrive late (`rollgate.data.example.labels`: frauds after a lognormal delay, legitimate rows after the
30-day horizon); a weekly run judges the week just ended (drift, joint drift, prediction drift, the
label-free estimate) and the one cohort whose labels matured that week (the week 5 runs back, 35 days
after it ended: realized AUC, observed vs expected positives, the paired comparison with the previous
model) with the labels arrived by the run — each cohort judged once, the run's budget split by
`budget.split(windows=1, cohorts=1)` (`runs`).

- Drift-free: each seed is one weekly run on a fresh week; false alarms per year = 52 x the share of
  runs that alarmed, with the two-sided 95 % Clopper-Pearson upper bound scaled the same way.
- Shifts: from week 20 on (a few seeds each) the shift holds; the delay is counted in weeks from the
  first run that could see it (1: that run alarmed): the run closing its first week for the input
  shifts, and for `fraud_wave`, which moves only the labels, the run in which its first cohort's labels
  have matured (5 runs later).

An adopter's backtest: write a `World` over your own history — `week(index, seed, shift)` returns
that week's rows (the model's inputs, a 0/1 `label`, each row's `label_available_at`), `numeric`,
`categorical` and `categories` name the columns, `maturity` your labels' horizon, `shifts` only
("none",) — and pass it to `run` (training weeks 0..11 and week 12 as the holdout: adjust `build.Plan`).
With only one history, the seed cannot redraw a week: there the "seeds" are your weeks after the
holdout, each judged as its own run, so the false-alarm count is over the weeks you have.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Sequence

from threadpoolctl import threadpool_limits

from benchmarks.monitor import build, report, simulate
from benchmarks.monitor.runs import Outcome, Setup
from benchmarks.monitor.simulate import Task
from benchmarks.monitor.world import ExampleWorld, World

SHIFT_START = 20
_WORKER: dict[str, Setup] = {}  # each worker process's copy of the setup, set by its initializer


def _init(setup: Setup) -> None:
    _WORKER["setup"] = setup
    threadpool_limits(1)  # two processes on two cores: no oversubscription by OpenMP or BLAS


def _free(task: Task) -> list[Outcome]:
    return simulate.drift_free(_WORKER["setup"], task)


def _shift(task: Task) -> list[int | None]:
    return simulate.delays(_WORKER["setup"], task, SHIFT_START)


def run(world: World, *, seeds: int, shift_seeds: int, shares: Sequence[float], horizon: int, workers: int) -> str:
    """Measure, print the tables; return the machine-readable line."""
    started = time.perf_counter()
    with threadpool_limits(1):
        setup = build.setup(world)
    shares = tuple(shares)
    with multiprocessing.get_context("fork").Pool(workers, _init, (setup,)) as pool:
        free = pool.map(_free, [Task(s, shares) for s in range(seeds)], chunksize=8)
        moved = [s for s in world.shifts if s != "none"]
        tasks = [Task(s, shares, shift, horizon) for shift in moved for s in range(shift_seeds)]
        found = pool.map(_shift, tasks, chunksize=1)
    counts = [
        report.Count(kind, share, sum(bool(getattr(o[i], kind)) for o in free), seeds)
        for kind in ("retrain", "revert")
        for i, share in enumerate(shares)
    ]
    delays = [
        report.Delay(shift, share, tuple(found[k * shift_seeds + s][i] for s in range(shift_seeds)))
        for k, shift in enumerate(moved)
        for i, share in enumerate(shares)
    ]
    families = sorted({f for o in free for r in o for f in (*r.retrain, *r.revert)})
    print(f"monitor simulation: {seeds} drift-free weekly runs, {shift_seeds} seeds per shift, {workers} processes")
    print("\n".join(report.false_alarms(counts)))
    print(f"families that alarmed on drift-free weeks: {', '.join(families) or 'none'}")
    print("\n".join(report.shifts(delays, horizon)))
    print(f"({time.perf_counter() - started:.0f} s)")
    return report.last_line(counts, delays, horizon)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000, help="drift-free weekly runs")
    parser.add_argument("--shift-seeds", type=int, default=5, help="seeds per shift")
    parser.add_argument("--rows", type=int, default=None, help="rows per week (default: the example's 9,000)")
    parser.add_argument("--log-share", type=float, default=0.01, help="the sampled log's share of rows")
    parser.add_argument("--horizon", type=int, default=6, help="shift runs judged before calling it undetected")
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    world = ExampleWorld(rows=args.rows) if args.rows else ExampleWorld()
    print(run(world, seeds=args.seeds, shift_seeds=args.shift_seeds, shares=(1.0, args.log_share),
              horizon=args.horizon, workers=args.workers))  # fmt: skip


if __name__ == "__main__":
    main()
