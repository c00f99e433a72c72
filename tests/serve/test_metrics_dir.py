"""PROMETHEUS_MULTIPROC_DIR as a pod sets it, on real `rollgate serve` processes: created when missing
(an empty emptyDir), cleared of a dead container's values, and a clear refusal when it cannot be made."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from rollgate.serve.metrics import MULTIPROC_ENV
from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve

PREDICT_OK = 'rollgate_requests_total{code="200",route="/v1/predict"}'


def _predict(server: Server, model: TinyModel, requests: int) -> None:
    """`requests` predictions of 2 rows each, one connection each (so several workers share them)."""
    for i in range(requests):
        status, answer = server.json("POST", "/v1/predict", {"instances": model.rows(2, offset=i)})
        assert status == 200, f"predict answered {status}: {answer}\n{server._log()}"


def _counted(server: Server) -> tuple[float, float]:
    """(answered /v1/predict requests, predicted rows) as the admin port's /metrics says."""
    status, _, _ = server.request("GET", "/metrics", admin=True)
    assert status == 200, f"/metrics on the admin port answered {status}\n{server._log()}"
    samples = server.metrics()
    rows = samples.get('rollgate_predictions_total{label="0"}', 0) + samples.get(
        'rollgate_predictions_total{label="1"}', 0
    )
    return samples.get(PREDICT_OK, 0), rows


@pytest.mark.parametrize("workers", [1, 2])
def test_a_missing_nested_dir_is_created(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    folder = tmp_path / "emptydir" / "tmp" / "metrics"  # the rendered pod's /tmp/metrics on a fresh emptyDir
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    server = start_server(tiny_model, tmp_path, "--workers", str(workers))
    try:
        assert folder.is_dir(), f"{folder} not created\n{server._log()}"
        _predict(server, tiny_model, 6)
        assert _counted(server) == (6, 12), f"/metrics (workers={workers}) should count 6 requests, 12 rows"
        assert list(folder.glob("*.db")), f"no value files under {folder}: not in multiprocess mode"
    finally:
        assert server.stop() == 0, server._log()


def test_stale_values_of_a_dead_server_are_cleared(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "emptydir" / "metrics"
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    dead = start_server(tiny_model, tmp_path, "--workers", "1")  # one process: SIGKILL leaves no orphan
    try:
        _predict(dead, tiny_model, 5)
        assert _counted(dead) == (5, 10), dead._log()
    finally:
        dead.proc.send_signal(signal.SIGKILL)
        dead.proc.wait(30)
    stale = sorted(p.name for p in folder.glob(f"*_{dead.proc.pid}.db"))
    assert stale, f"the killed server left no value files in {folder}: {sorted(p.name for p in folder.iterdir())}"

    server = start_server(tiny_model, tmp_path, "--workers", "2")
    try:
        left = [name for name in stale if (folder / name).exists()]
        assert not left, f"a new server kept the dead one's value files {left}"
        assert _counted(server) == (0, 0), "a new server's counters must start at 0, not the dead one's"
        _predict(server, tiny_model, 3)
        assert _counted(server) == (3, 6), "the new server should count exactly what it answered"
    finally:
        assert server.stop() == 0, server._log()


def test_a_dir_that_cannot_be_created_stops_the_server(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    folder = blocker / "metrics"
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    server = start_server(tiny_model, tmp_path, "--workers", "2", wait=False)
    out = server.refusal(60)
    assert f"{MULTIPROC_ENV}={folder}" in out, f"the refusal should name {MULTIPROC_ENV} and the path:\n{out}"
