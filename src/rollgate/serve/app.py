"""The ASGI application: routes, the request path from body to scores, start-up and shutdown.

A request is parsed and validated on the event loop, scored by the micro-batcher together with
whatever else is waiting, and answered; every answer, refusals included, is counted in the metrics.
Start-up builds the predictor, warms it and checks its fingerprint before `/readyz` says yes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rollgate.serve import formats, openapi, predictor
from rollgate.serve.batching import MicroBatcher, OverloadedError
from rollgate.serve.http import ClientError, JSONResponse, json_body, request_id
from rollgate.serve.loading import ServedModel
from rollgate.serve.metrics import ServerMetrics
from rollgate.serve.predlog import PredictionLog
from rollgate.serve.settings import ServeSettings
from rollgate.serve.validation import Validator

log = logging.getLogger("rollgate.serve")
MAX_ERRORS_SHOWN = 100  # a 10,000-row request with every field wrong must not get a 20 MB answer


@dataclass
class Runtime:
    settings: ServeSettings
    served: ServedModel
    metrics: ServerMetrics
    validator: Validator
    predlog: PredictionLog
    batcher: MicroBatcher | None = None
    ready: bool = False
    draining: bool = False
    info: dict[str, Any] = field(default_factory=dict)


async def _score(rt: Runtime, rows: list[Any], rid: str) -> tuple[list[float], list[int], dict[str, int]]:
    limits = rt.settings.limits
    if not rows:
        raise ClientError(400, "no rows to score")
    if len(rows) > limits.max_rows:
        raise ClientError(413, f"{len(rows)} rows over the limit of {limits.max_rows} per request")
    checked = rt.validator.check(rows)
    if checked.errors:
        first: dict[int, str] = {}
        for error in checked.errors:
            first.setdefault(error.row, error.reason)
        for reason in set(first.values()):
            rt.metrics.reject(reason, sum(1 for r in first.values() if r == reason))
        shown = [vars(e) for e in checked.errors[:MAX_ERRORS_SHOWN]]
        raise ClientError(422, f"{len(checked.errors)} errors in {len(first)} of {len(rows)} rows", shown)
    assert rt.batcher is not None
    try:
        scores = await rt.batcher.submit(checked.columns, checked.rows)
    except OverloadedError:
        overloaded = ClientError(503, "overloaded: retry later")
        overloaded.headers["retry-after"] = "1"
        raise overloaded from None
    labels = (scores >= rt.served.threshold).astype(int).tolist()
    rt.predlog.offer(rid, checked.columns, scores, labels)
    return scores.tolist(), labels, dict(checked.ignored)


def _scoring(rt: Runtime, route: str, answer: Callable[[list[float], list[int], dict[str, int], str], Any]) -> Any:
    parse = formats.predict_rows if route == "/v1/predict" else formats.invocation_rows

    async def endpoint(request: Request) -> Response:
        start, rid = time.perf_counter(), request_id(request)
        try:
            try:
                rows = parse(await json_body(request, rt.settings.limits.max_body_bytes))
            except formats.BadRequestError as exc:
                raise ClientError(400, str(exc)) from None
            response: Response = JSONResponse(answer(*await _score(rt, rows, rid), rid), headers={"x-request-id": rid})
        except ClientError as exc:
            response = exc.response(rid)
        rt.metrics.request(route, response.status_code, time.perf_counter() - start)
        return response

    return endpoint


def _routes(rt: Runtime) -> list[Route]:
    model = {"name": rt.served.name, "sha256": rt.served.sha256}
    doc = openapi.document(rt.served.features, rt.served.name, rt.settings.limits.max_rows)

    def predict_answer(scores: list[float], labels: list[int], ignored: dict[str, int], rid: str) -> Any:
        preds = [{"score": s, "label": lab} for s, lab in zip(scores, labels, strict=True)]
        out = {"predictions": preds, "model": model, "threshold": rt.served.threshold, "request_id": rid}
        return {**out, "ignored_fields": ignored} if ignored else out

    def invocations_answer(scores: list[float], labels: list[int], ignored: dict[str, int], rid: str) -> Any:
        # MLflow's sklearn flavor answers class labels under "predictions"; the scores come alongside.
        return {"predictions": labels, "scores": scores}

    def simple(route: str, make: Callable[[], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            start = time.perf_counter()
            response = make()
            rt.metrics.request(route, response.status_code, time.perf_counter() - start)
            return response

        return endpoint

    def readyz() -> Response:
        ok = rt.ready and not rt.draining
        return JSONResponse({"ready": ok, "draining": rt.draining}, status_code=200 if ok else 503)

    return [
        Route("/v1/predict", _scoring(rt, "/v1/predict", predict_answer), methods=["POST"]),
        Route("/invocations", _scoring(rt, "/invocations", invocations_answer), methods=["POST"]),
        Route("/healthz", simple("/healthz", lambda: JSONResponse({"status": "ok"})), methods=["GET"]),
        Route("/readyz", simple("/readyz", readyz), methods=["GET"]),
        Route("/metrics", simple("/metrics", lambda: _metrics(rt)), methods=["GET"]),
        Route("/v1/model", simple("/v1/model", lambda: JSONResponse({**rt.served.record, **rt.info})), methods=["GET"]),
        Route("/openapi.json", simple("/openapi.json", lambda: JSONResponse(doc)), methods=["GET"]),
    ]


def _metrics(rt: Runtime) -> Response:
    return PlainTextResponse(rt.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


def _start(rt: Runtime) -> None:
    served, limits = rt.served, rt.settings.limits
    chosen = predictor.build(served.model, served.features)
    if served.fingerprint is not None and served.fingerprint_rows is not None:
        actual = predictor.fingerprint(chosen, served.features, served.fingerprint_rows)
        if actual != served.fingerprint:
            log.warning("prediction fingerprint %s differs from the recorded %s", actual[:12], served.fingerprint[:12])
    rt.batcher = MicroBatcher(
        chosen.scores,
        limits.max_batch_rows,
        limits.max_wait_ms / 1000,
        limits.max_queue_rows,
        lambda rows, scores: rt.metrics.batch(rows, scores, served.threshold),
    )
    rt.info = {"predictor": chosen.kind}
    log.info("ready: %s sha256=%s predictor=%s", served.name, served.sha256, chosen.kind)


def create_app(settings: ServeSettings, served: ServedModel) -> tuple[Starlette, Runtime]:
    rt = Runtime(
        settings,
        served,
        ServerMetrics(served.name, served.sha256),
        Validator(served.features, settings.strict),
        PredictionLog(settings.log, settings.log_sample, served.sha256),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _start(rt)
        assert rt.batcher is not None
        rt.batcher.start()
        rt.predlog.start()
        rt.ready = True
        yield
        rt.ready = False
        await rt.batcher.stop()
        rt.predlog.close()

    return Starlette(routes=_routes(rt), lifespan=lifespan), rt
