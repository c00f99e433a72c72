"""The validation core on tiny in-memory frames: every failure collected and located by file and row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollgate.data.example.generate import generate_week
from rollgate.data.validation import validate
from tests import fixed_params

pytestmark = [pytest.mark.data, pytest.mark.example]  # the shipped example's columns


@pytest.fixture
def frame() -> pd.DataFrame:
    return generate_week(0, seed=3, rows=400)


def _origin(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"file": "batch.parquet", "row": range(len(df))})


def _checks(report_failures: tuple[object, ...]) -> set[tuple[str, str]]:
    return {(f.column, f.check) for f in report_failures}  # type: ignore[attr-defined]


def test_clean_batch_passes(frame: pd.DataFrame) -> None:
    report = validate(frame, _origin(frame), fixed_params.validate(label_rate_min=0.001), files=1)
    assert report.passed, report.summary()
    assert report.rows == 400 and report.label_rate == pytest.approx(frame["is_fraud"].mean())


def test_every_failure_is_collected_with_its_rows(frame: pd.DataFrame) -> None:
    frame.loc[7, "amount"] = np.nan
    frame.loc[9, "customer_age"] = 7
    frame.loc[11, "country"] = "XX"
    frame.loc[12, "transaction_id"] = frame.loc[13, "transaction_id"]
    frame.loc[20, "txn_count_24h"] = frame.loc[20, "txn_count_7d"] + 1
    frame.loc[30, "timestamp"] = frame.loc[0, "timestamp"] - pd.Timedelta(days=1)
    report = validate(frame, _origin(frame), fixed_params.validate(label_rate_min=0.001), files=1)
    assert not report.passed
    checks = _checks(report.failures)
    assert ("amount", "not_nullable") in checks
    assert ("customer_age", "greater_than_or_equal_to(18)") in checks
    assert any(c == "country" and k.startswith("isin") for c, k in checks)
    assert ("transaction_id", "field_uniqueness") in checks
    assert any("timestamps must not decrease" in k for _, k in checks)
    assert any("cannot exceed" in k for _, k in checks)
    summary = report.summary()
    assert "batch.parquet row 9 (7)" in summary and "batch.parquet row 11 ('XX')" in summary


@pytest.mark.parametrize(
    ("labels", "expected"),
    [(0, "both classes present"), (1, "both classes present")],
)
def test_one_class_labels_fail(frame: pd.DataFrame, labels: int, expected: str) -> None:
    frame["is_fraud"] = labels
    report = validate(frame, _origin(frame), fixed_params.validate(), files=1)
    assert expected in {f.check for f in report.failures}


def test_implausible_label_rate_fails(frame: pd.DataFrame) -> None:
    frame["is_fraud"] = (np.arange(len(frame)) % 4 == 0).astype(np.int64)  # 25 % fraud
    report = validate(frame, _origin(frame), fixed_params.validate(), files=1)
    assert any(f.check.startswith("label rate in") for f in report.failures)


def test_no_rows_fails() -> None:
    empty = pd.DataFrame()
    report = validate(empty, _origin(empty), fixed_params.validate(), files=1)
    assert not report.passed and report.failures[0].check == "at least one row"
