"""Two rollgate servers, one feature off and one on, measured in alternating rounds of single-row load.

Both run side by side on the same model copy (an idle one costs nothing) and wrk alternates between
them in short rounds of `ROUND_S` (the order flipped each round; two rounds per second of
`--seconds`, at least `MIN_ROUNDS`), so whatever else the machine does over the run falls on both
alike; the ratio is the median of the rounds' on/off ratios, and each side's figures are its median
round. On a busy machine two identical servers can differ by more than 5 % from round to round, so
each feature's cost is also timed in-process by its own module.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.serve import load, servers
from benchmarks.serve.load import Load

ROUND_S, MIN_ROUNDS = 2, 4


@dataclass(frozen=True)
class Side:
    launch: servers.Launch
    script: Path  # wrk's Lua script for this side's requests


@dataclass(frozen=True)
class Rounds:
    """The median round of each side and the median of the rounds' on/off ratios."""

    off: Load
    on: Load
    ratio: float
    rounds: int


def alternate(
    off: Side, on: Side, work: Path, *, seconds: int, clients: int,
    check: Callable[[str, str], None] = lambda off_url, on_url: None,
) -> Rounds:  # fmt: skip
    """Rounds of single-row load on `off` and `on` in turn, once `check(off_url, on_url)` has passed."""
    rounds_n = max(MIN_ROUNDS, 2 * seconds)
    rounds: dict[str, list[Load]] = {"off": [], "on": []}
    with servers.running(off.launch, work) as off_run, servers.running(on.launch, work) as on_run:
        check(off_run.url, on_run.url)
        sides = {"off": (off_run, off.script), "on": (on_run, on.script)}
        for server, script in sides.values():
            load.wrk(server.url, script, clients, 2)  # warm-up, not counted
        for i in range(rounds_n):
            for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                server, script = sides[name]
                rounds[name].append(load.wrk(server.url, script, clients, ROUND_S))
    ratio = statistics.median(a.rps / b.rps for a, b in zip(rounds["on"], rounds["off"], strict=True))
    return Rounds(_median(rounds["off"]), _median(rounds["on"]), ratio, rounds_n)


def _median(loads: list[Load]) -> Load:
    by_rps = sorted(loads, key=lambda load_: load_.rps)
    mid = by_rps[len(by_rps) // 2]
    return Load(statistics.median(x.rps for x in loads), mid.p50, mid.p99, sum(x.non2xx for x in loads))


def rows(name: str, r: Rounds) -> list[str]:
    """The table rows of a pair: each side's median round and the ratio."""
    lines = [f"  {'':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}"]
    for side, load_ in ((f"{name} off", r.off), (f"{name} on", r.on)):
        lines.append(f"  {side:<22}{load_.rps:>10.1f}{load_.p50:>10.2f}{load_.p99:>10.2f}{load_.non2xx:>10}")
    lines.append(f"  {'on / off (per round)':<22}{r.ratio:>10.3f}")
    return lines
