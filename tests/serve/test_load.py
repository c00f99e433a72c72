"""Under concurrency: each caller gets its own rows back, overload answers 503 and recovers,
SIGTERM loses no in-flight request, and metrics add up across worker processes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve


def test_micro_batching_returns_each_caller_its_own_rows(tiny_model: TinyModel, tmp_path: Path) -> None:
    server = start_server(tiny_model, tmp_path, "--max-wait-ms", "20")
    try:
        requests = [tiny_model.rows(1 + i % 3, offset=i * 3) for i in range(48)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda rows: server.json("POST", "/v1/predict", {"instances": rows}), requests))
        for rows, (status, answer) in zip(requests, answers, strict=True):
            assert status == 200
            assert [p["score"] for p in answer["predictions"]] == pytest.approx(tiny_model.scores(rows), abs=1e-12)
        metrics = server.metrics()
        assert metrics["rollgate_batch_rows_sum"] == sum(len(r) for r in requests)
        assert metrics["rollgate_batch_rows_count"] < len(requests), "no two requests ever shared a batch"
    finally:
        assert server.stop() == 0


def test_overload_answers_503_then_recovers(slow_model: TinyModel, tmp_path: Path) -> None:
    limits = ("--max-queue-rows", "300", "--max-rows", "300")
    server = start_server(slow_model, tmp_path, *limits)
    try:
        # Each estimator call of the slow model holds the event loop long enough for the clients' next
        # requests to arrive together; the queue (300 rows) takes one of them, the others get 503.
        raw = json.dumps({"instances": slow_model.rows(200)}).encode()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: server.request("POST", "/v1/predict", raw=raw), range(64)))
        statuses = sorted({status for status, _, _ in answers})
        assert statuses == [200, 503], statuses
        assert all(headers.get("retry-after") == "1" for status, headers, _ in answers if status == 503)
        assert server.json("POST", "/v1/predict", {"instances": slow_model.rows(3)})[0] == 200
        assert server.json("GET", "/readyz")[0] == 200
    finally:
        assert server.stop() == 0


def _load(server: Server, tiny_model: TinyModel, stop: threading.Event, results: list[object]) -> None:
    rows = tiny_model.rows(20)
    while not stop.is_set():
        try:
            results.append(server.request("POST", "/v1/predict", {"instances": rows})[0])
        except OSError as exc:  # a refused or reset connection is a lost request
            results.append(exc)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_during_load_loses_nothing(tiny_model: TinyModel, tmp_path: Path, workers: str) -> None:
    server = start_server(tiny_model, tmp_path, "--drain-seconds", "1.5", "--grace-seconds", "5", "--workers", workers)
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=_load, args=(server, tiny_model, stop, results)) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    server.proc.send_signal(15)
    started = time.monotonic()
    while server.request("GET", "/readyz")[0] != 503:  # readiness turns false while requests still work
        assert time.monotonic() - started < 1.0, "readiness did not turn false"
    stop.set()  # as a load balancer would, once the endpoint is unready
    for thread in threads:
        thread.join(10)
    assert server.proc.wait(15) == 0
    assert results and all(r == 200 for r in results), [r for r in results if r != 200][:5]


def test_metrics_add_up_across_workers(tiny_model: TinyModel, tmp_path: Path) -> None:
    server = start_server(tiny_model, tmp_path, "--workers", "2")
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: server.json("POST", "/v1/predict", {"instances": tiny_model.rows(2)}), range(40)))
        totals = [server.metrics() for _ in range(4)]  # whichever worker answers, the pod's totals
        for metrics in totals:
            assert metrics['rollgate_requests_total{code="200",route="/v1/predict"}'] == 40
            assert metrics["rollgate_prediction_score_count"] == 80
            assert metrics[f'rollgate_model_info{{name="fraud-detector",sha256="{tiny_model.sha256}"}}'] == 1
    finally:
        assert server.stop() == 0
