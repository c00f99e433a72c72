"""Adaptive micro-batching: concurrent requests share one estimator call, each gets its own rows back.

A batch starts with the oldest waiting request and takes whatever else is already queued; while
new requests keep arriving it yields to the event loop to let them join, for at most `max_wait` and
up to `max_batch_rows`. With one client this adds no wait at all; under load batches grow by
themselves, which is what makes scikit-learn's fixed per-call cost affordable. The queue is bounded
in rows: past it `submit` raises `OverloadedError` at once (the server answers 503) instead of letting
latency grow without bound.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rollgate.serve.validation import Columns


class OverloadedError(Exception):
    """The queue is full: the caller should retry later."""


@dataclass
class _Item:
    columns: Columns
    rows: int
    future: asyncio.Future[np.ndarray]


def _concat(items: list[_Item]) -> Columns:
    if len(items) == 1:
        return items[0].columns
    return {name: list(itertools.chain.from_iterable(i.columns[name] for i in items)) for name in items[0].columns}


class MicroBatcher:
    """Collects submitted rows into batches and runs `predict` once per batch, on the event loop."""

    def __init__(
        self,
        predict: Callable[[Columns], np.ndarray],
        max_batch_rows: int,
        max_wait_s: float,
        max_queue_rows: int,
        on_batch: Callable[[int, np.ndarray], None] = lambda rows, scores: None,
    ) -> None:
        self.predict, self.on_batch = predict, on_batch
        self.max_batch_rows, self.max_wait_s, self.max_queue_rows = max_batch_rows, max_wait_s, max_queue_rows
        self.queued_rows = 0
        self._queue: collections.deque[_Item] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rollgate-batcher")

    async def stop(self) -> None:
        """Finish every queued request, then stop."""
        while self._queue:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()

    async def submit(self, columns: Columns, rows: int) -> np.ndarray:
        """Scores for `rows` rows; raises OverloadedError when the queue cannot take them."""
        if self.queued_rows + rows > self.max_queue_rows:
            raise OverloadedError
        item = _Item(columns, rows, asyncio.get_running_loop().create_future())
        self._queue.append(item)
        self.queued_rows += rows
        self._wake.set()
        return await item.future

    async def _collect(self) -> list[_Item]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        batch, rows = [self._queue.popleft()], 0
        rows = batch[0].rows
        while True:
            while self._queue and rows + self._queue[0].rows <= self.max_batch_rows:
                item = self._queue.popleft()
                batch.append(item)
                rows += item.rows
            if self._queue or rows >= self.max_batch_rows or loop.time() >= deadline:
                return batch
            before = len(batch)
            await asyncio.sleep(0)  # let requests that have already arrived reach submit()
            if not self._queue and len(batch) == before:
                return batch  # nothing new came in: waiting longer would only add latency

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = await self._collect()
            rows = sum(i.rows for i in batch)
            self.queued_rows -= rows
            try:
                scores = self.predict(_concat(batch))
            except Exception as exc:  # the estimator failed: every caller of this batch gets the error
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            self.on_batch(rows, scores)
            start = 0
            for item in batch:
                if not item.future.done():  # the caller may have gone away
                    item.future.set_result(scores[start : start + item.rows])
                start += item.rows
