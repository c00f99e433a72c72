"""Running the app: one process, or a supervisor and several workers sharing one listening socket.

Shutdown follows what Kubernetes expects of a pod. On SIGTERM (or SIGINT) `/readyz` turns false
at once while requests are still served for `drain_seconds`, so endpoints and load balancers stop
sending; then the listener closes, in-flight requests finish (for at most `grace_seconds`) and the
process exits 0. With several workers the supervisor forwards the signal and waits for them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from types import FrameType
from typing import Any

import uvicorn

from rollgate.serve import loading
from rollgate.serve.app import Runtime, create_app
from rollgate.serve.settings import ServeSettings

log = logging.getLogger("rollgate.serve")


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a drain period between the signal and closing the listener."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self._exit_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's: it re-raises the signal after shutdown, so a clean drain would exit -15, not 0.
        if self._exit_at is not None:  # a second signal: stop draining now, a third: stop waiting
            self.force_exit = self.should_exit
            self.should_exit = True
            return
        self.runtime.draining = True
        self._exit_at = time.monotonic() + self.runtime.settings.drain_seconds
        log.info("%s: not ready; draining for %.1fs", signal.Signals(sig).name, self.runtime.settings.drain_seconds)
        self.should_exit = self.runtime.settings.drain_seconds <= 0

    async def on_tick(self, counter: int) -> bool:
        if self._exit_at is not None and time.monotonic() >= self._exit_at:
            self.should_exit = True
        return await super().on_tick(counter)


def _config(app: Any, settings: ServeSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,  # the metrics and the prediction log say more, for less
        log_config=None,
        timeout_graceful_shutdown=int(settings.grace_seconds) or 1,
        backlog=2048,
    )


def _serve(settings: ServeSettings, served: loading.ServedModel, sock: socket.socket | None) -> None:
    app, runtime = create_app(settings, served)
    DrainingServer(_config(app, settings), runtime).run(sockets=[sock] if sock is not None else None)


def _worker(settings_json: str, sock: socket.socket) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s rollgate serve [{os.getpid()}] %(message)s")
    settings = ServeSettings.from_json(settings_json)
    served = loading.load(settings.model, settings.sha256, settings.release, settings.threshold)
    _serve(settings, served, sock)


def run(settings: ServeSettings) -> None:
    """Verify the model (raising a RollgateError on any problem), then serve until told to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rollgate serve %(message)s")
    served = loading.load(settings.model, settings.sha256, settings.release, settings.threshold)
    log.info("verified %s sha256=%s from %s", served.name, served.sha256, settings.model)
    if settings.workers == 1:
        _serve(settings, served, None)
        return
    _supervise(settings)


def _supervise(settings: ServeSettings) -> None:
    # Workers write their metric values here and /metrics sums them (prometheus_client multiprocess).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="rollgate-metrics-"))
    sock = _config(None, settings).bind_socket()
    context = multiprocessing.get_context("spawn")  # fork after OpenMP/BLAS initialise can deadlock
    workers = [
        context.Process(target=_worker, args=(settings.to_json(), sock), name=f"rollgate-worker-{i}")
        for i in range(settings.workers)
    ]
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda sig, frame: stopping.append(sig))
    for worker in workers:
        worker.start()
    while not stopping and all(w.is_alive() for w in workers):
        time.sleep(0.1)
    for worker in workers:  # forward the signal, or bring the others down when one died
        if worker.is_alive() and worker.pid is not None:
            os.kill(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + settings.drain_seconds + settings.grace_seconds + 5
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()
    sock.close()
    # A worker told to stop before it installed its own handler (still importing) ends by the signal itself.
    normal = {0, -signal.SIGTERM} if stopping else {0}
    failed = [w.name for w in workers if w.exitcode not in normal]
    if failed or not stopping:
        log.error("workers stopped abnormally: %s", ", ".join(failed) or "unexpected exit")
        raise SystemExit(1)
