"""The per-batch label-rate test: each batch file held to `validate.label_rate_min..max` by its size.

Pure: takes the 0/1 labels and the batch file of each row, returns the batches refused. With n rows and
k positives a batch is refused only when a one-sided binomial test against the edge it lies beyond
(P(X <= k) at `label_rate_min`, P(X >= k) at `label_rate_max`) is below 1 - `confidence`, and only when
n x that edge reaches `min_expected`: a small batch, whose rate is mostly noise, is never refused for it.
Labels are judged as exported: the dataset definition names no maturity horizon (the ingestion
contract, docs/adopting.md, asks for matured labels only), so a batch whose labels are still arriving
is judged like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from rollgate.params import ValidateParams


@dataclass(frozen=True)
class BatchRate:
    """One batch whose label rate lies significantly beyond an edge of the band."""

    file: str
    rows: int
    positives: int
    edge: Literal["min", "max"]
    p_value: float

    def describe(self, params: ValidateParams) -> str:
        side, rate = (
            ("below", params.label_rate_min) if self.edge == "min" else ("above", params.label_rate_max)
        )  # fmt: skip
        return (
            f"{self.rows} rows, {self.positives} positives (rate {self.positives / self.rows:.4g}): significantly "
            f"{side} the band [{params.label_rate_min}, {params.label_rate_max}] (binomial test at {rate}: "
            f"p = {self.p_value:.2g} < {1 - params.batch_label_rate.confidence:.2g}): a broken export or join?"
        )


def batch_outliers(labels: pd.Series, files: np.ndarray, params: ValidateParams) -> list[BatchRate]:
    """The batches (in file order) whose 0/1 `labels` are too few or too many for the band, by size."""
    test = params.batch_label_rate
    alpha = 1.0 - test.confidence
    counts = labels.astype(np.int64).groupby(files, sort=False).agg(["size", "sum"])
    out = []
    for file, (n, k) in zip(counts.index, counts.to_numpy(), strict=True):
        low = float(sps.binom.cdf(k, n, params.label_rate_min))
        high = float(sps.binom.sf(k - 1, n, params.label_rate_max))
        if n * params.label_rate_min >= test.min_expected and low < alpha:
            out.append(BatchRate(str(file), int(n), int(k), "min", low))
        elif n * params.label_rate_max >= test.min_expected and high < alpha:
            out.append(BatchRate(str(file), int(n), int(k), "max", high))
    return out
