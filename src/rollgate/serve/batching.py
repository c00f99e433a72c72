"""Adaptive micro-batching: concurrent requests share one estimator call, each gets its own rows back.

A batch starts with the oldest waiting request and takes whatever else is already queued; while
new requests keep arriving it yields to the event loop to let them join, for at most `max_wait` and
up to `max_batch_rows`. With one client this adds no wait at all; under load batches grow by
themselves, which is what makes scikit-learn's fixed per-call cost affordable. The queue is bounded
in rows: past it `submit` raises `OverloadedError` at once (the server answers 503) instead of letting
latency grow without bound.

Scoring stays off the event loop: a batch larger than `inline_rows` runs in a bounded thread pool
(the estimators release the GIL in their inner loops), so probes and small requests are answered
while a large batch is scored. Only batches so small that they cost less than a thread hand-off run
inline. The batcher is supervised: an exception while scoring or counting a batch fails only that
batch's requests (`ScoringError`, answered 500); if the batcher itself ever stops, `on_fatal` is
called (the server turns unready and exits non-zero) and every waiting request fails at once.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rollgate.serve.validation import Columns

log = logging.getLogger("rollgate.serve")


class OverloadedError(Exception):
    """The queue is full: the caller should retry later."""


class ScoringError(Exception):
    """Scoring this request's batch failed (the estimator, or counting the batch); others are unaffected."""


_Outcome = tuple[np.ndarray | None, Exception | None]  # scores, or what scoring raised


@dataclass
class _Item:
    columns: Columns
    rows: int
    future: asyncio.Future[np.ndarray]


@dataclass(frozen=True)
class BatchLimits:
    max_batch_rows: int
    max_wait_s: float
    max_queue_rows: int
    inline_rows: int
    threads: int


@dataclass(frozen=True)
class _Batch:
    """Requests scored in one estimator call: their rows' columns concatenated."""

    id: int
    items: list[_Item]
    columns: Columns
    rows: int

    @classmethod
    def of(cls, batch_id: int, items: list[_Item]) -> _Batch:
        return cls(batch_id, items, _concat(items), sum(i.rows for i in items))


def _concat(items: list[_Item]) -> Columns:
    if len(items) == 1:
        return items[0].columns
    return {name: list(itertools.chain.from_iterable(i.columns[name] for i in items)) for name in items[0].columns}


class MicroBatcher:
    """Collects submitted rows into batches and scores each batch once, inline or in the thread pool."""

    def __init__(
        self,
        predict: Callable[[Columns], np.ndarray],
        limits: BatchLimits,
        on_batch: Callable[[Columns, int, np.ndarray], None] = lambda columns, rows, scores: None,
        on_fatal: Callable[[BaseException], None] = lambda exc: None,
    ) -> None:
        self.predict, self.on_batch, self.on_fatal, self.limits = predict, on_batch, on_fatal, limits
        self.queued_rows = 0
        self.failure: BaseException | None = None
        self._queue: collections.deque[_Item] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._slots = asyncio.Semaphore(limits.threads)
        self._pool = ThreadPoolExecutor(limits.threads, thread_name_prefix="rollgate-score")
        self._in_flight: dict[int, float] = {}  # batch id -> when it started scoring

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rollgate-batcher")
        self._task.add_done_callback(self._ended)

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def busy_for(self) -> float:
        """Seconds the oldest batch in flight has been scoring (0 when idle): a wedged scorer shows here."""
        return time.monotonic() - min(self._in_flight.values()) if self._in_flight else 0.0

    async def stop(self) -> None:
        """Finish every queued and running batch (unless the batcher died), then stop."""
        while self.alive and (self._queue or self._in_flight):
            await asyncio.sleep(0.005)
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def submit(self, columns: Columns, rows: int) -> np.ndarray:
        """Scores for `rows` rows; raises OverloadedError when the queue cannot take them."""
        if self.failure is not None:
            raise ScoringError("the batcher has stopped")
        if self.queued_rows + rows > self.limits.max_queue_rows:
            raise OverloadedError
        item = _Item(columns, rows, asyncio.get_running_loop().create_future())
        self._queue.append(item)
        self.queued_rows += rows
        self._wake.set()
        return await item.future

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping:
            return
        self.failure = (None if task.cancelled() else task.exception()) or RuntimeError("the batcher stopped")
        log.error("the micro-batcher stopped: %r; failing every waiting request", self.failure)
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(ScoringError("the batcher has stopped"))
        self._queue.clear()
        self.on_fatal(self.failure)

    async def _collect(self) -> list[_Item]:
        loop, lim = asyncio.get_running_loop(), self.limits
        deadline = loop.time() + lim.max_wait_s
        batch: list[_Item] = []
        rows = 0
        while True:
            while self._queue and (not batch or rows + self._queue[0].rows <= lim.max_batch_rows):
                item = self._queue.popleft()
                self.queued_rows -= item.rows
                if item.future.done():  # its caller gave up (deadline, disconnect): do not score it
                    continue
                batch.append(item)
                rows += item.rows
            if not batch or self._queue or rows >= lim.max_batch_rows or loop.time() >= deadline:
                return batch
            before = len(batch)
            await asyncio.sleep(0)  # let requests that have already arrived reach submit()
            if not self._queue and len(batch) == before:
                return batch  # nothing new came in: waiting longer would only add latency

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        for batch_id in itertools.count():
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            items = await self._collect()
            if not items:
                continue
            batch = _Batch.of(batch_id, items)
            self._in_flight[batch_id] = time.monotonic()
            if batch.rows <= self.limits.inline_rows:
                self._deliver(batch, *_attempt(self.predict, batch.columns))
                continue
            await self._slots.acquire()
            items = [i for i in items if not i.future.done()]  # callers that gave up while it waited
            if not items:
                self._slots.release()
                self._in_flight.pop(batch_id, None)
                continue
            batch = _Batch.of(batch_id, items)
            done = loop.run_in_executor(self._pool, _attempt, self.predict, batch.columns)
            done.add_done_callback(functools.partial(self._finished, batch))

    def _finished(self, batch: _Batch, done: asyncio.Future[_Outcome]) -> None:
        self._slots.release()
        if done.cancelled():
            self._deliver(batch, None, ScoringError("scoring was cancelled"))
        else:
            self._deliver(batch, *done.result())

    def _deliver(self, batch: _Batch, scores: np.ndarray | None, error: BaseException | None) -> None:
        self._in_flight.pop(batch.id, None)
        if scores is not None:
            try:
                self.on_batch(batch.columns, batch.rows, scores)
            except Exception as exc:  # counting failed: this batch fails, the next one is unaffected
                scores, error = None, exc
        if scores is None:
            log.error("scoring a batch of %d rows failed: %r", batch.rows, error)
            failure = ScoringError(f"scoring failed: {type(error).__name__}")
            for item in batch.items:
                if not item.future.done():
                    item.future.set_exception(failure)
            return
        start = 0
        for item in batch.items:
            if not item.future.done():  # the caller may have gone away
                item.future.set_result(scores[start : start + item.rows])
            start += item.rows


def _attempt(predict: Callable[[Columns], np.ndarray], columns: Columns) -> _Outcome:
    """Scores, or the exception scoring raised: never raises, so the batcher cannot die of it."""
    try:
        return predict(columns), None
    except Exception as exc:
        return None, exc
