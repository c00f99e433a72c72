"""Predict latency measured robustly: repeated, warm, the median of the repeats."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pandas as pd


def per_row_seconds(model: Any, rows: pd.DataFrame, repeats: int) -> dict[str, float]:
    """Median seconds per row for a batch of `rows`, and median seconds for a single-row call."""
    single = rows.iloc[:1]
    model.predict_proba(rows)  # warm caches and lazily built structures before timing
    batch, one = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_proba(rows)
        batch.append((time.perf_counter() - start) / len(rows))
        start = time.perf_counter()
        model.predict_proba(single)
        one.append(time.perf_counter() - start)
    return {"batch_seconds_per_row": statistics.median(batch), "single_row_seconds": statistics.median(one)}


def paired_per_row_seconds(
    first: Any, second: Any, rows: pd.DataFrame, second_rows: pd.DataFrame, repeats: int
) -> tuple[float, float]:
    """Median seconds per row of two models on the same rows, timed alternately in one run so that
    machine noise hits both alike."""
    first.predict_proba(rows)
    second.predict_proba(second_rows)
    a, b = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        first.predict_proba(rows)
        a.append((time.perf_counter() - start) / len(rows))
        start = time.perf_counter()
        second.predict_proba(second_rows)
        b.append((time.perf_counter() - start) / len(rows))
    return statistics.median(a), statistics.median(b)
