"""Hostile and careless clients against a real server process: every limit answers with its status code,
closes what it must, is counted, and leaves the server serving everyone else."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve

TIGHT = (
    "--max-header-bytes", "4096", "--max-headers", "20", "--header-timeout", "1", "--body-timeout", "1",
    "--keepalive-timeout", "1", "--max-body-bytes", "100000",
)  # fmt: skip


@pytest.fixture(scope="module")
def tight(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tiny_model, tmp_path_factory.mktemp("tight"), *TIGHT)
    yield running
    running.stop()


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.settimeout(30)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset ends it too)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _send_quietly(sock: socket.socket, data: bytes, piece: int = 65536) -> None:
    """Send as much as the server reads; it may close mid-way, which is the point."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for start in range(0, len(data), piece):
            sock.sendall(data[start : start + piece])


def _drip(sock: socket.socket, pieces: bytes) -> bytes:
    """Send `pieces` one byte every 0.2 s until the server answers or closes; everything it sent."""
    answer = b""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for byte in pieces:
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            sock.setblocking(True)
            if answer:
                break
    return answer + _read_all(sock)


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def _head(path: str = "/v1/predict", extra: bytes = b"", length: int | None = None) -> bytes:
    size = b"" if length is None else b"content-length: %d\r\n" % length
    start = b"POST " + path.encode() + b" HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    return start + size + extra + b"\r\n"


def _still_serves(server: Server, tiny_model: TinyModel) -> None:
    assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(2)})[0] == 200


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(b"x-big: " + b"a" * 8_000 + b"\r\n", id="one 8 kB header"),
        pytest.param(b"".join(b"x-h%d: %s\r\n" % (i, b"b" * 150) for i in range(19)), id="many medium headers"),
        pytest.param(b"x-huge: " + b"c" * 8 * 1024 * 1024 + b"\r\n", id="an 8 MB header"),
    ],
)
def test_a_head_over_the_byte_cap_is_431_and_closed(tight: Server, tiny_model: TinyModel, extra: bytes) -> None:
    with _connect(tight) as sock:
        _send_quietly(sock, _head(extra=extra, length=2) + b"{}")
        answer = _read_all(sock)
    assert _status(answer) == 431
    assert b"connection: close" in answer.lower()
    _still_serves(tight, tiny_model)


def test_too_many_header_lines_is_431(tight: Server, tiny_model: TinyModel) -> None:
    extra = b"".join(b"x-h%d: 1\r\n" % i for i in range(30))
    with _connect(tight) as sock:
        sock.sendall(_head(extra=extra, length=2) + b"{}")
        assert _status(_read_all(sock)) == 431
    _still_serves(tight, tiny_model)


def test_a_too_long_request_line_is_431(tight: Server) -> None:
    with _connect(tight) as sock:
        _send_quietly(sock, _head(path="/v1/predict?" + "q" * 10_000, length=2) + b"{}")
        assert _status(_read_all(sock)) == 431


def test_a_dripped_head_gets_408_within_the_deadline(tight: Server) -> None:
    with _connect(tight) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\n")
        started = time.monotonic()
        answer = _drip(sock, b"x-slow: " + b"z" * 100)  # 20 s if nothing stopped it
    assert _status(answer) == 408, answer[:200]
    assert time.monotonic() - started < 10, "the head deadline (1 s) did not cut the drip off"


def test_an_idle_new_connection_is_closed(tight: Server) -> None:
    with _connect(tight) as sock:
        started = time.monotonic()
        assert _read_all(sock) == b"", "a connection that sent nothing gets no answer, only a close"
        assert time.monotonic() - started < 10


def test_an_idle_kept_alive_connection_is_closed(tight: Server, tiny_model: TinyModel) -> None:
    body = json.dumps({"instances": tiny_model.rows(1)}).encode()
    with _connect(tight) as sock:
        sock.sendall(_head(length=len(body)) + body)
        first = sock.recv(65536)
        assert _status(first) == 200
        started = time.monotonic()
        _read_all(sock)  # returns once the server closes the idle connection
        assert time.monotonic() - started < 10


def test_a_dripped_body_gets_408_and_is_counted(tight: Server) -> None:
    before = tight.metrics().get('rollgate_requests_total{code="408",route="/v1/predict"}', 0.0)
    with _connect(tight) as sock:
        sock.sendall(_head(length=1000) + b'{"instances": [')
        started = time.monotonic()
        answer = _drip(sock, b" " * 100)  # 20 s if nothing stopped it
    assert _status(answer) == 408
    assert time.monotonic() - started < 10
    after = tight.metrics()['rollgate_requests_total{code="408",route="/v1/predict"}']
    assert after == before + 1


def test_refusals_before_a_route_are_counted(tight: Server) -> None:
    with _connect(tight) as sock:
        sock.sendall(_head(extra=b"".join(b"x-h%d: 1\r\n" % i for i in range(30)), length=2) + b"{}")
        _read_all(sock)
    assert tight.metrics()['rollgate_requests_total{code="431",route="other"}'] >= 1


def test_connections_over_the_cap_get_503_with_retry_after(tiny_model: TinyModel, tmp_path: Path) -> None:
    server = start_server(tiny_model, tmp_path, "--max-connections", "4", "--header-timeout", "30")
    try:
        held = [_connect(server) for _ in range(4)]
        time.sleep(0.5)  # the server has accepted them
        with _connect(server) as extra:
            answer = _read_all(extra)
        assert _status(answer) == 503
        assert b"retry-after: 1" in answer.lower()
        for sock in held:
            sock.close()
        time.sleep(0.5)
        _still_serves(server, tiny_model)
    finally:
        assert server.stop() == 0


def test_bytes_buffered_across_stalled_uploads_are_capped(tiny_model: TinyModel, tmp_path: Path) -> None:
    limits = ("--max-body-bytes", "100000", "--max-inflight-bytes", "250000", "--body-timeout", "30")
    server = start_server(tiny_model, tmp_path, *limits)
    try:
        stalled = []
        for _ in range(2):  # two uploads park 90 kB each and stop sending
            sock = _connect(server)
            sock.sendall(_head(length=100_000) + b" " * 90_000)
            stalled.append(sock)
        time.sleep(0.5)
        with _connect(server) as third:
            _send_quietly(third, _head(length=100_000) + b" " * 90_000)
            answer = _read_all(third)
        assert _status(answer) == 503
        assert b"retry-after: 1" in answer.lower()
        for sock in stalled:
            sock.close()
        time.sleep(0.5)
        _still_serves(server, tiny_model)  # the budget came back when the stalled uploads went away
    finally:
        assert server.stop() == 0


def test_a_422_never_echoes_unbounded_client_values(server: Server, tiny_model: TinyModel) -> None:
    rows = tiny_model.rows(100)
    category = next(s.name for s in tiny_model.contract.features if s.type == "category")
    for row in rows:
        row[category] = "x" * 10_000  # 1 MB in all: under the body limit
    status, _, body = server.request("POST", "/v1/predict", {"instances": rows})
    assert status == 422
    errors = json.loads(body)["errors"]
    assert errors and all(len(e["message"]) < 400 for e in errors), errors[0]["message"][:500]
    assert len(body) < 60_000, f"a 422 of {len(body)} bytes echoes what the client sent"


def test_unknown_field_names_are_echoed_bounded(server: Server, tiny_model: TinyModel) -> None:
    rows = [{**row, "y" * 50_000 + str(i): 1} for i, row in enumerate(tiny_model.rows(30))]
    status, _, body = server.request("POST", "/v1/predict", {"instances": rows})
    assert status == 200
    ignored = json.loads(body)["ignored_fields"]
    assert len(ignored) <= 20 and all(len(name) <= 40 for name in ignored)


def test_default_limits_refuse_a_5000_row_request(server: Server, tiny_model: TinyModel) -> None:
    status, answer = server.json("POST", "/v1/predict", {"instances": tiny_model.rows(5_000)})
    assert status == 413, answer
    assert "limit of 2000" in answer["error"]


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_twenty_stalled_uploads_stay_within_the_default_byte_budget(tiny_model: TinyModel, tmp_path: Path) -> None:
    # 8 MiB bodies (the old default) so that only the in-flight budget (16 MiB by default) bounds them.
    limits = ("--max-body-bytes", str(8 * 1024 * 1024), "--body-timeout", "60", "--request-timeout", "60")
    server = start_server(tiny_model, tmp_path, *limits)  # 135 MiB growth without the budget
    try:
        before = _rss_mib(server.proc.pid)
        stalled = []
        for _ in range(20):  # each declares 8,000,000 bytes, sends 7 MB and stops: 140 MB if all were kept
            sock = _connect(server)
            _send_quietly(sock, _head(length=8_000_000) + b" " * 7_000_000)
            stalled.append(sock)
        time.sleep(1.0)
        grown = _rss_mib(server.proc.pid) - before
        for sock in stalled:
            sock.close()
        assert grown < 60, f"20 stalled uploads grew the server by {grown:.0f} MiB (budget: 16 MiB)"
        time.sleep(0.5)
        _still_serves(server, tiny_model)
    finally:
        assert server.stop() == 0
