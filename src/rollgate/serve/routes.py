"""The endpoints of both ports: a scoring request from body to scores, and the admin answers.

A scoring request is read (within the body deadline and the in-flight byte budget), parsed and
validated on the event loop, scored by the micro-batcher together with whatever else is waiting, and
answered within the request deadline; every answer, refusals included, is counted in the metrics,
and a client that left before its answer is counted as 499 and logged in one line. With `--auth keys`
every path but the probes checks the request's API key first, before reading a byte of its body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rollgate.serve import formats, openapi
from rollgate.serve.answers import Answer, Scored, answers
from rollgate.serve.batching import OverloadedError, ScoringError
from rollgate.serve.http import CLIENT_CLOSED, ClientError, ClientGoneError, JSONResponse, json_body, request_id, shed

if TYPE_CHECKING:
    from rollgate.serve.app import Runtime

MAX_ERRORS_SHOWN = 100  # a 2,000-row request with every field wrong must not get a 20 MB answer
MAX_IGNORED_SHOWN = 20  # unknown field names echoed in a 200 answer
SCORING_ROUTES = frozenset({"/v1/predict", "/invocations"})


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
            if rt.guard is not None:
                rt.guard.check(request.scope["headers"], route)
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


def _simple(rt: Runtime, route: str, make: Callable[[], Response], guarded: bool = True) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        try:
            if guarded and rt.guard is not None:
                rt.guard.check(request.scope["headers"], route)
            response = make()
        except ClientError as exc:
            response = exc.response(request_id(request))
        rt.metrics.request(route, response.status_code, time.perf_counter() - start)
        return response

    return endpoint


def _probes(rt: Runtime) -> list[Route]:
    def readyz() -> Response:
        ok = rt.is_ready()
        return JSONResponse({"ready": ok, "draining": rt.draining}, status_code=200 if ok else 503)

    return [
        # Never guarded: the kubelet probes without a key.
        Route("/healthz", _simple(rt, "/healthz", lambda: JSONResponse({"status": "ok"}), False), methods=["GET"]),
        Route("/readyz", _simple(rt, "/readyz", readyz, False), methods=["GET"]),
    ]


def scoring(rt: Runtime, with_scores: bool = True) -> list[Route]:
    """A scoring port: scoring and the probes, nothing else; `with_scores=False` answers labels only."""
    answer = answers(rt.served, with_scores)
    return [
        Route("/v1/predict", _scoring(rt, "/v1/predict", answer["/v1/predict"]), methods=["POST"]),
        Route("/invocations", _scoring(rt, "/invocations", answer["/invocations"]), methods=["POST"]),
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
