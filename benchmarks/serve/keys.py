"""`--api-keys`: what checking API keys costs rollgate, single-row, keys on against keys off, in one run.

Both servers run side by side on the same model copy (an idle one costs nothing) and wrk alternates
between them in short rounds of `ROUND_S` (the order flipped each round; two rounds per second of
`--seconds`, at least `MIN_ROUNDS`), so whatever else the machine does over the run falls on both
alike; the ratio is the median of the rounds' on/off ratios, and each side's figures are its median
round. The key file holds `KEYS_IN_FILE` keys, because the check hashes the presented key once and
compares it with every stored hash: the cost grows with the file, and a file of one key would
flatter it. Goal: the check costs under 5 % of single-row throughput.

On a busy machine two identical servers can differ by more than 5 % from round to round, so the check
is also timed in-process (`Guard.check` with a real counter, on a request's headers) and stated as a
share of a keys-off request's time (one worker: 1 / its req/s): that figure does not move with noise.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import statistics
import timeit
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.serve import load, servers
from benchmarks.serve.bodies import Requests
from benchmarks.serve.load import Load

KEYS_IN_FILE = 8
ROUND_S, MIN_ROUNDS = 2, 4
GOAL_RATIO = 0.95


@dataclass(frozen=True)
class Pair:
    """The median round of each side, keys off and keys on, and the median of the rounds' on/off ratios."""

    off: Load
    on: Load
    ratio: float
    rounds: int
    check_us: float  # one Guard.check, in-process

    @property
    def check_share(self) -> float:
        """The check's share of a keys-off request's time on one worker."""
        return self.check_us * 1e-6 * self.off.rps


def measure(new_launch: Callable[[], servers.Launch], req: Requests, work: Path, seconds: int, clients: int) -> Pair:
    """Two of `new_launch()` (rollgate, keys off), one given `--api-keys`, in alternating rounds of single-row
    load, two rounds per second of `seconds` (one round's on/off ratio varies by about 10 % on a busy machine)."""
    rounds_n = max(MIN_ROUNDS, 2 * seconds)
    key = secrets.token_urlsafe(32)
    launch, keyed = new_launch(), new_launch()
    keyed = replace(keyed, name="rollgate-keys", argv=[*keyed.argv, "--api-keys", str(_key_file(work, key))])
    plain = load.lua(work / "keys-off.lua", req.path, req.one)
    with_key = load.lua(work / "keys-on.lua", req.path, req.one, {"Authorization": f"Bearer {key}"})
    rounds: dict[str, list[Load]] = {"off": [], "on": []}
    with servers.running(launch, work) as off, servers.running(keyed, work) as on:
        _check_refuses_without_key(on.url + req.path, req.one)
        sides = {"off": (off, plain), "on": (on, with_key)}
        for server, script in sides.values():
            load.wrk(server.url, script, clients, 2)  # warm-up, not counted
        for i in range(rounds_n):
            for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                server, script = sides[name]
                rounds[name].append(load.wrk(server.url, script, clients, ROUND_S))
    ratio = statistics.median(on.rps / off.rps for on, off in zip(rounds["on"], rounds["off"], strict=True))
    check_us = _check_us(work / "api-keys.json", key)
    return Pair(_median(rounds["off"]), _median(rounds["on"]), ratio, rounds_n, check_us)


def _check_us(path: Path, key: str, calls: int = 100_000) -> float:
    """Microseconds per `Guard.check` of `key` against the file at `path`, counted in a real metric."""
    from rollgate.serve.guard import Guard
    from rollgate.serve.keyfile import WatchedKeys
    from rollgate.serve.metrics import ServerMetrics

    guard = Guard(WatchedKeys(str(path)), ServerMetrics("bench", "0" * 64).auth)
    headers = [(b"host", b"127.0.0.1:8080"), (b"content-type", b"application/json"), (b"content-length", b"300"),
               (b"authorization", f"Bearer {key}".encode())]  # fmt: skip
    return timeit.timeit(lambda: guard.check(headers, "/v1/predict"), number=calls) / calls * 1e6


def _key_file(work: Path, key: str) -> Path:
    """KEYS_IN_FILE entries; the one the load presents is the last one compared (the check never stops early)."""
    keys = [secrets.token_urlsafe(32) for _ in range(KEYS_IN_FILE - 1)] + [key]
    entries = [
        {"id": f"bench-{i}", "sha256": hashlib.sha256(k.encode()).hexdigest(), "scopes": ["score"]}
        for i, k in enumerate(keys)
    ]
    path = work / "api-keys.json"
    path.write_text(json.dumps({"keys": entries}))
    return path


def _check_refuses_without_key(url: str, body: str) -> None:
    """The keyed server really checks: a request without a key must be 401 (else the pair measures nothing)."""
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return
    raise SystemExit("the server started with --api-keys answered a request without a key: no check to measure")


def _median(loads: list[Load]) -> Load:
    by_rps = sorted(loads, key=lambda load_: load_.rps)
    mid = by_rps[len(by_rps) // 2]
    return Load(statistics.median(x.rps for x in loads), mid.p50, mid.p99, sum(x.non2xx for x in loads))


def table(pair: Pair, clients: int) -> str:
    lines = [f"\nrollgate single-row, {clients} clients, API keys off and on ({KEYS_IN_FILE} keys in the file), "
             f"{pair.rounds} alternating rounds of {ROUND_S} s; medians"]  # fmt: skip
    lines.append(f"  {'':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in (("keys off", pair.off), ("keys on", pair.on)):
        lines.append(f"  {name:<22}{r.rps:>10.1f}{r.p50:>10.2f}{r.p99:>10.2f}{r.non2xx:>10}")
    lines.append(f"  {'on / off (per round)':<22}{pair.ratio:>10.3f}")
    lines.append(f"  the check in-process: {pair.check_us:.2f} us a request, {pair.check_share:.1%} of a keys-off one")
    return "\n".join(lines)


def goal(pair: Pair) -> str:
    return (
        f"API keys on: {pair.ratio:.3f}x keys off, the check {pair.check_share:.1%} of a request in-process "
        f"(goal: under 5 %, ratio >= {GOAL_RATIO})"
    )


def last_line(pair: Pair) -> str:
    return (
        f"auth_ratio={pair.ratio:.3f} auth_off_rps={pair.off.rps:.1f} auth_on_rps={pair.on.rps:.1f} "
        f"auth_check_us={pair.check_us:.2f} auth_check_share={pair.check_share:.4f}"
    )
