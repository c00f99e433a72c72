"""Which model `make serve` and `make bench-serve` use: models/, else the one `make demo` trained, else one
line saying what to run first (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.serve import bench

from rollgate import cli
from rollgate.contracts import model_metadata
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.demo import trained

pytestmark = pytest.mark.unit

NOTHING = (
    "no trained model in models/: run `make demo` (trains one in .demo/workspace/), `dvc pull` or `make repro` first"
)


def _model(folder: Path, sha256: str) -> None:
    folder.mkdir(parents=True)
    (folder / "model.skops").write_bytes(b"not read here")
    model_metadata.write(
        folder / "model.json",
        model_metadata.ModelMetadata(
            name="m", artifact="model.skops", sha256=sha256, size_bytes=1, format="skops", trusted_types=(),
            prediction_fingerprint="b" * 64, estimator="logistic_regression", params={}, params_hash="c" * 64,
            data_md5="d" * 32, train_rows=1, train_positives=1,
            features=FeatureContract((FeatureSpec("amount", "float", minimum=0.0),)), versions={},
            git=model_metadata.GitInfo(None, False),
        ),
    )  # fmt: skip


def test_the_pipeline_model_comes_first(tmp_path: Path) -> None:
    _model(tmp_path / "models", "a" * 64)
    _model(tmp_path / ".demo/workspace/models", "e" * 64)

    found = trained.locate(tmp_path)

    assert (found.artifact, found.sha256, found.note) == (tmp_path / "models/model.skops", "a" * 64, None)


def test_after_make_demo_in_a_fresh_clone_the_demo_model_is_used_and_said(tmp_path: Path) -> None:
    _model(tmp_path / ".demo/workspace/models", "e" * 64)
    (tmp_path / "models").mkdir()  # what a clone has: models/.gitignore, no model

    found = trained.locate(tmp_path)

    assert (found.artifact, found.sha256) == (tmp_path / ".demo/workspace/models/model.skops", "e" * 64)
    assert found.note is not None and "`make demo` trained in .demo/workspace/models/" in found.note


def test_with_no_model_anywhere_it_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match="no trained model") as caught:
        trained.locate(tmp_path)
    assert str(caught.value) == NOTHING


def test_serve_trained_without_a_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "serve", "--trained"]) == 1

    assert capsys.readouterr().err == f"rollgate serve: error: {NOTHING}\n"


def test_serve_trained_refuses_a_model_given_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "serve", "--trained", "--sha256", "a" * 64]) == 1

    assert "--trained finds --model and --sha256 itself" in capsys.readouterr().err


def test_bench_serve_without_a_model_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "ROOT", tmp_path)

    with pytest.raises(SystemExit, match=r"^bench-serve: no trained model in models/: run `make demo`"):
        bench._trained_model_dir()


def test_bench_serve_uses_the_demo_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _model(tmp_path / ".demo/workspace/models", "e" * 64)
    monkeypatch.setattr(bench, "ROOT", tmp_path)

    assert bench._trained_model_dir() == tmp_path / ".demo/workspace/models"
