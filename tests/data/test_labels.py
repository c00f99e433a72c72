"""The per-batch label-rate test on label columns built in place: refused only when the binomial test is
significant and the batch is big enough to tell (band [0.003, 0.05], confidence 0.999, min_expected 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollgate.data.labels import batch_outliers
from tests import fixed_params

pytestmark = pytest.mark.unit

PARAMS = fixed_params.validate()


def _batch(rows: int, positives: int, file: str = "b.parquet") -> tuple[pd.Series, np.ndarray]:
    labels = pd.Series(np.r_[np.ones(positives), np.zeros(rows - positives)].astype(np.int64))
    return labels, np.full(rows, file, dtype=object)


@pytest.mark.parametrize(
    ("rows", "positives", "edge"),
    [
        pytest.param(9_000, 110, None, id="in-band"),
        pytest.param(9_000, 0, "min", id="none-of-27-expected"),
        pytest.param(9_000, 20, None, id="few-but-noise"),  # P(X <= 20 | 27 expected) is about 0.1
        pytest.param(3_333, 0, None, id="too-small-to-judge-low"),  # 3,333 x 0.003 < 10 expected
        pytest.param(3_334, 0, "min", id="just-big-enough-low"),
        pytest.param(9_000, 500, None, id="above-the-band-but-noise"),  # 450 expected at 0.05, p about 0.01
        pytest.param(9_000, 600, "max", id="far-above"),
        pytest.param(199, 199, None, id="too-small-to-judge-high"),  # 199 x 0.05 < 10 expected
        pytest.param(200, 30, "max", id="just-big-enough-high"),
    ],
)
def test_a_batch_is_refused_only_when_significant_and_big_enough(rows: int, positives: int, edge: str | None) -> None:
    refused = batch_outliers(*_batch(rows, positives), PARAMS)

    assert [r.edge for r in refused] == ([edge] if edge else [])


def test_each_batch_is_judged_alone_and_named() -> None:
    good, bad = _batch(9_000, 110, "2026-01-05.parquet"), _batch(9_000, 0, "2026-01-12.parquet")
    labels = pd.concat([good[0], bad[0]], ignore_index=True)

    (refused,) = batch_outliers(labels, np.concatenate([good[1], bad[1]]), PARAMS)

    assert (refused.file, refused.rows, refused.positives, refused.edge) == ("2026-01-12.parquet", 9_000, 0, "min")
    text = refused.describe(PARAMS)
    assert "9000 rows, 0 positives" in text and "below the band [0.003, 0.05]" in text


def test_the_confidence_and_the_minimum_come_from_params() -> None:
    lenient = fixed_params.validate(batch_label_rate={"confidence": 0.999, "min_expected": 30})
    strict = fixed_params.validate(batch_label_rate={"confidence": 0.9, "min_expected": 10})

    assert batch_outliers(*_batch(9_000, 0), lenient) == []  # 27 expected: below the minimum
    assert [r.edge for r in batch_outliers(*_batch(9_000, 500), strict)] == ["max"]
