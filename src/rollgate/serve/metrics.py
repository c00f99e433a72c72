"""The contract's Prometheus metrics, correct across worker processes.

Names, kinds, labels and score buckets come from `rollgate.contracts.metrics` (never re-declared).
With several workers, prometheus_client's multiprocess mode keeps each process's values in files
under `PROMETHEUS_MULTIPROC_DIR` and `/metrics` sums them, so any worker answers for the whole pod.
A private registry keeps the export to exactly the contract's metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from rollgate.contracts import metrics as contract
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.errors import RollgateError
from rollgate.serve.bin_counts import BinCounts
from rollgate.serve.validation import Columns

# Latency buckets for a server whose goal is a p99 under 15 ms, with room to see it miss.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client's value files: counter_<pid>.db, gauge_<mode>_<pid>.db, histogram_<pid>.db, ...
_VALUE_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(default: str | None = None) -> str | None:
    """Create the directory the workers write metric values into and clear files of dead processes.

    It is `PROMETHEUS_MULTIPROC_DIR` when set (a pod sets it on an emptyDir, which outlives a crashed
    container, so its files are stale), else `default` (then exported for the workers), else none.
    Call before any metric exists in this process or its workers.
    """
    path = multiprocess_dir() or default
    if path is None:
        return None
    folder = Path(path)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for pattern in _VALUE_FILES:
            for stale in folder.glob(pattern):
                stale.unlink()
    except OSError as exc:
        raise RollgateError(f"{MULTIPROC_ENV}={path}: cannot prepare the metrics directory ({exc})") from exc
    os.environ[MULTIPROC_ENV] = path
    return path


class ServerMetrics:
    """One object per process holding every metric of the contract."""

    def __init__(self, name: str, sha256: str, baseline: ServedBaseline | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(_n(contract.REQUESTS), contract.REQUESTS.help, contract.REQUESTS.labels, registry=reg)
        self.duration = Histogram(
            _n(contract.REQUEST_DURATION),
            contract.REQUEST_DURATION.help,
            contract.REQUEST_DURATION.labels,
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.batch_rows = Histogram(
            _n(contract.BATCH_ROWS), contract.BATCH_ROWS.help, buckets=ROWS_BUCKETS, registry=reg
        )
        self.score = Histogram(
            _n(contract.PREDICTION_SCORE),
            contract.PREDICTION_SCORE.help,
            buckets=contract.SCORE_BUCKETS,
            registry=reg,
        )
        self.predictions = Counter(
            _n(contract.PREDICTIONS), contract.PREDICTIONS.help, contract.PREDICTIONS.labels, registry=reg
        )
        self.rejected = Counter(
            _n(contract.INPUT_REJECTED), contract.INPUT_REJECTED.help, contract.INPUT_REJECTED.labels, registry=reg
        )
        # "max" across workers: every worker serves the same model, so the pod reports one series.
        self.model_info = Gauge(
            contract.MODEL_INFO.name,
            contract.MODEL_INFO.help,
            contract.MODEL_INFO.labels,
            registry=reg,
            multiprocess_mode="max",
        )
        self.model_info.labels(sha256=sha256, name=name).set(1)
        self.auth_requests = Counter(
            _n(contract.AUTH_REQUESTS), contract.AUTH_REQUESTS.help, contract.AUTH_REQUESTS.labels, registry=reg
        )
        # Only with the release record's baseline: every scored row counted into its bins (see bin_counts).
        self.bins: BinCounts | None = None
        if baseline is not None:
            binned = contract.FEATURE_BIN
            counter = Counter(_n(binned), binned.help, binned.labels, registry=reg)
            share = Gauge(
                contract.FEATURE_REFERENCE_SHARE.name,
                contract.FEATURE_REFERENCE_SHARE.help,
                contract.FEATURE_REFERENCE_SHARE.labels,
                registry=reg,
                multiprocess_mode="max",
            )
            self.bins = BinCounts(baseline, counter, share)
        self._labels: dict[tuple[str, ...], Any] = {}
        self._auth_labels: dict[tuple[str, str], Any] = {}
        # Series exist from the start at 0, so rates and ratios are defined before the first event.
        for label in ("0", "1"):
            self.predictions.labels(label=label)

    def request(self, route: str, code: int, seconds: float) -> None:
        key = (route, str(code))
        child = self._labels.get(key)
        if child is None:
            child = self._labels[key] = self.requests.labels(route=route, code=str(code))
        child.inc()
        self.duration.labels(route=route).observe(seconds)

    def auth(self, key: str, outcome: str) -> None:
        """One API key check: `key` is the key's id (or "none", "unknown"), never the key."""
        child = self._auth_labels.get((key, outcome))
        if child is None:
            child = self._auth_labels[key, outcome] = self.auth_requests.labels(key=key, outcome=outcome)
        child.inc()

    def batch(self, columns: Columns, rows: int, scores: np.ndarray, threshold: float) -> None:
        self.batch_rows.observe(rows)
        if self.bins is not None:
            self.bins.count(columns, rows)
        observe_many(self.score, scores)
        positives = int(np.count_nonzero(scores >= threshold))
        if positives:
            self.predictions.labels(label="1").inc(positives)
        if rows - positives:
            self.predictions.labels(label="0").inc(rows - positives)

    def reject(self, reason: str, rows: int) -> None:
        self.rejected.labels(reason=reason).inc(rows)

    def flush(self) -> None:
        """What is counted but not yet in the counters, added now (a scrape, a timer, shutting down)."""
        if self.bins is not None:
            self.bins.flush()

    def exposition(self) -> bytes:
        self.flush()
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def observe_many(histogram: Histogram, values: np.ndarray) -> None:
    """Observe many values at once: what `observe` does per value, as one bucket count per bucket.

    prometheus_client has no bulk observe, and 1,000 single observes cost more than the trees do for
    1,000 rows. This relies on its internal per-bucket values (`_upper_bounds`, `_buckets`, `_sum`);
    `tests/serve/test_units.py` checks it against `observe` so a library change cannot go unnoticed.
    """
    if not len(values):
        return
    bounds = np.asarray(histogram._upper_bounds, dtype=np.float64)
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    histogram._sum.inc(float(np.sum(values)))
    for index in np.flatnonzero(counts):
        histogram._buckets[index].inc(int(counts[index]))


def _n(metric: contract.Metric) -> str:
    # prometheus_client appends "_total" to counters itself; the contract names the exported series.
    return metric.name.removesuffix("_total")
