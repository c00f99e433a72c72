"""uvicorn's httptools protocol with the limits it lacks: head size and count, head deadline, connections.

uvicorn 0.54 with httptools has no option for any of these, so a client could send an 8 MB header,
drip a request one byte at a time or hold a thousand idle connections open. This subclass adds:

- the request head (request line and headers) capped in bytes and header count: 431, then close;
- a deadline for the head, armed when a connection opens and when a new request's first byte
  arrives: 408, then close (an idle new connection that sent nothing is just closed);
- a cap on open connections per process: 503 with Retry-After, then close, before reading a byte;
- reading resumed once a body is complete, so a client that leaves before its answer is seen leaving.

The body's deadline, the bytes buffered across requests and the per-request deadline are enforced
by the application (`rollgate.serve.http`), where the route is known. This module relies on
uvicorn's internal protocol attributes and is pinned to one uvicorn minor version
(`pyproject.toml`); `tests/serve/test_hostile.py` checks each limit against a real server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from rollgate.serve.settings import Limits

# A header still incomplete after this many raw bytes is refused before httptools buffers more of it
# (it only hands a header over once complete). One socket read is at most 256 KiB.
_RAW_HEAD_SLACK = 256 * 1024
OnRefused = Callable[[str, int, float], None]  # (route, status, seconds since the request began)


class _HeadRefusedError(Exception):
    """Raised inside a parser callback to stop parsing (the protocol keeps the status and message)."""


def refusal(status: int, message: str, retry_after: bool = False) -> bytes:
    """A complete `Connection: close` answer, written straight to the transport."""
    body = message.encode()
    head = [STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n"]
    if retry_after:
        head.append(b"retry-after: 1\r\n")
    head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
    return b"".join(head) + body


def protocol_class(limits: Limits, routes: frozenset[str], on_refused: OnRefused) -> type[HttpToolsProtocol]:
    """The protocol class uvicorn is given (`uvicorn.Config(http=...)`), bound to these limits."""
    bound = {"limits": limits, "routes": routes, "on_refused": staticmethod(on_refused)}  # not a method of the class
    return type("GuardedProtocol", (GuardedProtocol,), bound)


class GuardedProtocol(HttpToolsProtocol):
    limits: Limits
    routes: frozenset[str]
    on_refused: OnRefused

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = 0.0
        self._head_bytes = self._raw_head = self._header_count = 0
        self._in_head = True
        self._refusal: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_started = time.perf_counter()
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "too many connections: retry later", retry_after=True)
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.parser is None or self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._raw_head += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # as uvicorn without websockets: the request is answered, the upgrade ignored
        except httptools.HttpParserError:
            self._refuse(*(self._refusal or (400, "malformed HTTP request")))
            return
        if self._in_head and self._raw_head > self.limits.max_header_bytes + _RAW_HEAD_SLACK:
            self._refuse(431, f"request head over {self.limits.max_header_bytes} bytes")

    # Parser callbacks, on top of uvicorn's.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._refusal = True, None
        self._head_bytes = self._header_count = 0
        self._arm_head_timer()  # no-op for a connection's first request: its timer runs since connect

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._stop(431, f"more than {self.limits.max_headers} header lines")
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._raw_head = 0
        self._cancel_head_timer()
        # The app checks it before answering: a client gone by then is counted (499), not answered.
        self.scope["rollgate.transport"] = self.transport  # type: ignore[typeddict-unknown-key]
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # uvicorn pauses reading while a body waits for the app and resumes it only when the app asks for
        # more; the last chunk's pause would last until the answer, hiding a client that left meanwhile
        # (its EOF is never read). Reading on sees it, so the answer is counted 499; a pipelined request
        # arriving meanwhile is queued by uvicorn, which pauses reading again.
        self.flow.resume_reading()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            self._stop(431, f"request head over {self.limits.max_header_bytes} bytes")

    def _stop(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _HeadRefusedError(message)  # httptools turns it into HttpParserCallbackError in data_received

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_started = time.perf_counter()
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._raw_head == 0 and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # an idle connection: nothing to answer
            return
        self._refuse(408, f"request head not received within {self.limits.header_timeout_s:g}s")

    def _refuse(self, status: int, message: str, retry_after: bool = False) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        path = self.scope.get("path") if self.scope else None
        route = path if path in self.routes else "other"
        self.on_refused(route, status, time.perf_counter() - self._head_started)
        self.transport.write(refusal(status, message, retry_after))
        self.transport.close()
