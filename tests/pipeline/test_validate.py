"""The validate stage on batch files in a temporary root (no DVC): bad input is a DataValidationError
naming the file, the column and the row, and the full report is still written."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts import paths, reports
from rollgate.contracts.errors import DataValidationError
from rollgate.data import batches
from rollgate.data.example.generate import batch_name, generate_week
from rollgate.data.schema import DATASET
from rollgate.pipeline import validate
from tests.helpers import ROOT

pytestmark = [pytest.mark.data, pytest.mark.example]  # the shipped example's columns

ROWS = 500


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copy(ROOT / paths.PARAMS, tmp_path / paths.PARAMS)
    for week in range(3):
        batches.write_frame(generate_week(week, rows=ROWS), tmp_path / DATASET.batches / batch_name(week))
    return tmp_path


def _rewrite(root: Path, week: int, change: Callable[[pd.DataFrame], pd.DataFrame]) -> str:
    path = root / DATASET.batches / batch_name(week)
    frame = generate_week(week, rows=ROWS)
    batches.write_frame(change(frame), path)
    return str(path)


def test_a_batch_with_no_rows_is_refused_naming_it(root: Path) -> None:
    empty = _rewrite(root, 1, lambda df: df.head(0))

    with pytest.raises(DataValidationError, match="validation failed") as caught:
        validate.run(root)

    assert f"(file): batch has rows: 1 rows; e.g. {empty}: 0 rows: a batch must have rows" in str(caught.value)
    assert not reports.read_validation_report(root / paths.VALIDATION_REPORT)["passed"]


def test_an_infinite_number_is_refused_and_the_report_written(root: Path) -> None:
    def infinite(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[7, "amount"] = np.inf
        return df

    changed = _rewrite(root, 2, infinite)

    with pytest.raises(DataValidationError) as caught:
        validate.run(root)

    assert f"amount: finite (not inf or -inf): 1 rows; e.g. {changed} row 7 ('inf')" in str(caught.value)
    report = reports.read_validation_report(root / paths.VALIDATION_REPORT)
    assert {"file": changed, "row": 7, "value": "inf"} in [e for f in report["failures"] for e in f["examples"]]
