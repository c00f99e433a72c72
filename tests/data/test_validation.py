"""The validation core on tiny in-memory frames: every failure collected and located by file and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts import reports
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


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("amount", np.inf, "finite (not inf or -inf)"),
        ("distance_from_home_km", -np.inf, "finite (not inf or -inf)"),
        ("avg_amount_30d", np.nan, "not_nullable"),
    ],
)
def test_non_finite_numbers_fail_naming_file_column_and_row(
    frame: pd.DataFrame, tmp_path: Path, column: str, value: float, check: str
) -> None:
    frame.loc[17, column] = value
    report = validate(frame, _origin(frame), fixed_params.validate(label_rate_min=0.001), files=1)

    assert (column, check) in _checks(report.failures)
    assert f"{column}: {check}: 1 rows; e.g. batch.parquet row 17" in report.summary()
    reports.write_validation_report(tmp_path / "report.json", report.to_dict())  # JSON has no inf: still written
    shown = {str(value)} if np.isinf(value) else {None}
    written = reports.read_validation_report(tmp_path / "report.json")["failures"]
    assert {e["value"] for f in written if f["column"] == column for e in f["examples"]} == shown


def _two_batches(frame: pd.DataFrame, second: int) -> pd.DataFrame:
    return pd.DataFrame({"file": ["a.parquet"] * (len(frame) - second) + ["b.parquet"] * second, "row": 0})


def test_a_batch_far_outside_the_band_fails_naming_it() -> None:
    frame = generate_week(0, seed=3, rows=4_000)
    frame.loc[3_800:, "is_fraud"] = (np.arange(200) % 4 == 0).astype(np.int64)  # 25 % in the last 200 rows
    report = validate(frame, _two_batches(frame, 200), fixed_params.validate(label_rate_min=0.001), files=2)

    (failure,) = [f for f in report.failures if f.check.startswith("batch label rate")]
    assert failure.check == "batch label rate in [0.001, 0.05]" and failure.count == 200
    assert "b.parquet: 200 rows, 50 positives (rate 0.25): significantly above the band" in report.summary()


def test_a_small_batch_is_not_refused_for_its_rate() -> None:
    frame = generate_week(0, seed=3, rows=4_000)
    frame.loc[3_900:, "is_fraud"] = (np.arange(100) % 10 == 0).astype(np.int64)  # 10 %, but 5 expected at 0.05
    report = validate(frame, _two_batches(frame, 100), fixed_params.validate(label_rate_min=0.001), files=2)

    assert report.passed, report.summary()
