"""The pure parts: bulk histogram observation, the validator's fast and slow paths, the log, formats."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from rollgate.contracts.features import FeatureContract
from rollgate.contracts.metrics import SCORE_BUCKETS
from rollgate.serve import formats
from rollgate.serve.metrics import observe_many
from rollgate.serve.predlog import LogTarget, PredictionLog
from rollgate.serve.validation import Checked, Validator
from tests.serve.conftest import TinyModel

pytestmark = pytest.mark.unit


def test_observe_many_equals_observe_one_by_one() -> None:
    values = np.array([0.0, 0.125, 0.25, 0.5, 1.0, 0.375, 0.375, 0.625])  # exact sums in any order; 0.5, 1.0 on bounds
    one, many = CollectorRegistry(), CollectorRegistry()
    h_one = Histogram("s", "s", buckets=SCORE_BUCKETS, registry=one)
    h_many = Histogram("s", "s", buckets=SCORE_BUCKETS, registry=many)
    for v in values:
        h_one.observe(float(v))
    observe_many(h_many, values)
    strip = [line for line in generate_latest(one).splitlines() if b"_created" not in line]
    assert strip == [line for line in generate_latest(many).splitlines() if b"_created" not in line]


def test_fast_and_slow_paths_agree(tiny_model: TinyModel) -> None:
    validator = Validator(tiny_model.contract)
    rows = tiny_model.rows(30)
    fast = validator.check(rows)
    slow = validator.check([*rows[:-1], {**rows[-1], "extra": 1}])  # extra key: the slow unknown-field walk
    assert not fast.errors and not slow.errors
    assert fast.columns == slow.columns
    first = tiny_model.contract.names[0]
    bad = [*rows[:2], {k: v for k, v in rows[2].items() if k != first}]
    checked = validator.check(bad)
    assert [(e.row, e.field, e.reason) for e in checked.errors] == [(2, first, "missing")]


def test_integral_floats_are_accepted_as_ints(tiny_model: TinyModel) -> None:
    ints = [s for s in tiny_model.contract.features if s.type == "int"]
    if not ints:
        pytest.skip("the feature contract has no int feature")
    spec = ints[0]
    value = int(spec.minimum if spec.minimum is not None and not spec.minimum_exclusive else 3)
    row = {**tiny_model.rows(1)[0], spec.name: float(value)}
    checked = Validator(tiny_model.contract).check([row])
    assert not checked.errors
    assert checked.columns[spec.name] == [value]
    assert type(checked.columns[spec.name][0]) is int


def test_prediction_log_is_sampled_bounded_and_written(tmp_path: Path, tiny_model: TinyModel) -> None:
    rows = tiny_model.rows(2)
    checked = Validator(tiny_model.contract).check(rows)
    target = LogTarget(str(tmp_path / "predictions.jsonl"), 1.0)
    log = PredictionLog(target, "ab" * 32, tiny_model.contract, capacity=3)
    log.start()
    for i in range(50):
        log.offer(f"r{i}", checked, rows, np.array([0.1, 0.9]), [0, 1])
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert lines and len(lines) == 2 * (50 - log.dropped)
    assert lines[1]["score"] == 0.9 and lines[1]["label"] == 1 and lines[1]["sha256"] == "ab" * 32
    assert lines[0]["inputs"] == tiny_model.rows(2)[0]


def test_prediction_log_never_fails_a_request(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "no" / "such" / "dir" / "p.jsonl"
    log = PredictionLog(LogTarget(str(target), 1.0), "0" * 64, FeatureContract(), capacity=10)

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "rollgate.serve"]

    with caplog.at_level(logging.ERROR, logger="rollgate.serve"):
        log.start()
        deadline = time.monotonic() + 10
        while not messages() and time.monotonic() < deadline:  # the writer gives up on its own
            time.sleep(0.01)
        for _ in range(100):  # ten times the queue: all no-ops now, never an error, nothing queued
            log.offer("r", Checked({"a": [1]}, 1), [{"a": 1}], np.array([0.5]), [1])
        log.close()
    assert log.dropped == 0 and not target.exists()
    (message,) = messages()
    assert message.startswith(f"prediction log disabled: cannot open {target}")


def test_columns_format_rejects_ragged_columns() -> None:
    with pytest.raises(formats.BadRequestError, match="different lengths"):
        formats.invocation_rows({"inputs": {"a": [1, 2], "b": [1]}})
    assert formats.invocation_rows({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}) == [{"a": 1}, {"a": 2}]
