"""The rehearsal's traffic: the request cycle carries the asked share of lone invalid rows — invalid as the
server's own validator judges them — and valid requests of exactly `rows_per_request` rows; the rows a
request needs for the evidence the templates wait for; and a replayer that keeps its rate against a tiny
loopback server, then stops."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgate.contracts import release
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.rehearse import replay
from rollgate.rehearse.nginx import UPSTREAM_HEADER
from rollgate.serve.validation import Validator
from tests.helpers import ROOT

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def contract() -> FeatureContract:
    champion = release.read_env(ROOT, "staging")
    assert champion is not None
    return champion.features


def _records(contract: FeatureContract, tmp_path: Path, n: int = 40) -> list[dict[str, Any]]:
    records, source = replay.rows(tmp_path / "no-holdout.parquet", contract, n)
    assert len(records) == n and "made from the feature contract" in source
    return records


def _instances(bodies: list[bytes]) -> list[list[dict[str, Any]]]:
    return [json.loads(b)["instances"] for b in bodies]


def test_the_rows_made_from_the_contract_are_valid(contract: FeatureContract, tmp_path: Path) -> None:
    assert Validator(contract).check(_records(contract, tmp_path)).errors == []


@pytest.mark.parametrize("share", [0.0, 0.02, 0.1, 0.5, 1.0])
def test_bodies_carry_the_share_of_lone_invalid_rows_and_full_valid_requests(
    contract: FeatureContract, tmp_path: Path, share: float
) -> None:
    validator = Validator(contract)
    requests = _instances(replay.bodies(_records(contract, tmp_path), contract, replay.Traffic(10, 7, share)))
    assert len(requests) == replay.BODIES
    invalid = [r for r in requests if validator.check(r).errors]
    assert abs(len(invalid) - share * replay.BODIES) <= 1
    assert all(len(r) == 1 for r in invalid)  # alone: a bad row never takes valid rows down with it
    assert all(len(r) == 7 for r in requests if r not in invalid)


def test_invalid_requests_are_spread_through_the_cycle(contract: FeatureContract, tmp_path: Path) -> None:
    validator = Validator(contract)
    requests = _instances(replay.bodies(_records(contract, tmp_path), contract, replay.Traffic(10, 3, 0.25)))
    at = [k for k, r in enumerate(requests) if validator.check(r).errors]
    assert max(b - a for a, b in itertools.pairwise(at)) <= 5


@pytest.mark.parametrize("seed", range(8))
def test_each_broken_row_breaks_the_contract_as_the_server_judges_it(
    contract: FeatureContract, tmp_path: Path, seed: int
) -> None:
    """Both ways a client breaks it: a required field left out, a value of no feature's type."""
    bodies = replay.bodies(_records(contract, tmp_path), contract, replay.Traffic(10, 2, 1.0, seed=seed))
    reasons = {e.reason for r in _instances(bodies) for e in Validator(contract).check(r).errors}
    assert reasons == {"missing", "type"}


def test_a_contract_without_required_fields_is_broken_by_type(tmp_path: Path) -> None:
    optional = FeatureContract((FeatureSpec("x", "float", required=False), FeatureSpec("y", "int", required=False)))
    rows = [{"x": 1.0, "y": 2}]
    requests = _instances(replay.bodies(rows, optional, replay.Traffic(10, 1, 1.0)))
    assert all(Validator(optional).check(r).errors for r in requests)


@pytest.mark.parametrize(
    ("rate", "positives", "requests", "invalid"),
    [(0.05, 30, 50, 0.02), (0.05, 30, 50, 0.0), (0.01, 30, 200, 0.1), (0.2, 5, 20, 0.5)],
)
def test_rows_per_request_expects_the_positives_the_ratios_wait_for(
    rate: float, positives: float, requests: float, invalid: float
) -> None:
    rows = replay.rows_per_request(rate, positives, requests, invalid, 1000)
    expected = rows * rate * requests * (1 - invalid)  # positives in `requests` requests, `invalid` of them a bad row
    assert expected >= positives  # enough
    assert (rows - 1) * rate * requests * (1 - invalid) < 1.5 * positives  # and not many more rows than that


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0.05, 30, 50, 0.02, 10), 10),  # at most the limit
        ((0.9, 30, 2000, 0.02, 1000), 1),  # at least 1
        ((0.0, 30, 50, 0.02, 1000), 1),  # no positives at stable: nothing to aim for
        ((0.05, 0, 50, 0.02, 1000), 1),  # no positives asked for
        ((0.05, 30, 50, 1.0, 1000), 1),  # no valid request at all
        ((0.05, 30, 0, 0.02, 1000), 1),  # no requests
    ],
)
def test_rows_per_request_bounds(args: tuple[float, float, float, float, int], expected: int) -> None:
    assert replay.rows_per_request(*args) == expected


class _Answering(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx answers the replayer
    seen: list[float]
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        with self.lock:
            self.seen.append(time.monotonic())
        self.send_response(200)
        self.send_header(UPSTREAM_HEADER, "canary")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[float]]]:
    seen: list[float] = []
    handler = type("Handler", (_Answering,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_replayer_sends_about_rate_times_seconds_then_stops(server: tuple[str, list[float]]) -> None:
    address, seen = server
    replayer = replay.Replayer(address, [b'{"instances": []}'], rate=40.0)
    started = time.monotonic()
    replayer.start()
    time.sleep(1.5)
    replayer.stop()
    took = time.monotonic() - started
    assert 0.4 * 40 * 1.5 <= replayer.sent() <= 40 * took + 2  # generous: a loaded machine may lag, never run ahead
    assert replayer.answers == {("canary", 200): replayer.sent()}
    assert not any(t.is_alive() for t in replayer._threads)
    after = len(seen)
    time.sleep(0.3)
    assert len(seen) == after  # nothing sent once stopped


def test_a_replayer_at_rate_zero_sends_nothing(server: tuple[str, list[float]]) -> None:
    address, seen = server
    replayer = replay.Replayer(address, [b"{}"], rate=0.0)
    replayer.start()
    time.sleep(0.2)
    replayer.stop()
    assert replayer.sent() == 0 and seen == []


def test_a_replayer_counts_an_unreachable_router_as_status_zero(tmp_path: Path) -> None:
    from rollgate.rehearse.processes import free_ports

    (port,) = free_ports(1)
    replayer = replay.Replayer(f"127.0.0.1:{port}", [b"{}"], rate=20.0)
    replayer.start()
    time.sleep(0.5)
    replayer.stop()
    assert set(replayer.answers) == {("none", 0)}
