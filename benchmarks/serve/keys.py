"""`--api-keys`: what checking API keys costs rollgate, single-row, keys on against keys off, in one run.

The two servers are measured in alternating rounds (`benchmarks.serve.pair`). The key file holds
`KEYS_IN_FILE` keys, because the check hashes the presented key once and compares it with every stored
hash: the cost grows with the file, and a file of one key would flatter it. Goal: the check costs
under 5 % of single-row throughput; it is also timed in-process (`Guard.check` with a real counter, on
a request's headers) and stated as a share of a keys-off request's time (one worker: 1 / its req/s),
a figure that does not move with the machine's noise.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import timeit
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.serve import load, pair, servers
from benchmarks.serve.bodies import Requests
from benchmarks.serve.load import Load

KEYS_IN_FILE = 8
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
    """Two of `new_launch()` (rollgate, keys off), one given `--api-keys`, in alternating rounds."""
    key = secrets.token_urlsafe(32)
    launch, keyed = new_launch(), new_launch()
    keyed = replace(keyed, name="rollgate-keys", argv=[*keyed.argv, "--api-keys", str(_key_file(work, key))])
    plain = load.lua(work / "keys-off.lua", req.path, req.one)
    with_key = load.lua(work / "keys-on.lua", req.path, req.one, {"Authorization": f"Bearer {key}"})
    r = pair.alternate(
        pair.Side(launch, plain), pair.Side(keyed, with_key), work, seconds=seconds, clients=clients,
        check=lambda _off, on: _check_refuses_without_key(on + req.path, req.one),
    )  # fmt: skip
    return Pair(r.off, r.on, r.ratio, r.rounds, _check_us(work / "api-keys.json", key))


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


def table(p: Pair, clients: int) -> str:
    lines = [f"\nrollgate single-row, {clients} clients, API keys off and on ({KEYS_IN_FILE} keys in the file), "
             f"{p.rounds} alternating rounds of {pair.ROUND_S} s; medians"]  # fmt: skip
    lines += pair.rows("keys", pair.Rounds(p.off, p.on, p.ratio, p.rounds))
    lines.append(f"  the check in-process: {p.check_us:.2f} us a request, {p.check_share:.1%} of a keys-off one")
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
