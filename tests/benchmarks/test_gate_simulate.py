"""The gate benchmark on an adopter's own holdout: quality known by construction, sizing, report format.

The holdout here is not the example's: other columns, a bool feature, a text segment column `region`, a
balanced label `churned`, and a tiny logistic regression saved as a real skops artifact with its metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmarks.gate import holdout, latent, simulate, sizing
from sklearn.linear_model import LogisticRegression

from rollgate.contracts import model_metadata
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.model import artifact
from rollgate.params import GateParams

pytestmark = pytest.mark.unit

FEATURES = FeatureContract((FeatureSpec("tenure_months", "float", minimum=0.0), FeatureSpec("has_discount", "bool")))
LAST_LINE = (
    r"false_promotion=[01]\.\d{4} false_promotion_upper95=[01]\.\d{4} power=[01]\.\d{4} "
    r"naive_false_promotion=[01]\.\d{4} seeds=\d+ holdout_rows=\d+ cell_seeds=\d+ "
    r"recommended_min_effect=(none|[0-9.e-]+) recommended_holdout_rows=(none|\d+)"
)


@dataclass(frozen=True)
class Files:
    holdout: Path
    model: Path


def _customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer": [f"c-{seed}-{i}" for i in range(rows)],
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "tenure_months": rng.gamma(2.0, 12.0, rows),
            "has_discount": rng.random(rows) < 0.4,
        }
    )
    logit = 1.2 - 0.05 * frame["tenure_months"] - 0.8 * frame["has_discount"]
    frame["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return frame


def _write(folder: Path, frame: pd.DataFrame) -> Files:
    train = _customers(2_000, seed=1)
    model = LogisticRegression().fit(train[FEATURES.names], train["churned"])
    data = artifact.dumps(model)
    meta = model_metadata.ModelMetadata(
        name="churn", artifact="model.skops", sha256=artifact.sha256_bytes(data), size_bytes=len(data),
        format="skops", trusted_types=artifact.TRUSTED_TYPES,
        prediction_fingerprint=artifact.prediction_fingerprint(model, frame[FEATURES.names].head(64)),
        estimator="logistic_regression", params={}, params_hash="0" * 64, data_md5="0" * 32,
        train_rows=len(train), train_positives=int(train["churned"].sum()), features=FEATURES, versions={},
        git=model_metadata.GitInfo(None, False),
    )  # fmt: skip
    (folder / "model.skops").write_bytes(data)
    model_metadata.write(folder / "model.json", meta)
    frame.to_parquet(folder / "holdout.parquet")
    return Files(folder / "holdout.parquet", folder / "model.skops")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return _write(tmp_path_factory.mktemp("adopter"), _customers(4_000, seed=2))


@pytest.fixture(scope="module")
def data(files: Files) -> holdout.Holdout:
    return holdout.load(files.holdout, files.model, "churned", ("region",))


def policy(min_effect: float) -> GateParams:
    return GateParams.model_validate(
        {
            "primary_metric": "roc_auc", "rule": "superiority", "decision_margin": 0.0,
            "margin": 0.01, "min_effect": min_effect, "confidence": 0.975, "resamples": 100, "seed": 1,
            "floors": {"roc_auc": 0.6},
            "segments": {"columns": ["region"], "min_size": 200, "min_positives": 10, "tolerance": 0.02},
            "latency": {"budget_ratio": 1.5, "rows": 10, "repeats": 3},
            "operating_point": {"max_positive_rate_ratio": 1.5},
        },
        strict=False,  # as YAML would give it: lists, not tuples
    )  # fmt: skip


def test_the_holdout_is_read_with_its_own_columns(data: holdout.Holdout) -> None:
    assert list(data.frame.columns) == ["region"] and len(data.y) == len(data.scores) == 4_000
    assert 0.3 < data.y.mean() < 0.7 and data.features == FEATURES


def test_the_latent_truth_has_the_holdouts_label_rate_and_the_models_auc(data: holdout.Holdout) -> None:
    logit, auc = latent.fit(data.y, data.scores)
    assert latent.sigmoid(logit).mean() == pytest.approx(data.y.mean(), abs=1e-6)
    champion = latent.expected_auc(logit, latent.CHAMPION_NOISE, np.random.default_rng(3), draws=20)
    assert champion == pytest.approx(auc, abs=0.005)


@pytest.mark.parametrize("effect", [0.02, 0.05])  # the second needs part of the shared noise gone too
def test_the_better_model_is_better_by_exactly_the_effect(data: holdout.Holdout, effect: float) -> None:
    logit, _ = latent.fit(data.y, data.scores)
    noise = latent.better_noise(logit, effect)
    rng = [np.random.default_rng(5) for _ in range(2)]
    gain = latent.expected_auc(logit, noise, rng[0], 20) - latent.expected_auc(logit, latent.CHAMPION_NOISE, rng[1], 20)
    assert gain == pytest.approx(effect, abs=0.003)


def test_noise_is_lost_own_part_first() -> None:
    assert latent.split(latent.CHAMPION_NOISE) == pytest.approx((latent.SHARED_NOISE, latent.OWN_NOISE))
    assert latent.split(0.5) == (0.5, 0.0)


def test_an_unreachable_effect_is_refused(data: holdout.Holdout) -> None:
    logit, _ = latent.fit(data.y, data.scores)
    with pytest.raises(RollgateError, match="more than a noiseless model can gain"):
        latent.better_noise(logit, 0.45)


def test_the_benchmark_runs_the_real_decision_and_ends_machine_readable(
    data: holdout.Holdout, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = sizing.Plan(factors=(0.5, 1.0), effects=(0.03, 0.06), configured=0.03, seeds=16, cell_seeds=8)
    last = simulate.run(data, policy(0.03), fpr=0.05, plan=plan)
    assert re.fullmatch(LAST_LINE, last), last
    values = dict(item.split("=") for item in last.split())
    assert values["seeds"] == "16" and values["holdout_rows"] == "4000"
    assert float(values["false_promotion"]) <= 0.25 < float(values["power"])
    table = capsys.readouterr().out
    assert "equal (false promotion)" in table and "better by 0.03 (power)" in table
    assert "power@0.06" in table and "recommendation: " in table


def test_the_recommendation_keeps_the_holdout_when_an_effect_meets_the_goals_there() -> None:
    plan = sizing.Plan(factors=(1.0, 2.0), effects=(0.01, 0.02), configured=0.02, seeds=1000, cell_seeds=100)
    cells = [
        sizing.Cell(100, None, 1000, 20, 500), sizing.Cell(100, 0.01, 100, 50, 90),
        sizing.Cell(100, 0.02, 1000, 850, 990), sizing.Cell(200, None, 100, 3, 50),
        sizing.Cell(200, 0.01, 100, 85, 99), sizing.Cell(200, 0.02, 100, 99, 100),
    ]  # fmt: skip
    assert sizing.recommend(cells, plan, real_rows=100) == (0.02, 100)
    assert sizing.smallest_rows(cells, 0.01) == 200
    failing = [sizing.Cell(100, None, 1000, 60, 500), *cells[1:3]]  # upper bound above 5 %
    assert sizing.recommend(failing, plan, real_rows=100) is None


@pytest.mark.parametrize("missing", ["holdout.parquet", "model.skops", "model.json"])
def test_missing_inputs_stop_with_one_line(tmp_path: Path, missing: str) -> None:
    files = _write(tmp_path, _customers(300, seed=4))
    (tmp_path / missing).unlink()
    with pytest.raises(SystemExit, match=rf"^bench-gate: .*{re.escape(missing)}: missing: run `make repro` first"):
        simulate.main(["--holdout", str(files.holdout), "--model", str(files.model)])


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (0, r"label 'churned' has one class only \(0 positives in 300 rows\)"),
        (1, r"label 'churned' has one class only \(300 positives in 300 rows\)"),
        (2, r"label 'churned' must be 0/1"),
    ],
)
def test_a_label_without_two_classes_is_refused(tmp_path: Path, label: int, message: str) -> None:
    files = _write(tmp_path, _customers(300, seed=4).assign(churned=label))
    with pytest.raises(RollgateError, match=message):
        holdout.load(files.holdout, files.model, "churned", ("region",))
