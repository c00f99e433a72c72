"""Reading a request body safely and answering client mistakes with the right 4xx, never a 5xx."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CLIENT_CLOSED = 499  # nginx's code for "the client went away before the answer": counted, never sent


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ClientError(Exception):
    """A request the server refuses; `response()` says why, as JSON."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, Any]] | None = None, *, close: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
        self.headers: dict[str, str] = {"connection": "close"} if close else {}

    def response(self, request_id: str) -> Response:
        body: dict[str, Any] = {"error": self.message, "request_id": request_id}
        if self.errors is not None:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, headers={**self.headers, "x-request-id": request_id})


def shed(message: str, *, close: bool = False) -> ClientError:
    """Load shedding, answered the same way whatever the cause: 503 with Retry-After."""
    error = ClientError(503, f"{message}: retry later", close=close)
    error.headers["retry-after"] = "1"
    return error


class ClientGoneError(Exception):
    """The client disconnected before its request was read or answered."""


class ByteBudget:
    """Request bytes buffered across every request in flight in this process, bounded."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used -= size


def request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is sane (so logs join up across services), else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


async def json_body(request: Request, max_bytes: int, budget: ByteBudget, timeout_s: float) -> Any:
    """The parsed JSON body: 415 unless JSON, 413 over `max_bytes` (checked before reading it all), 400 if
    malformed, 408 unless it arrives within `timeout_s`, 503 when the bytes in flight would pass `budget`."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ClientError(415, f"content type must be application/json (got {content_type[:64] or 'none'})")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise ClientError(413, f"body over the limit of {max_bytes} bytes", close=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientGoneError
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise ClientError(413, f"body over the limit of {max_bytes} bytes", close=True)
                if not budget.take(len(chunk)):
                    size -= len(chunk)
                    raise shed("too many request bytes in flight", close=True)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return orjson.loads(b"".join(chunks))
    except TimeoutError:
        raise ClientError(408, f"request body not received within {timeout_s:g}s", close=True) from None
    except orjson.JSONDecodeError as exc:
        raise ClientError(400, f"malformed JSON: {str(exc)[:200]}") from None
    finally:
        budget.give(size)
