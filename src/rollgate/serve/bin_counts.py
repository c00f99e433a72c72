"""Every scored row counted into the baseline's bins of each feature (`rollgate_feature_bin_total`),
and the reference share of each bin exported beside it (`rollgate_feature_reference_share`).

Counting one row into a dozen Prometheus counters would cost more than scoring it, so rows are counted
into plain per-bin integers as batches are scored, and the integers are added to the counters at most
once a second (and when the server stops): a scrape sees a count at most a second late. Bins and
the value-to-bin rule are the release record's (`rollgate.contracts.bins`), the same as the monitor's.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from typing import Any

import numpy as np

from rollgate.contracts.bins import MISSING, FeatureBins, ServedBaseline
from rollgate.serve.validation import Columns

FLUSH_EVERY_S = 1.0
_VECTOR_ROWS = 32  # from this many rows on, a column is binned with numpy rather than value by value


def _codes(bins: FeatureBins, values: list[Any]) -> np.ndarray:
    if bins.kind == "numeric":
        numbers = np.asarray(values, dtype=np.float64)  # None becomes NaN
        codes = np.searchsorted(np.asarray(bins.edges), numbers, side="right")
        codes[np.isnan(numbers)] = len(bins.edges) + 1
        return codes
    return np.fromiter((bins.code(v) for v in values), dtype=np.int64, count=len(values))


# One feature's bins laid out for counting a value in a few bytecodes: (name, numeric, inner edges,
# category -> bin, the bin of a missing value, the bin of an unseen category).
_Plan = tuple[str, bool, list[float], dict[str, int], int, int]


def _plan(bins: FeatureBins) -> _Plan:
    if bins.kind == "numeric":
        return (bins.name, True, list(bins.edges), {}, len(bins.edges) + 1, -1)
    index = {c: i for i, c in enumerate(bins.categories)}
    unseen = len(bins.categories)
    return (bins.name, False, [], index, index.get(MISSING, unseen), unseen)


class BinCounts:
    """Per-bin row counts of one process, added to its counters at most every `FLUSH_EVERY_S`.

    Called from the server's event loop only (batches are delivered there, and the flush timer runs
    there), so the counts need no lock."""

    def __init__(self, baseline: ServedBaseline, counter: Any, share: Any) -> None:
        self.features = baseline.features
        self._plans = [_plan(f) for f in self.features]
        self._children = [[counter.labels(feature=f.name, bin=b) for b in f.labels] for f in self.features]
        self._pending = [[0] * len(f.labels) for f in self.features]
        self._flushed = time.monotonic()
        for f in self.features:
            for label, value in zip(f.labels, f.shares, strict=True):
                share.labels(feature=f.name, bin=label).set(value)

    def count(self, columns: Columns, rows: int) -> None:
        """Count a scored batch's rows (validated columns: finite numbers, categories as strings, None where
        a value is missing)."""
        if rows >= _VECTOR_ROWS:
            for bins, pending in zip(self.features, self._pending, strict=True):
                for code, n in enumerate(
                    np.bincount(_codes(bins, columns[bins.name]), minlength=len(pending)).tolist()
                ):
                    pending[code] += n
        else:
            for (name, numeric, edges, index, missing, unseen), pending in zip(self._plans, self._pending, strict=True):
                if numeric:
                    for v in columns[name]:
                        pending[missing if v is None else bisect_right(edges, v)] += 1
                else:
                    for v in columns[name]:
                        pending[missing if v is None else index.get(v, unseen)] += 1
        if time.monotonic() - self._flushed >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Add the counts so far to the counters."""
        pending, self._pending = self._pending, [[0] * len(f.labels) for f in self.features]
        self._flushed = time.monotonic()
        for children, counts in zip(self._children, pending, strict=True):
            for child, n in zip(children, counts, strict=True):
                if n:
                    child.inc(n)
