"""The ASGI application: two or three ports, start-up and shutdown.

The scoring port answers `POST /v1/predict`, `POST /invocations` and the probes; the admin port (never
on the public Service) answers `/metrics`, `/v1/model`, `/openapi.json` and the probes; the public port,
when there is one, answers what the scoring port does, label-only unless told otherwise. One process
serves every socket; each request is routed by the local port it arrived on. Start-up builds the
predictor, warms it and checks its fingerprint before `/readyz` says yes; readiness turns false while
draining, when the batcher has stopped, or when a batch has been scoring for longer than a request's
deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from rollgate.serve import predictor, routes
from rollgate.serve.batching import BatchLimits, MicroBatcher
from rollgate.serve.bin_counts import FLUSH_EVERY_S
from rollgate.serve.guard import Guard
from rollgate.serve.http import ByteBudget
from rollgate.serve.keyfile import WatchedKeys
from rollgate.serve.loading import ServedModel
from rollgate.serve.logpolicy import field_policy
from rollgate.serve.metrics import ServerMetrics
from rollgate.serve.predlog import LogTarget, PredictionLog
from rollgate.serve.settings import ServeSettings
from rollgate.serve.validation import Validator

log = logging.getLogger("rollgate.serve")
_GONE_LINES_PER_SECOND = 10  # disconnect lines logged per second at most; the metric counts them all


@dataclass
class Runtime:
    settings: ServeSettings
    served: ServedModel
    metrics: ServerMetrics
    validator: Validator
    predlog: PredictionLog
    budget: ByteBudget
    batcher: MicroBatcher | None = None
    guard: Guard | None = None  # the API key check, with --auth keys only
    ready: bool = False
    draining: bool = False
    fatal: BaseException | None = None
    on_fatal: Callable[[], None] = lambda: None  # set by the server: stop, and exit non-zero
    info: dict[str, Any] = field(default_factory=dict)
    _gone: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # window start, lines, suppressed

    def is_ready(self) -> bool:
        batcher = self.batcher
        if not self.ready or self.draining or batcher is None or not batcher.alive:
            return False
        return batcher.busy_for() < self.settings.limits.request_timeout_s

    def gone(self, route: str, rid: str, seconds: float) -> None:
        """A client left before its answer: one log line (rate-limited; the metric counts every one)."""
        now = time.monotonic()
        window = self._gone
        if now - window[0] >= 1.0:
            if window[2]:
                log.info("%d more client disconnects not logged", int(window[2]))
            window[:] = [now, 0.0, 0.0]
        if window[1] >= _GONE_LINES_PER_SECOND:
            window[2] += 1
            return
        window[1] += 1
        log.info("client disconnected: route=%s request_id=%s after=%.3fs", route, rid, seconds)

    def die(self, exc: BaseException) -> None:
        self.fatal, self.ready = exc, False
        self.on_fatal()


def _start(rt: Runtime) -> None:
    served, limits = rt.served, rt.settings.limits
    chosen = predictor.build(served.model, served.features)
    if served.fingerprint is not None and served.fingerprint_rows is not None:
        actual = predictor.fingerprint(chosen, served.features, served.fingerprint_rows)
        if actual != served.fingerprint:
            log.warning("prediction fingerprint %s differs from the recorded %s", actual[:12], served.fingerprint[:12])
    rt.batcher = MicroBatcher(
        chosen.scores,
        BatchLimits(
            max_batch_rows=limits.max_batch_rows,
            max_wait_s=limits.max_wait_ms / 1000,
            max_queue_rows=limits.max_queue_rows,
            inline_rows=limits.inline_rows,
            threads=limits.scoring_threads,
        ),
        lambda columns, rows, scores: rt.metrics.batch(columns, rows, scores, served.threshold),
        rt.die,
    )
    rt.info = {"predictor": chosen.kind}
    log.info("ready: %s sha256=%s predictor=%s", served.name, served.sha256, chosen.kind)


async def _flush_every(metrics: ServerMetrics) -> None:
    """Counts of an idle worker reach its counters too (a busy one flushes as it counts)."""
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        metrics.flush()


def _prediction_log(settings: ServeSettings, served: ServedModel) -> PredictionLog:
    target = LogTarget(settings.log, settings.log_sample, settings.log_max_bytes, settings.log_files)
    policy = field_policy(settings.log_drop, settings.log_hash, served.features)  # the key: from the environment
    return PredictionLog(target, served.sha256, served.features, policy)


def create_app(
    settings: ServeSettings, served: ServedModel, admin_port: int, public_port: int | None = None
) -> tuple[Any, Runtime]:
    """The ASGI app for every port (requests to `admin_port` get the admin routes, to `public_port` the
    public ones, any other the scoring ones) and its runtime."""
    rt = Runtime(
        settings,
        served,
        ServerMetrics(served.name, served.sha256, served.baseline),
        Validator(served.features, settings.strict),
        _prediction_log(settings, served),
        ByteBudget(settings.limits.max_inflight_bytes),
    )
    if settings.auth == "keys" and settings.api_keys is not None:
        rt.guard = Guard(WatchedKeys(settings.api_keys), rt.metrics.auth)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _start(rt)
        assert rt.batcher is not None
        rt.batcher.start()
        rt.predlog.start()
        flusher = asyncio.get_running_loop().create_task(_flush_every(rt.metrics), name="rollgate-bin-counts")
        rt.ready = True
        yield
        rt.ready = False
        await rt.batcher.stop()
        flusher.cancel()
        rt.metrics.flush()
        rt.predlog.close()

    scoring = Starlette(routes=routes.scoring(rt), lifespan=lifespan)
    by_port = {admin_port: Starlette(routes=routes.admin(rt))}
    if public_port is not None:
        by_port[public_port] = Starlette(routes=routes.scoring(rt, with_scores=settings.public_answer == "score"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        target = by_port.get(server[1], scoring) if server is not None else scoring
        await target(scope, receive, send)

    return app, rt
