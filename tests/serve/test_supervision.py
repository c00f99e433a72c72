"""Scoring off the event loop and a supervised batcher: in the batcher itself, then in real server processes
(faults are injected by a `sitecustomize` that patches the server before it starts, never by a product switch)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rollgate.serve.batching import BatchLimits, MicroBatcher, ScoringError
from tests.serve.conftest import BIN, Server, TinyModel, free_ports, start_server

pytestmark = pytest.mark.serve

LIMITS = BatchLimits(max_batch_rows=1_000, max_wait_s=0.001, max_queue_rows=10_000, inline_rows=8, threads=2)


def _columns(rows: int) -> dict[str, list[Any]]:
    return {"x": list(range(rows))}


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- the batcher ---------------------------------------------------------------------------------------
def test_large_batches_are_scored_in_the_thread_pool_small_ones_inline() -> None:
    seen: dict[int, str] = {}

    def predict(columns: dict[str, list[Any]]) -> np.ndarray:
        seen[len(columns["x"])] = threading.current_thread().name
        return np.zeros(len(columns["x"]))

    async def main() -> None:
        batcher = MicroBatcher(predict, LIMITS)
        batcher.start()
        await batcher.submit(_columns(3), 3)
        await batcher.submit(_columns(500), 500)
        await batcher.stop()

    _run(main())
    assert seen[3] == "MainThread"
    assert seen[500].startswith("rollgate-score"), seen


def test_the_event_loop_runs_while_a_large_batch_is_scored() -> None:
    release = threading.Event()

    def predict(columns: dict[str, list[Any]]) -> np.ndarray:
        if len(columns["x"]) > LIMITS.inline_rows:
            assert release.wait(10), "the event loop never got to release the scorer"
        return np.ones(len(columns["x"]))

    async def main() -> None:
        batcher = MicroBatcher(predict, LIMITS)
        batcher.start()
        big = asyncio.ensure_future(batcher.submit(_columns(500), 500))
        await asyncio.sleep(0.05)  # the big batch is in the pool, alone
        small = await asyncio.wait_for(batcher.submit(_columns(2), 2), 5)  # overtakes the blocked big batch
        assert small.tolist() == [1.0, 1.0] and not big.done()
        release.set()
        assert len(await asyncio.wait_for(big, 10)) == 500
        await batcher.stop()

    _run(main())


@pytest.mark.parametrize("where", ["predict", "on_batch"])
def test_an_exception_fails_only_its_batch(where: str) -> None:
    calls = {"n": 0}

    def predict(columns: dict[str, list[Any]]) -> np.ndarray:
        calls["n"] += 1
        if where == "predict" and calls["n"] == 1:
            raise ValueError("estimator broke")
        return np.zeros(len(columns["x"]))

    def on_batch(columns: object, rows: int, scores: np.ndarray) -> None:
        if where == "on_batch" and calls["n"] == 1:
            raise RuntimeError("metrics broke")

    async def main() -> None:
        batcher = MicroBatcher(predict, LIMITS, on_batch)
        batcher.start()
        with pytest.raises(ScoringError, match="scoring failed"):
            await batcher.submit(_columns(2), 2)
        assert len(await batcher.submit(_columns(2), 2)) == 2 and batcher.alive
        await batcher.stop()

    _run(main())


def test_a_dead_batcher_fails_every_waiting_request_and_says_so() -> None:
    fatal: list[BaseException] = []

    async def main() -> None:
        batcher = MicroBatcher(lambda c: np.zeros(len(c["x"])), LIMITS, on_fatal=fatal.append)

        async def broken() -> list[Any]:
            raise RuntimeError("a bug in the batcher")

        batcher._collect = broken  # type: ignore[method-assign]
        batcher.start()
        with pytest.raises(ScoringError):
            await asyncio.wait_for(batcher.submit(_columns(2), 2), 5)
        assert not batcher.alive
        with pytest.raises(ScoringError):
            await batcher.submit(_columns(2), 2)
        await asyncio.wait_for(batcher.stop(), 5)  # stopping a dead batcher does not wait for its queue

    _run(main())
    assert len(fatal) == 1 and "a bug in the batcher" in str(fatal[0])


def test_a_request_whose_caller_left_is_not_scored() -> None:
    scored: list[int] = []
    gate = threading.Event()

    def predict(columns: dict[str, list[Any]]) -> np.ndarray:
        scored.append(len(columns["x"]))
        if len(columns["x"]) == 500:
            gate.wait(10)
        return np.zeros(len(columns["x"]))

    async def main() -> None:
        batcher = MicroBatcher(predict, BatchLimits(500, 0.0, 10_000, 8, 1))
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(_columns(500), 500))  # holds the only scoring thread
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(batcher.submit(_columns(300), 300))
        await asyncio.sleep(0.05)
        second.cancel()  # its client went away while it waited
        gate.set()
        await first
        await batcher.stop()

    _run(main())
    assert 300 not in scored, scored


# -- real processes ------------------------------------------------------------------------------------
# Every Python process started with this folder on PYTHONPATH (the server and its spawned workers)
# applies the patch at start-up through `sitecustomize`.
_SITECUSTOMIZE = """
from rollgate.serve import batching, metrics
{patch}
"""
_BREAK_METRICS_ONCE = """
original = metrics.ServerMetrics.batch
state = {"broken": False}
def batch(self, columns, rows, scores, threshold):
    if not state["broken"]:
        state["broken"] = True
        raise RuntimeError("counting the batch failed")
    return original(self, columns, rows, scores, threshold)
metrics.ServerMetrics.batch = batch
"""
_KILL_BATCHER = """
async def _collect(self):
    raise RuntimeError("the batcher hit a bug")
batching.MicroBatcher._collect = _collect
"""


def _patched_server(model: TinyModel, tmp: Path, patch: str, *args: str) -> Server:
    port, admin_port = free_ports(2)
    log, site = tmp / "server.log", tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(patch=patch))
    argv = [str(BIN / "rollgate"), "serve", "--model", str(model.path), "--sha256", model.sha256]
    argv += ["--port", str(port), "--admin-port", str(admin_port), *args]
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    server = Server(proc, port, admin_port, log)
    server.wait_ready()
    return server


def test_an_exception_after_scoring_is_a_500_for_that_request_only(tiny_model: TinyModel, tmp_path: Path) -> None:
    server = _patched_server(tiny_model, tmp_path, _BREAK_METRICS_ONCE)
    try:
        status, answer = server.json("POST", "/v1/predict", {"instances": tiny_model.rows(2)})
        assert status == 500 and "scoring failed" in answer["error"], answer
        for _ in range(3):
            assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(2)})[0] == 200
        assert server.request("GET", "/readyz", admin=True)[0] == 200
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log.read_text()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_dead_batcher_turns_unready_and_the_process_exits_1(
    tiny_model: TinyModel, tmp_path: Path, workers: str
) -> None:
    server = _patched_server(tiny_model, tmp_path, _KILL_BATCHER, "--workers", workers)
    try:
        try:
            status, _, _ = server.request("POST", "/v1/predict", {"instances": tiny_model.rows(2)})
            assert status == 503
        except OSError:
            pass  # the process may already be going away: what matters is how it ends
        assert server.proc.wait(60) == 1, server.log.read_text()[-3000:]
        assert "the batcher hit a bug" in server.log.read_text()
    finally:
        if server.proc.poll() is None:
            server.proc.kill()


def test_healthz_answers_while_a_10000_row_batch_is_in_flight(slow_model: TinyModel, tmp_path: Path) -> None:
    server = start_server(slow_model, tmp_path, "--max-rows", "10000", "--max-body-bytes", str(8 * 1024 * 1024))
    try:
        raw = json.dumps({"instances": slow_model.rows(10_000)}).encode()
        done: list[int] = []
        big = threading.Thread(target=lambda: done.append(server.request("POST", "/v1/predict", raw=raw)[0]))
        big.start()
        answered_during = 0
        while big.is_alive():
            started = time.monotonic()
            assert server.request("GET", "/healthz", admin=True)[0] == 200
            assert time.monotonic() - started < 2.0, "liveness waited for the batch"
            answered_during += big.is_alive()
            time.sleep(0.01)
        big.join()
        assert done == [200]
        assert answered_during >= 3, f"only {answered_during} probes ran while the batch was scored: too fast to tell"
    finally:
        assert server.stop() == 0


def test_the_request_deadline_answers_503_with_retry_after(slow_model: TinyModel, tmp_path: Path) -> None:
    args = ("--max-rows", "10000", "--max-body-bytes", str(8 * 1024 * 1024), "--request-timeout", "0.1")
    server = start_server(slow_model, tmp_path, *args)
    try:
        status, headers, body = server.request("POST", "/v1/predict", {"instances": slow_model.rows(10_000)})
        assert status == 503, body[:300]
        assert headers["retry-after"] == "1"
        assert "deadline" in json.loads(body)["error"]
        assert server.json("GET", "/readyz", admin=True)[0] in (200, 503)  # the batch may still be scoring
    finally:
        assert server.stop() == 0


def test_client_disconnects_are_counted_and_logged_in_one_line(slow_model: TinyModel, tmp_path: Path) -> None:
    server = start_server(slow_model, tmp_path, "--max-rows", "10000", "--max-body-bytes", str(8 * 1024 * 1024))
    try:
        body = json.dumps({"instances": slow_model.rows(2_000)}).encode()
        head = b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        # Leaves before its answer. The server is stopped while the rest of the body and the close
        # arrive, so it reads them in one go, as a busy server does: the last chunk is over uvicorn's
        # 64 KiB high-water mark, which pauses reading until the answer unless rollgate resumes it.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head + b"content-length: %d\r\n\r\n" % len(body) + body[:1000])
            time.sleep(0.2)  # the app now waits for more of the body
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                sock.settimeout(10)
                sock.sendall(body[1000:])  # about 0.5 MB: within the loopback socket's buffers
                sock.close()
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:  # leaves half-way through its body
            sock.sendall(head + b"content-length: 5000\r\n\r\n" + b'{"instances": [')
            time.sleep(0.3)
        deadline = time.monotonic() + 60
        key = 'rollgate_requests_total{code="499",route="/v1/predict"}'
        while server.metrics().get(key, 0) < 2:
            assert time.monotonic() < deadline, server.metrics()
            time.sleep(0.2)
        assert server.json("POST", "/v1/predict", {"instances": slow_model.rows(2)})[0] == 200
    finally:
        assert server.stop() == 0
    text = server.log.read_text()
    assert text.count("client disconnected") == 2, text[-3000:]
    assert "Traceback" not in text and "Exception in ASGI" not in text, text[-3000:]
