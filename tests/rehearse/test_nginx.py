"""The rehearsal's router: real nginx in front of two tiny stdlib servers (stable and canary) on 127.0.0.1,
routing as Istio would at each Rollout step, switched live."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse import processes
from rollgate.rehearse.nginx import UPSTREAM_HEADER, Router, Routing, config
from rollgate.rehearse.processes import Stack
from tests.rehearse.conftest import require

pytestmark = pytest.mark.integration
PREDICT = ("/v1/predict", "/invocations")


@pytest.fixture(scope="module", autouse=True)
def nginx() -> None:
    require("nginx")


@dataclass
class Backend:
    """A stdlib HTTP server that records what reaches it and answers its name (slowly or failing, if told)."""

    name: str
    address: str = ""  # 127.0.0.1:PORT once serving
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    delay_s: float = 0.0
    status: int = 200

    def handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # nginx keeps its upstream connections alive
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                backend.seen.append((self.command, self.path, body))
                time.sleep(backend.delay_s)
                self.send_response(backend.status)
                self.send_header("Content-Length", str(len(backend.name)))
                self.end_headers()
                self.wfile.write(backend.name.encode())

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 (http.server dispatches on these names)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, Backend]]:
    sides = {name: Backend(name) for name in ("stable", "canary")}
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), side.handler()) for side in sides.values()]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    for side, server in zip(sides.values(), servers, strict=True):
        side.address = f"127.0.0.1:{server.server_port}"
    yield sides
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sides(backends: dict[str, Backend]) -> dict[str, Backend]:
    for side in backends.values():
        side.seen.clear()
        side.delay_s, side.status = 0.0, 200
    return backends


@pytest.fixture
def stack() -> Iterator[Stack]:
    with Stack() as opened:
        yield opened


def _router(stack: Stack, tmp_path: Path, sides: dict[str, Backend], routing: Routing, port: int = 0) -> Router:
    port = port or processes.free_ports(1)[0]
    router = Router(stack, tmp_path / "nginx", port, sides["stable"].address, sides["canary"].address)
    router.start(routing)
    return router


def _send(router: Router, n: int, path: str = "/v1/predict", method: str = "POST") -> Counter[tuple[int, str, str]]:
    """(status, body, upstream header) of `n` requests on one keep-alive connection, each with its own body."""
    answers: Counter[tuple[int, str, str]] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", int(router.url.rsplit(":", 1)[1]), timeout=30)
    for i in range(n):
        conn.request(method, path, body=f'{{"row": {i}}}'.encode(), headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        answers[answer.status, answer.read().decode(), answer.headers.get(UPSTREAM_HEADER, "")] += 1
    conn.close()
    return answers


def _settled(side: Backend) -> int:
    """How many requests `side` saw once the mirror's copies (sent in the background) stop arriving."""
    count = -1
    while count != len(side.seen):
        count = len(side.seen)
        time.sleep(0.3)
    return count


@pytest.mark.parametrize(("weight", "answered"), [(0, "stable"), (100, "canary")])
def test_a_weight_of_0_or_100_sends_every_request_to_one_side(
    stack: Stack, tmp_path: Path, sides: dict[str, Backend], weight: float, answered: str
) -> None:
    router = _router(stack, tmp_path, sides, Routing(canary_weight=weight))
    assert _send(router, 50) == Counter({(200, answered, answered): 50})


def test_a_weight_of_25_sends_about_a_quarter_to_the_canary(
    stack: Stack, tmp_path: Path, sides: dict[str, Backend]
) -> None:
    router = _router(stack, tmp_path, sides, Routing(canary_weight=25))
    answers = _send(router, 2000, path="/score", method="GET")
    canary = answers[200, "canary", "canary"]
    assert canary + answers[200, "stable", "stable"] == 2000
    assert 400 <= canary <= 600  # 500 ± 5 standard deviations of Binomial(2000, 0.25)
    assert len(sides["canary"].seen) == canary  # no mirror: nothing else reached it


def test_a_mirror_copies_about_a_quarter_to_the_canary_and_callers_get_stable_answers(
    stack: Stack, tmp_path: Path, sides: dict[str, Backend]
) -> None:
    router = _router(stack, tmp_path, sides, Routing(mirror_percent=25, mirror_prefixes=PREDICT))
    assert _send(router, 800, path="/v1/predict?explain=0") == Counter({(200, "stable", "stable"): 800})
    copies = _settled(sides["canary"])
    assert 139 <= copies <= 261  # 200 ± 5 standard deviations of Binomial(800, 0.25)
    sent = {body for _, _, body in sides["stable"].seen}
    assert {(m, p) for m, p, _ in sides["canary"].seen} == {("POST", "/v1/predict?explain=0")}
    assert {body for _, _, body in sides["canary"].seen} <= sent  # each copy is a request's own body


def test_paths_outside_the_mirrored_prefixes_are_not_copied(
    stack: Stack, tmp_path: Path, sides: dict[str, Backend]
) -> None:
    router = _router(stack, tmp_path, sides, Routing(mirror_percent=100, mirror_prefixes=PREDICT))
    _send(router, 20, path="/v2/other")
    _send(router, 20, path="/invocations")
    assert _settled(sides["canary"]) == 20
    assert {p for _, p, _ in sides["canary"].seen} == {"/invocations"}


@pytest.mark.parametrize("canary", ["slow", "failing", "down"])
def test_a_bad_canary_under_the_mirror_does_not_change_the_callers_answer(
    stack: Stack, tmp_path: Path, sides: dict[str, Backend], canary: str
) -> None:
    sides["canary"].delay_s, sides["canary"].status = (1.0, 200) if canary == "slow" else (0.0, 500)
    if canary == "down":
        sides = {**sides, "canary": Backend("canary", address=f"127.0.0.1:{processes.free_ports(1)[0]}")}
    router = _router(stack, tmp_path, sides, Routing(mirror_percent=100, mirror_prefixes=PREDICT))
    started = time.monotonic()
    assert _send(router, 1) == Counter({(200, "stable", "stable"): 1})
    # The answer did not wait for the copy (the next request on its connection would: see nginx.py).
    assert time.monotonic() - started < 0.5
    assert _send(router, 2) == Counter({(200, "stable", "stable"): 2})


def test_route_switches_live_without_a_restart(stack: Stack, tmp_path: Path, sides: dict[str, Backend]) -> None:
    router = _router(stack, tmp_path, sides, Routing())
    master = (tmp_path / "nginx" / "nginx.pid").read_text()
    assert _send(router, 20) == Counter({(200, "stable", "stable"): 20})
    router.route(Routing(canary_weight=100))
    assert router.routing == Routing(canary_weight=100.0)
    assert _send(router, 20) == Counter({(200, "canary", "canary"): 20})
    assert (tmp_path / "nginx" / "nginx.pid").read_text() == master


def test_a_config_nginx_refuses_raises_its_message(stack: Stack, tmp_path: Path, sides: dict[str, Backend]) -> None:
    broken = {**sides, "canary": Backend("canary", address="127.0.0.1:notaport")}
    with pytest.raises(RollgateError, match=r"(?s)nginx refused .*\[emerg\] invalid port"):
        _router(stack, tmp_path, broken, Routing())


def test_a_port_in_use_raises_nginxs_message(stack: Stack, tmp_path: Path, sides: dict[str, Backend]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RollgateError, match="Address already in use"):
            _router(stack, tmp_path, sides, Routing(), port=taken.getsockname()[1])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"canary_weight": 101}, "canary_weight must be within 0-100"),
        ({"mirror_percent": -1, "mirror_prefixes": PREDICT}, "mirror_percent must be within 0-100"),
        ({"mirror_percent": 10}, "needs mirror_prefixes"),
        ({"mirror_percent": 10, "mirror_prefixes": ("/v1/$x",)}, "plain paths"),
    ],
)
def test_a_routing_out_of_range_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(RollgateError, match=message):
        Routing(**fields)  # type: ignore[arg-type]


def test_the_config_is_the_same_for_the_same_routing_and_runs_unprivileged(tmp_path: Path) -> None:
    routing = Routing(mirror_percent=12.5, mirror_prefixes=PREDICT, canary_weight=20)
    text = config(routing, 8080, "127.0.0.1:1", "127.0.0.1:2", tmp_path)
    assert text == config(routing, 8080, "127.0.0.1:1", "127.0.0.1:2", tmp_path)
    assert "listen 127.0.0.1:8080;" in text and "12.50% on;" in text and "20.00% canary;" in text
    assert not any(line.strip().startswith("user ") for line in text.splitlines())
