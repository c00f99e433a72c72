"""The prediction log: sampled, bounded, written by a background thread, never in a request's way.

A request only decides whether it is sampled and drops a reference into a bounded queue (dropped,
and counted, when full). The writer thread turns it into one JSON line per row: when, the request id,
the row's pass-through id, the model digest, the sampled share, the inputs after the field policy
(`rollgate.serve.logpolicy`), the score and the label. Lines go to stdout or to files created 0600,
bounded and rotated (`rollgate.serve.logfiles`). A write error disables the log with one message; it
never fails a request.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from rollgate.contracts.features import FeatureContract
from rollgate.serve import logfiles
from rollgate.serve.logpolicy import FieldPolicy
from rollgate.serve.validation import Checked

log = logging.getLogger("rollgate.serve")
MIB = 1024 * 1024


@dataclass(frozen=True)
class LogTarget:
    """Where the log goes and how much of it is kept."""

    sink: str | None  # "-" for stdout, a file path, or None for off
    sample: float  # the share of requests logged
    max_bytes: int = 64 * MIB  # per file
    files: int = 3  # files kept, the current one included


class PredictionLog:
    """`offer` is cheap and never raises; `close` flushes what is queued."""

    def __init__(
        self,
        target: LogTarget,
        sha256: str,
        contract: FeatureContract,
        policy: FieldPolicy | None = None,
        capacity: int = 1_000,
    ) -> None:
        self.target, self.sha256, self.policy = target, sha256, policy or FieldPolicy()
        self.dropped = 0  # entries the full queue refused, and lines longer than a whole file
        self._known = frozenset([*contract.names, *([contract.id_field] if contract.id_field else [])])
        self._hash_id = contract.id_field is not None and contract.id_field in self.policy.hash
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._random = random.Random()

    @property
    def enabled(self) -> bool:
        return self.target.sink is not None and self.target.sample > 0

    def start(self) -> None:
        if self.enabled:
            self._thread = threading.Thread(target=self._write_all, name="rollgate-prediction-log", daemon=True)
            self._thread.start()

    def offer(self, request_id: str, checked: Checked, rows: list[Any], scores: np.ndarray, labels: list[int]) -> None:
        """Queue a scored request (`rows` as the client sent them) if it is sampled."""
        if self._thread is None or self._random.random() >= self.target.sample:
            return
        try:
            self._queue.put_nowait((time.time(), request_id, checked, rows, scores, labels))
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

    def _write_all(self) -> None:
        target = self.target
        try:
            out = logfiles.open_sink(str(target.sink), target.max_bytes, target.files)
        except OSError as exc:
            log.error("prediction log disabled: cannot open %s (%s)", target.sink, exc)
            self._thread = None
            return
        try:
            while (entry := self._queue.get()) is not None:
                for line in self.lines(*entry):
                    if not out.write(line):
                        self.dropped += 1
                if self._queue.empty():
                    out.flush()
        except (OSError, ValueError) as exc:
            log.error("prediction log disabled: cannot write to %s (%s)", target.sink, exc)
            self._thread = None
        finally:
            out.close()

    def _extras(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Each row's fields beyond the contract (not the id), as the policy lets the log hold them."""
        known, apply = self._known, self.policy.apply
        return [apply({k: v for k, v in row.items() if k not in known}) for row in rows]

    def lines(  # noqa: PLR0917 (one queued entry)
        self, at: float, request_id: str, checked: Checked, rows: list[Any], scores: np.ndarray, labels: list[int]
    ) -> list[bytes]:
        """The log's lines for one scored request (the one line format: `rollgate data predictions` and the
        monitor's tests write through it too)."""
        columns, ids = checked.columns, checked.ids
        extras = self._extras(rows) if checked.ignored else None
        base = {"ts": at, "request_id": request_id, "sha256": self.sha256, "sample": self.target.sample}
        lines = []
        for i, (score, label) in enumerate(zip(scores.tolist(), labels, strict=True)):
            inputs = {name: values[i] for name, values in columns.items()}
            if extras is not None:
                inputs.update(extras[i])
            row_id = ids[i] if ids is not None else None
            if self._hash_id:
                row_id = self.policy.digest(row_id)
            record = {**base, "row": i, "id": row_id, "inputs": inputs, "score": score, "label": label}
            lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        return lines
