"""Reading a request body safely and answering client mistakes with the right 4xx, never a 5xx."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ClientError(Exception):
    """A request the server refuses; `response()` says why, as JSON."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
        self.headers: dict[str, str] = {}

    def response(self, request_id: str) -> Response:
        body: dict[str, Any] = {"error": self.message, "request_id": request_id}
        if self.errors is not None:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, headers={**self.headers, "x-request-id": request_id})


def request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is sane (so logs join up across services), else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


async def json_body(request: Request, max_bytes: int) -> Any:
    """The parsed JSON body: 415 unless JSON, 413 over `max_bytes` (checked before reading it all), 400 if malformed."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ClientError(415, f"content type must be application/json (got {content_type or 'none'})")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise ClientError(413, f"body over the limit of {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ClientError(413, f"body over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ClientError(400, f"malformed JSON: {exc}") from None
