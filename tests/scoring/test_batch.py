"""`rollgate batch score` on the example's rows with a small trained model: the scores are the model's,
refused rows are written with their reason (never dropped), outputs carry the digests, a rerun resumes
per file, chunking changes nothing, and bad input is one clear error that leaves complete outputs only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.scoring import batch
from rollgate.scoring.check import check
from tests.helpers import BIN
from tests.tiny_model import TinyModel, train_tiny

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return train_tiny(tmp_path_factory, iterations=10)


def _rows(n: int, seed: int) -> pd.DataFrame:
    return DATASET.sample(n, seed=seed)


def _spoiled(frame: pd.DataFrame, model: TinyModel) -> tuple[pd.DataFrame, dict[int, str]]:
    """Four rows broken four ways (a required value missing, out of range, an unknown category, not a
    number) and what the contract says of each."""
    out = frame.copy()
    numeric = next(f for f in model.contract.features if f.type == "float" and f.minimum is not None)
    category = next(f for f in model.contract.features if f.type == "category")
    integer = next(f for f in model.contract.features if f.type == "int")
    out[integer.name] = out[integer.name].astype(str)  # numbers written as text, as a CSV export leaves them
    out.loc[out.index[1], numeric.name] = np.nan
    out.loc[out.index[2], numeric.name] = numeric.minimum - 1
    out.loc[out.index[3], category.name] = "no-such-category"
    out.loc[out.index[4], integer.name] = "seven"
    return out, {1: f"missing: {numeric.name}", 2: f"range: {numeric.name}", 3: f"category: {category.name}",
                 4: f"type: {integer.name}"}  # fmt: skip


def integer_name(model: TinyModel) -> str:
    return next(f.name for f in model.contract.features if f.type == "int")


def _job(model: TinyModel, inputs: Path, out: Path, **given: object) -> batch.Job:
    return batch.Job(str(model.path), model.sha256, str(inputs), out, **given)  # type: ignore[arg-type]


def test_scores_are_the_models_and_refused_rows_keep_their_reason(model: TinyModel, tmp_path: Path) -> None:
    frame, broken = _spoiled(_rows(500, 1), model)
    (tmp_path / "in").mkdir()
    frame.to_parquet(tmp_path / "in/week.parquet", index=False)
    (done,) = batch.score(_job(model, tmp_path / "in", tmp_path / "out", chunk_rows=64))
    assert (done.rows, done.scored, done.rejected, done.skipped) == (500, 496, 4, False)
    scored = pq.read_table(tmp_path / "out/week.parquet").to_pandas()
    rejects = pq.read_table(tmp_path / "out/week.rejects.parquet").to_pandas()
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == broken
    good = frame.drop(index=frame.index[list(broken)]).reset_index(drop=True)
    good[integer_name(model)] = pd.to_numeric(good[integer_name(model)])  # as the model was trained
    expected = model.scores(good[model.contract.names].to_dict("records"))
    assert scored["row"].tolist() == [i for i in range(500) if i not in broken]
    np.testing.assert_allclose(scored["score"], expected, rtol=0, atol=1e-12)
    assert scored[DATASET.id].tolist() == good[DATASET.id].tolist()  # the pass-through id
    assert (scored["label"] == (scored["score"] >= 0.5)).all()
    for name in ("week.parquet", "week.rejects.parquet"):
        meta = pq.read_metadata(tmp_path / "out" / name).metadata
        assert meta[batch.META_MODEL] == model.sha256.encode()


def test_chunking_changes_nothing_and_a_rerun_resumes_per_file(model: TinyModel, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for i in range(3):
        _rows(300, 10 + i).to_parquet(tmp_path / f"in/part-{i}.parquet", index=False)
    small = batch.score(_job(model, tmp_path / "in", tmp_path / "a", chunk_rows=7))
    large = batch.score(_job(model, tmp_path / "in", tmp_path / "b", chunk_rows=100_000))
    for i in range(3):
        a, b = (pq.read_table(tmp_path / f"{d}/part-{i}.parquet").to_pandas() for d in "ab")
        pd.testing.assert_frame_equal(a, b)
    assert [d.skipped for d in small + large] == [False] * 6
    _rows(300, 99).to_parquet(tmp_path / "in/part-1.parquet", index=False)  # one input changed
    again = batch.score(_job(model, tmp_path / "in", tmp_path / "a"))
    assert [d.skipped for d in again] == [True, False, True]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, m: p.write_text("not parquet"), "not a Parquet file"),
        (
            lambda p, m: _rows(50, 3).drop(columns=[m.contract.names[0]]).to_parquet(p, index=False),
            "lacks the features",
        ),
    ],
)
def test_bad_input_is_one_clear_error_and_leaves_complete_outputs_only(
    model: TinyModel, tmp_path: Path, make: object, message: str
) -> None:
    (tmp_path / "in").mkdir()
    _rows(50, 2).to_parquet(tmp_path / "in/a.parquet", index=False)
    make(tmp_path / "in/b.parquet", model)  # type: ignore[operator]
    done = subprocess.run(
        [str(BIN / "rollgate"), "batch", "score", "--model", str(model.path), "--sha256", model.sha256,
         "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and f"{tmp_path / 'in/b.parquet'}: {message}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.parquet", "a.rejects.parquet"]


def test_a_model_that_is_not_the_expected_digest_is_refused(model: TinyModel, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    _rows(10, 4).to_parquet(tmp_path / "in/a.parquet", index=False)
    with pytest.raises(RollgateError, match="sha256"):
        batch.score(batch.Job(str(model.path), "0" * 64, str(tmp_path / "in"), tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(RollgateError, match="no Parquet files"):
        batch.score(_job(model, tmp_path / "nothing-*.parquet", tmp_path / "out"))


@pytest.mark.unit
def test_the_check_admits_exactly_what_the_contract_allows(model: TinyModel) -> None:
    frame, broken = _spoiled(_rows(20, 5), model)
    checked = check(frame, model.contract)
    assert [i for i, ok in enumerate(checked.valid) if not ok] == sorted(broken)
    assert {i: checked.reasons[i] for i in broken} == broken
