"""The numpy forest for small batches: the same bits as scikit-learn, or not used at all."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from rollgate.serve import forest, predictor
from rollgate.serve.forest import SMALL_BATCH, Forest, ForestPredictor
from tests.serve.conftest import TinyModel

pytestmark = pytest.mark.unit


def _columns(model: TinyModel, n: int, offset: int = 0) -> dict[str, list[Any]]:
    rows = model.rows(n, offset)
    return {name: [row[name] for row in rows] for name in model.contract.names}


def _chunks(columns: dict[str, list[Any]], size: int) -> list[dict[str, list[Any]]]:
    n = len(next(iter(columns.values())))
    return [{k: v[i : i + size] for k, v in columns.items()} for i in range(0, n, size)]


@pytest.fixture(scope="module")
def chosen(tiny_model: TinyModel) -> ForestPredictor:
    built = predictor.build(tiny_model.model, tiny_model.contract)
    assert isinstance(built, ForestPredictor), built.kind
    return built


@pytest.mark.parametrize("size", [1, 3, 8, SMALL_BATCH, SMALL_BATCH + 1])
def test_scores_are_the_pipelines_bits_at_every_batch_size(
    chosen: ForestPredictor, tiny_model: TinyModel, size: int
) -> None:
    columns = _columns(tiny_model, 400, offset=1_000)  # not the probe rows the build checked
    plain = predictor.FramePredictor(tiny_model.model, tiny_model.contract).scores(columns)
    mine = np.concatenate([chosen.scores(part) for part in _chunks(columns, size)])
    assert np.array_equal(mine, plain)


def test_missing_values_and_unknown_categories_branch_as_scikit_learn(
    chosen: ForestPredictor, tiny_model: TinyModel
) -> None:
    """Inputs the server's validator refuses still take scikit-learn's branches (NaN, unknown category)."""
    columns = _columns(tiny_model, 60)
    for k, spec in enumerate(tiny_model.contract.features):
        odd = math.nan if spec.type in ("float", "int") else "unseen-category" if spec.type == "category" else None
        if odd is not None:
            columns[spec.name] = [odd if i % (3 + k) == 0 else v for i, v in enumerate(columns[spec.name])]
    expected = chosen.fallback.scores(columns)  # scikit-learn on the same encoded matrix
    assert np.isnan(chosen.matrix(columns)).any()
    assert np.array_equal(chosen.scores(columns), expected)


def test_large_batches_go_through_scikit_learn(
    chosen: ForestPredictor, tiny_model: TinyModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> np.ndarray:
        raise AssertionError("the forest must not walk a large batch")

    monkeypatch.setattr(Forest, "raw", refuse)
    assert len(chosen.scores(_columns(tiny_model, SMALL_BATCH + 1))) == SMALL_BATCH + 1


def test_a_forest_that_differs_is_never_served(tiny_model: TinyModel, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Forest.compile

    def off_by_a_bit(estimator: Any) -> Forest | None:
        compiled = real(estimator)
        assert compiled is not None
        return dataclasses.replace(compiled, baseline=np.nextafter(compiled.baseline, math.inf))

    monkeypatch.setattr(forest.Forest, "compile", off_by_a_bit)
    assert predictor.build(tiny_model.model, tiny_model.contract).kind == "columns"


def test_other_estimators_keep_the_column_path(tiny_model: TinyModel) -> None:
    from sklearn.linear_model import LogisticRegression

    assert Forest.compile(LogisticRegression()) is None
    assert Forest.compile(tiny_model.model.steps[-1][1]) is not None
