"""Delayed labels and the prediction-log-shaped current data of the example (issue 17, item 8).

Label delays follow their stated distribution, are seeded, never precede the transaction, and
`labels_as_of` keeps exactly the arrived ones; `rollgate data predictions` writes lines with the keys
the server's own prediction log writes, keeps about the share asked for, writes the labels of the same
rows, and refuses a wrong digest naming the model file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rollgate import cli
from rollgate.contracts.errors import RollgateError
from rollgate.data.example import labels, predictions
from rollgate.data.example.generate import GenerateOptions, generate_week
from rollgate.data.schema import DATASET
from rollgate.serve.predlog import LogTarget, PredictionLog
from rollgate.serve.validation import Validator
from tests.tiny_model import TinyModel, train_tiny

pytestmark = [pytest.mark.unit, pytest.mark.example]  # the shipped example's columns

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return train_tiny(tmp_path_factory, iterations=10, rows=3_000)


@pytest.fixture
def three_rows() -> pd.DataFrame:
    stamps = pd.to_datetime(["2026-03-30 00:00", "2026-03-30 12:00", "2026-03-31 00:00"]).astype("datetime64[us]")
    return pd.DataFrame({"transaction_id": ["tx-0012-00000", "tx-0012-00001", "tx-0012-00002"],
                         "timestamp": stamps, "is_fraud": [1, 0, 1]})  # fmt: skip


# --- label arrival --------------------------------------------------------------------------------


def test_fraud_delays_are_lognormal_with_the_stated_median_and_tail() -> None:
    days = labels.arrival_delays(np.ones(5_000, dtype=np.int64), seed=0)
    assert np.median(days) == pytest.approx(labels.FRAUD_MEDIAN_DAYS, rel=0.05)
    assert np.std(np.log(days)) == pytest.approx(labels.FRAUD_SIGMA, rel=0.05)
    assert np.mean(days > 30) == pytest.approx(0.085, abs=0.015)  # P(Z > ln 3 / 0.8)
    assert days.min() > 0 and days.max() <= labels.FRAUD_MAX_DAYS


def test_legitimate_rows_are_confirmed_at_the_maturity_horizon() -> None:
    days = labels.arrival_delays(np.zeros(100, dtype=np.int64), seed=0)
    assert (days == labels.LEGIT_HORIZON_DAYS).all()


def test_arrivals_are_seeded_and_never_before_the_transaction() -> None:
    week = generate_week(12, rows=3_000)
    table = labels.label_arrivals(week, seed=4)
    pd.testing.assert_frame_equal(table, labels.label_arrivals(week, seed=4))
    assert not table.equals(labels.label_arrivals(week, seed=5))
    assert list(table.columns) == list(labels.LABEL_COLUMNS)
    assert table["id"].tolist() == week["transaction_id"].tolist()
    assert table["label"].tolist() == week["is_fraud"].tolist()
    assert (table["label_available_at"] > week["timestamp"]).all()


@pytest.mark.parametrize(
    ("as_of", "arrived"),
    [
        ("2026-03-30 00:00", []),  # the instant of the first transaction: nothing yet
        ("2026-04-28 12:00", ["tx-0012-00000", "tx-0012-00002"]),  # 29.5 days: only the frauds
        ("2026-04-29 12:00", ["tx-0012-00000", "tx-0012-00001", "tx-0012-00002"]),  # the legitimate row at 30 days
    ],
    ids=["before", "frauds-only", "all"],
)
def test_labels_as_of_keeps_exactly_those_arrived(three_rows: pd.DataFrame, as_of: str, arrived: list[str]) -> None:
    table = labels.label_arrivals(three_rows, seed=0)
    table["label_available_at"] = three_rows["timestamp"] + pd.to_timedelta([2, 30, 5], unit="D")
    assert labels.labels_as_of(table, pd.Timestamp(as_of))["id"].tolist() == arrived


def test_labels_as_of_includes_a_label_arriving_at_that_instant(three_rows: pd.DataFrame) -> None:
    table = labels.label_arrivals(three_rows, seed=0)
    assert len(labels.labels_as_of(table, table["label_available_at"].max())) == 3


# --- the prediction log ---------------------------------------------------------------------------


def _predictions(tmp_path: Path, model: TinyModel, *more: str, sha256: str | None = None) -> int:
    return cli.main([
        "data", "predictions", "--log", str(tmp_path / "log.jsonl"), "--labels", str(tmp_path / "labels.parquet"),
        "--model", str(model.path), "--sha256", sha256 or model.sha256, "--weeks", "1", "--rows-per-week", "2000",
        *more,
    ])  # fmt: skip


def _server_keys(tmp_path: Path, row: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The keys of a line the server's own prediction log writes, and of its inputs."""
    target = LogTarget(str(tmp_path / "server.jsonl"), 1.0)
    log = PredictionLog(target, "ab" * 32, DATASET.features)
    log.start()
    log.offer("r", Validator(DATASET.features).check([row]), [row], np.array([0.5]), [1])
    log.close()
    deadline = time.monotonic() + 10
    while not (tmp_path / "server.jsonl").stat().st_size and time.monotonic() < deadline:
        time.sleep(0.01)
    (line,) = [json.loads(x) for x in (tmp_path / "server.jsonl").read_text().splitlines()]
    return set(line), set(line["inputs"])


def test_predictions_log_has_the_servers_lines_and_the_same_rows_labels(tmp_path: Path, model: TinyModel) -> None:
    assert _predictions(tmp_path, model, "--shift", "online_surge", "--sample", "0.25", "--seed", "2") == 0
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    keys, input_keys = _server_keys(tmp_path, {**lines[0]["inputs"], "transaction_id": lines[0]["id"]})
    assert all(set(line) == keys and set(line["inputs"]) == input_keys for line in lines)
    assert {line["sha256"] for line in lines} == {model.sha256} and {line["sample"] for line in lines} == {0.25}
    assert abs(len(lines) - 500) < 4 * np.sqrt(2_000 * 0.25 * 0.75)  # the share, within four sd
    week = generate_week(12, seed=2, shift="online_surge", rows=2_000).set_index("transaction_id")
    first = week.loc[lines[0]["id"]]
    assert lines[0]["ts"] == pd.Timestamp(first["timestamp"]).tz_localize("UTC").timestamp()
    assert all(0.0 <= line["score"] <= 1.0 and line["label"] in (0, 1) for line in lines)
    table = pd.read_parquet(tmp_path / "labels.parquet")
    assert table["id"].tolist() == [line["id"] for line in lines]
    assert table["label"].tolist() == week.loc[table["id"], "is_fraud"].tolist()


def test_predictions_are_a_pure_function_of_their_options(tmp_path: Path, model: TinyModel) -> None:
    assert _predictions(tmp_path / "a", model, "--sample", "0.1") == 0
    assert _predictions(tmp_path / "b", model, "--sample", "0.1") == 0
    assert (tmp_path / "a" / "log.jsonl").read_bytes() == (tmp_path / "b" / "log.jsonl").read_bytes()
    assert (tmp_path / "a" / "labels.parquet").read_bytes() == (tmp_path / "b" / "labels.parquet").read_bytes()


def test_a_wrong_sha256_is_refused_naming_the_model(
    tmp_path: Path, model: TinyModel, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _predictions(tmp_path, model, sha256="0" * 64) == 1
    assert f"{model.path}: sha256 {model.sha256} does not match --sha256 {'0' * 64}" in capsys.readouterr().err
    assert not (tmp_path / "log.jsonl").exists() and not (tmp_path / "labels.parquet").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sample": 0.0}, "--sample 0.0: give a share in (0, 1]"),
        ({"sample": 1.5}, "--sample 1.5: give a share in (0, 1]"),
        ({"generate": GenerateOptions(weeks=0)}, "--weeks 0: give at least 1"),
        ({"generate": GenerateOptions(shift="drift")}, "--shift 'drift': choose one of none"),  # type: ignore[arg-type]
    ],
    ids=["no-share", "over-one", "no-weeks", "unknown-shift"],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RollgateError, match="^data predictions: " + message.replace("(", r"\(").replace(")", r"\)")):
        predictions.PredictionsOptions(**options)
