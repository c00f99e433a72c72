"""The API key file on disk: read once at start (any problem refuses to start), then followed while serving.

Rotating a key is a file change (a mounted Secret is swapped atomically), not a restart. The file's
identity (inode, size, mtime) is looked at no more than once a second, from the request path: one
clock read per request and one `stat` per second, so following it costs no throughput. A change that
does not parse keeps the last good keys and is logged once; it never opens the server.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from rollgate.contracts.errors import RollgateError
from rollgate.serve import auth

log = logging.getLogger("rollgate.serve")
CHECK_EVERY_S = 1.0
Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


def _signature(st: os.stat_result) -> Signature:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _read(path: str) -> tuple[auth.KeyRing, Signature]:
    """The keys in `path` and the identity of the very file read (fstat: a swap after open is seen next time)."""
    try:
        with Path(path).open(encoding="utf-8") as f:
            signature = _signature(os.fstat(f.fileno()))
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise RollgateError(f"{path}: {_unreadable(exc)}") from None
    return auth.parse(text, path), signature


def _unreadable(exc: OSError | UnicodeDecodeError) -> str:
    reason = exc.strerror if isinstance(exc, OSError) else exc.reason
    return f"cannot read the API key file ({type(exc).__name__}: {reason})"


def read(path: str) -> auth.KeyRing:
    """The keys in `path`; a missing, unreadable or invalid file raises a RollgateError naming it."""
    return _read(path)[0]


class WatchedKeys:
    """The last good keys of one file, re-read when the file changes."""

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path, self._clock = path, clock
        self.ring, seen = _read(path)
        self._seen: Signature | None = seen
        self._next_check = clock() + CHECK_EVERY_S

    def current(self) -> auth.KeyRing:
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + CHECK_EVERY_S
            self._follow()
        return self.ring

    def _follow(self) -> None:
        try:
            seen = _signature(Path(self.path).stat())
        except OSError as exc:
            self._failed(None, _unreadable(exc))
            return
        if seen == self._seen:
            return
        try:
            ring, seen = _read(self.path)
        except RollgateError as exc:
            self._failed(seen, str(exc).removeprefix(f"{self.path}: "))
            return
        self.ring, self._seen = ring, seen
        log.info("%s: reloaded %d API keys (%s)", self.path, len(ring.keys), ", ".join(k.id for k in ring.keys))

    def _failed(self, seen: Signature | None, problem: str) -> None:
        # One line per broken state of the file, not one a second while it stays broken.
        if seen != self._seen:
            self._seen = seen
            log.error("%s: %s; keeping the last good %d keys", self.path, problem, len(self.ring.keys))
