"""Running the app: one process, or a supervisor and several workers sharing the listening sockets.

The supervisor checks the API key file, prepares the metrics directory, fetches the model once and
verifies it, binds the scoring, admin and (when asked for) public sockets, then hands each worker the
verified bytes over a pipe (no worker fetches again; each re-reads the key file, which it follows).
Each worker writes a prediction log file of its own (`ServeSettings.for_worker`). A worker whose
batcher stops exits 1, and the supervisor then stops the others and exits 1.

Shutdown follows what Kubernetes expects of a pod. On SIGTERM (or SIGINT) `/readyz` turns false
at once while requests are still served for `drain_seconds`, so endpoints and load balancers stop
sending; then the listener closes, in-flight requests finish (for at most `grace_seconds`) and the
process exits 0. With several workers the supervisor forwards the signal and waits for them all.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

import uvicorn

from rollgate.serve import keyfile, loading, logpolicy, metrics, protocol
from rollgate.serve.app import Runtime, create_app
from rollgate.serve.routes import SCORING_ROUTES
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

    def stop_now(self) -> None:
        """The batcher died: stop at once (the caller exits non-zero); readiness is already false."""
        self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self._exit_at is not None and time.monotonic() >= self._exit_at:
            self.should_exit = True
        return await super().on_tick(counter)


def _config(
    app: Any, settings: ServeSettings, runtime: Runtime | None = None, port: int | None = None
) -> uvicorn.Config:
    limits = settings.limits

    def refused(route: str, code: int, seconds: float) -> None:
        if runtime is not None:
            runtime.metrics.request(route, code, seconds)

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=protocol.protocol_class(limits, SCORING_ROUTES, refused),
        ws="none",
        lifespan="on",
        access_log=False,  # the metrics and the prediction log say more, for less
        log_config=None,
        proxy_headers=False,  # nothing here uses the client address
        server_header=False,
        timeout_graceful_shutdown=int(settings.grace_seconds) or 1,
        timeout_keep_alive=max(1, math.ceil(limits.keepalive_timeout_s)),
        backlog=2048,
    )


def _bind(settings: ServeSettings) -> list[socket.socket]:
    """The scoring socket, the admin socket, then the public one if any (same host), bound before any worker
    starts."""
    ports = [settings.port, settings.admin_port]
    if settings.public_port is not None:
        ports.append(settings.public_port)
    return [_config(None, settings, port=port).bind_socket() for port in ports]


def _serve(settings: ServeSettings, served: loading.ServedModel, sockets: list[socket.socket]) -> None:
    public_port = sockets[2].getsockname()[1] if len(sockets) > 2 else None
    app, runtime = create_app(settings, served, sockets[1].getsockname()[1], public_port)
    server = DrainingServer(_config(app, settings, runtime), runtime)
    runtime.on_fatal = server.stop_now
    server.run(sockets=sockets)
    if runtime.fatal is not None:
        log.error("stopped: %r", runtime.fatal)
        raise SystemExit(1)


def _worker(settings_json: str, sockets: list[socket.socket], model: Connection) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s rollgate serve [{os.getpid()}] %(message)s")
    settings = ServeSettings.from_json(settings_json)
    data = model.recv_bytes()  # fetched and verified once by the supervisor, not once per worker
    model.close()
    served = loading.load(settings.model, settings.sha256, settings.release, settings.threshold, data)
    del data
    _serve(settings, served, sockets)


def run(settings: ServeSettings) -> None:
    """Verify the model (raising a RollgateError on any problem), then serve until told to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rollgate serve %(message)s")
    auth_line = _auth(settings)
    # Workers write their metric values under this directory and /metrics sums them (multiprocess mode).
    several = settings.workers > 1 and metrics.multiprocess_dir() is None
    metrics.prepare_multiprocess_dir(tempfile.mkdtemp(prefix="rollgate-metrics-") if several else None)
    data = loading.fetch(settings.model, settings.fetch_timeout_s, settings.max_model_bytes)
    served = loading.load(settings.model, settings.sha256, settings.release, settings.threshold, data)
    log.info("verified %s sha256=%s from %s; %s", served.name, served.sha256, settings.model, auth_line)
    logpolicy.field_policy(settings.log_drop, settings.log_hash, served.features)  # refused before binding
    sockets = _bind(settings)
    if settings.workers == 1:
        del data
        _serve(settings, served, sockets)
        return
    del served
    _supervise(settings, sockets, data)


def _auth(settings: ServeSettings) -> str:
    """How callers are checked, in words; a bad key file is refused here, before a model is fetched."""
    if settings.api_keys is None:
        return f"auth: {settings.auth}"
    keys = keyfile.read(settings.api_keys).keys
    return f"auth: keys from {settings.api_keys} ({len(keys)}: {', '.join(k.id for k in keys)})"


def _supervise(settings: ServeSettings, sockets: list[socket.socket], data: bytes) -> None:
    context = multiprocessing.get_context("spawn")  # fork after OpenMP/BLAS initialise can deadlock
    pipes = [context.Pipe(duplex=False) for _ in range(settings.workers)]
    workers = [
        context.Process(
            target=_worker, args=(settings.for_worker(i).to_json(), sockets, pipe[0]), name=f"rollgate-worker-{i}"
        )
        for i, pipe in enumerate(pipes)
    ]
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda sig, frame: stopping.append(sig))
    for worker in workers:
        worker.start()
    for receiver, sender in pipes:
        receiver.close()
        with contextlib.suppress(OSError):  # a worker that died before reading is reported below
            sender.send_bytes(data)
        sender.close()
    del data
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
    for sock in sockets:
        sock.close()
    # A worker told to stop before it installed its own handler (still importing) ends by the signal itself.
    normal = {0, -signal.SIGTERM} if stopping else {0}
    failed = [w.name for w in workers if w.exitcode not in normal]
    if failed or not stopping:
        log.error("workers stopped abnormally: %s", ", ".join(failed) or "unexpected exit")
        raise SystemExit(1)
