"""The prediction log: sampled, bounded, written by a background thread, never in a request's way.

A request only decides whether it is sampled and drops a reference into a bounded queue (dropped,
and counted, when full). The writer thread turns it into JSON lines — inputs, score, label, request
id, model digest — on stdout or in a file (a mounted writable volume: the root filesystem is
read-only). A write error disables the log with one message; it never fails a request.
"""

from __future__ import annotations

import logging
import queue
import random
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from rollgate.serve.validation import Columns

log = logging.getLogger("rollgate.serve")


class PredictionLog:
    """`offer` is cheap and never raises; `close` flushes what is queued."""

    def __init__(self, sink: str | None, sample: float, sha256: str, capacity: int = 1_000) -> None:
        self.sink, self.sample, self.sha256 = sink, sample, sha256
        self.dropped = 0
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._random = random.Random()

    @property
    def enabled(self) -> bool:
        return self.sink is not None and self.sample > 0

    def start(self) -> None:
        if self.enabled:
            self._thread = threading.Thread(target=self._write_all, name="rollgate-prediction-log", daemon=True)
            self._thread.start()

    def offer(self, request_id: str, columns: Columns, scores: np.ndarray, labels: list[int]) -> None:
        if self._thread is None or self._random.random() >= self.sample:
            return
        try:
            self._queue.put_nowait((time.time(), request_id, columns, scores, labels))
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 2.0) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)  # the writer stops at None
        except queue.Full:
            return
        self._thread.join(timeout)

    def _open(self) -> IO[bytes]:
        if self.sink == "-":
            return sys.stdout.buffer
        return Path(str(self.sink)).open("ab", buffering=64 * 1024)  # held open by the writer thread

    def _write_all(self) -> None:
        try:
            out = self._open()
        except OSError as exc:
            log.error("prediction log disabled: cannot open %s (%s)", self.sink, exc)
            self._thread = None
            return
        try:
            while (entry := self._queue.get()) is not None:
                out.write(self._lines(*entry))
                if self._queue.empty():
                    out.flush()
        except (OSError, ValueError) as exc:
            log.error("prediction log disabled: cannot write to %s (%s)", self.sink, exc)
            self._thread = None
        finally:
            if out is not sys.stdout.buffer:
                out.close()

    def _lines(self, at: float, request_id: str, columns: Columns, scores: np.ndarray, labels: list[int]) -> bytes:
        names = list(columns)
        lines = []
        for i, (score, label) in enumerate(zip(scores.tolist(), labels, strict=True)):
            inputs = {name: columns[name][i] for name in names}
            record = {"ts": at, "request_id": request_id, "sha256": self.sha256, "row": i, "inputs": inputs}
            lines.append(orjson.dumps({**record, "score": score, "label": label}))
        return b"\n".join(lines) + b"\n"
