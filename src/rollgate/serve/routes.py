"""The endpoints of both ports: a scoring request from body to scores, and the admin answers.

A scoring request is read (within the body deadline and the in-flight byte budget), parsed and
validated on the event loop, scored by the micro-batcher together with whatever else is waiting, and
answered within the request deadline; every answer, refusals included, is counted in the metrics,
and a client that left before its answer is counted as 499 and logged in one line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rollgate.serve import formats, openapi
from rollgate.serve.batching import OverloadedError, ScoringError
from rollgate.serve.http import CLIENT_CLOSED, ClientError, ClientGoneError, JSONResponse, json_body, request_id, shed

if TYPE_CHECKING:
    from rollgate.serve.app import Runtime

MAX_ERRORS_SHOWN = 100  # a 2,000-row request with every field wrong must not get a 20 MB answer
MAX_IGNORED_SHOWN = 20  # unknown field names echoed in a 200 answer
SCORING_ROUTES = frozenset({"/v1/predict", "/invocations"})
Answer = Callable[["Scored", str], Any]


@dataclass(frozen=True)
class Scored:
    scores: list[float]
    labels: list[int]
    ignored: dict[str, int]  # unknown field names, at most MAX_IGNORED_SHOWN
    ids: list[Any] | None  # each row's pass-through id (None where it sent none); None: no row did


async def _score(rt: Runtime, rows: list[Any], rid: str) -> Scored:
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
        raise shed("overloaded") from None
    except ScoringError as exc:
        if rt.batcher.failure is not None:
            raise shed("the server is stopping") from None
        raise ClientError(500, str(exc)) from None
    labels = (scores >= rt.served.threshold).astype(int).tolist()
    rt.predlog.offer(rid, checked, rows, scores, labels)
    ignored = dict(checked.ignored.most_common(MAX_IGNORED_SHOWN)) if checked.ignored else {}
    return Scored(scores.tolist(), labels, ignored, checked.ids)


def _closed(request: Request) -> bool:
    transport = request.scope.get("rollgate.transport")  # set by rollgate.serve.protocol
    return transport is not None and transport.is_closing()


def _scoring(rt: Runtime, route: str, answer: Answer) -> Callable[[Request], Any]:
    parse = formats.predict_rows if route == "/v1/predict" else formats.invocation_rows
    limits = rt.settings.limits

    async def endpoint(request: Request) -> Response:
        start, rid = time.perf_counter(), request_id(request)
        try:
            async with asyncio.timeout(limits.request_timeout_s):
                body = await json_body(request, limits.max_body_bytes, rt.budget, limits.body_timeout_s)
                try:
                    rows = parse(body)
                except formats.BadRequestError as exc:
                    raise ClientError(400, str(exc)) from None
                scored = await _score(rt, rows, rid)
                response: Response = JSONResponse(answer(scored, rid), headers={"x-request-id": rid})
        except ClientError as exc:
            response = exc.response(rid)
        except TimeoutError:
            response = shed(f"no answer within the {limits.request_timeout_s:g}s deadline").response(rid)
        except ClientGoneError:
            response = Response(status_code=CLIENT_CLOSED)
        elapsed = time.perf_counter() - start
        if response.status_code == CLIENT_CLOSED or _closed(request):
            rt.gone(route, rid, elapsed)
            rt.metrics.request(route, CLIENT_CLOSED, elapsed)
            return response
        rt.metrics.request(route, response.status_code, elapsed)
        return response

    return endpoint


def _simple(rt: Runtime, route: str, make: Callable[[], Response]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        response = make()
        rt.metrics.request(route, response.status_code, time.perf_counter() - start)
        return response

    return endpoint


def _probes(rt: Runtime) -> list[Route]:
    def readyz() -> Response:
        ok = rt.is_ready()
        return JSONResponse({"ready": ok, "draining": rt.draining}, status_code=200 if ok else 503)

    return [
        Route("/healthz", _simple(rt, "/healthz", lambda: JSONResponse({"status": "ok"})), methods=["GET"]),
        Route("/readyz", _simple(rt, "/readyz", readyz), methods=["GET"]),
    ]


def scoring(rt: Runtime) -> list[Route]:
    """The scoring port: scoring and the probes, nothing else."""
    model = {"name": rt.served.name, "sha256": rt.served.sha256}

    def predict_answer(scored: Scored, rid: str) -> Any:
        preds = [{"score": s, "label": lab} for s, lab in zip(scored.scores, scored.labels, strict=True)]
        if scored.ids is not None:  # each row's id echoed beside its prediction, for the client's join
            for pred, row_id in zip(preds, scored.ids, strict=True):
                if row_id is not None:
                    pred["id"] = row_id
        out = {"predictions": preds, "model": model, "threshold": rt.served.threshold, "request_id": rid}
        return {**out, "ignored_fields": scored.ignored} if scored.ignored else out

    def invocations_answer(scored: Scored, rid: str) -> Any:
        # MLflow's sklearn flavor answers class labels under "predictions"; the scores come alongside.
        out = {"predictions": scored.labels, "scores": scored.scores}
        return out if scored.ids is None else {**out, "ids": scored.ids}

    return [
        Route("/v1/predict", _scoring(rt, "/v1/predict", predict_answer), methods=["POST"]),
        Route("/invocations", _scoring(rt, "/invocations", invocations_answer), methods=["POST"]),
        *_probes(rt),
    ]


def admin(rt: Runtime) -> list[Route]:
    """The admin port: metrics, the model's record, the OpenAPI document and the probes."""
    doc = openapi.document(rt.served.features, rt.served.name, rt.settings.limits.max_rows)

    def metrics() -> Response:
        return PlainTextResponse(rt.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    def model() -> Response:
        return JSONResponse({**rt.served.record, **rt.info})

    return [
        Route("/metrics", _simple(rt, "/metrics", metrics), methods=["GET"]),
        Route("/v1/model", _simple(rt, "/v1/model", model), methods=["GET"]),
        Route("/openapi.json", _simple(rt, "/openapi.json", lambda: JSONResponse(doc)), methods=["GET"]),
        *_probes(rt),
    ]
