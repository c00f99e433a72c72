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
