"""The gate in a real repository: champion pinned by a committed release record, challengers made by
changing params, verdicts both ways, rollback from history, and every bad champion refused."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
import yaml

from rollgate.contracts import jsonio, model_metadata, paths, release, trailers, verdict
from rollgate.contracts.release import Image
from rollgate.data.schema import DATASET
from rollgate.delivery import record
from tests.helpers import Project, copy_project, tiny_params

pytestmark = pytest.mark.integration

# A one-split stump is a champion any real model beats; logistic regression beats it clearly even on a
# tiny holdout. Latency and the operating point are not what this test is about (a stump predicts faster
# than anything, and at fpr_target its threshold flags no row, so any real model moves it: tests/gate).
GATE = {
    "latency": {"budget_ratio": 50.0, "rows": 200, "repeats": 3},
    "operating_point": {"max_positive_rate_ratio": 100.0},
    "floors": {"roc_auc": 0.55},  # above chance; a tiny holdout makes average precision too noisy to floor
}
STUMP = tiny_params(train={"hist_gradient_boosting": {"max_iter": 1, "max_leaf_nodes": 2}}, gate=GATE)
LINEAR = tiny_params(train={"estimator": "logistic_regression"}, gate=GATE)
BOOSTED = tiny_params(gate=GATE)


def _repro(project: Project) -> verdict.Verdict:
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    return verdict.read(project.path / paths.gate_verdict("prod"))


def _train_with(project: Project, params: dict[str, Any], message: str) -> verdict.Verdict:
    project.write_params(params)
    result = _repro(project)
    project.dvc("push", "-q")
    project.commit(message)
    return result


def pin_champion(project: Project, env: str = "prod") -> str:
    """Write the release record for the model on disk and commit it like a promotion (trailers included,
    as the promotion identity)."""
    meta = model_metadata.read(project.path / paths.MODEL_METADATA)
    lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    (md5,) = [o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == str(paths.MODEL_ARTIFACT)]
    evaluation = json.loads((project.path / paths.EVALUATE_METRICS).read_text())
    head = project.git("rev-parse", "HEAD").stdout.strip()
    candidate = record.Candidate(meta, md5, evaluation, head)
    image = Image("registry.example/rollgate-serve", "sha256:" + "0" * 64)
    pinned = record.build(
        candidate, env=env, verdict="promote", champion_sha256=None, storage_base="file:///models", image=image
    )
    release.write(project.path / paths.release_record(env), pinned)
    project.git("add", "-A")
    body = f"{trailers.ENV}: {env}\n{trailers.MODEL_SHA256}: {meta.sha256}\n{trailers.SOURCE_COMMIT}: {head}"
    subject = f"deploy({env}): {meta.name} {meta.sha256[:12]}"
    project.as_promotion_identity().git("commit", "-q", "-m", subject, "-m", body)
    return meta.sha256


@pytest.fixture(scope="module")
def history(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """stump promoted (no champion) -> pinned -> same_model -> linear promoted -> pinned -> boosted
    rejected -> stump again: a rollback. Each step's verdict is kept for the tests below."""
    project = copy_project(seed_project, tmp_path_factory.mktemp("gate"))
    seen: dict[str, Any] = {"project": project}
    seen["first"] = _train_with(project, STUMP, "stump")
    seen["stump"] = pin_champion(project)
    seen["same"] = _repro(project)
    seen["same_check"] = project.rollgate("gate", "--check", "--env", "prod", check=False)
    seen["better"] = _train_with(project, LINEAR, "logistic regression")
    seen["better_check"] = project.rollgate("gate", "--check", "--env", "prod", check=False)
    seen["linear"] = pin_champion(project)
    seen["worse"] = _train_with(project, BOOSTED, "25 boosting iterations")
    seen["worse_check"] = project.rollgate("gate", "--check", "--env", "prod", check=False)
    seen["worse_staging"] = verdict.read(project.path / paths.gate_verdict("staging"))
    seen["worse_every_check"] = project.rollgate("gate", "--check", check=False)
    seen["rollback"] = _train_with(project, STUMP, "back to the stump")
    return seen


def _failed(result: verdict.Verdict) -> set[str]:
    return {r.criterion for r in result.failed}


def test_first_deployment_applies_only_the_floors(history: dict[str, Any]) -> None:
    first = history["first"]
    assert first.verdict == "promote" and first.champion is None
    assert any("no champion" in r.message for r in first.reasons)


def test_the_pinned_model_is_the_same_model(history: dict[str, Any]) -> None:
    assert history["same"].verdict == "same_model"
    check = history["same_check"]
    assert check.returncode == 0 and "nothing to deploy" in check.stdout


def test_a_clearly_better_challenger_is_promoted(history: dict[str, Any]) -> None:
    better = history["better"]
    assert better.verdict == "promote", better.failed
    assert better.champion is not None and better.champion["sha256"] == history["stump"]
    assert better.comparison is not None and better.comparison["lower"] > 0
    assert better.comparison["method"] == "delong"
    assert history["better_check"].returncode == 0


def test_a_challenger_not_significantly_better_is_rejected(history: dict[str, Any]) -> None:
    worse = history["worse"]
    assert worse.verdict == "reject"
    assert "improvement" in _failed(worse)
    check = history["worse_check"]
    assert check.returncode == 1 and "FAIL improvement" in check.stdout


def test_each_environment_is_judged_against_its_own_champion(history: dict[str, Any]) -> None:
    """Only prod pins a champion here: staging's verdict for the same challenger is a first deployment,
    and `gate --check` (every environment) fails because prod's does."""
    staging = history["worse_staging"]
    assert staging.env == "staging" and staging.verdict == "promote" and staging.champion is None
    assert staging.challenger["sha256"] == history["worse"].challenger["sha256"]
    check = history["worse_every_check"]
    assert check.returncode == 1, check.stdout
    assert "gate (staging): promote" in check.stdout and "gate (prod): reject" in check.stdout
    assert "not deployable to prod" in check.stdout


def test_the_gate_needs_a_configured_environment(history: dict[str, Any]) -> None:
    project: Project = history["project"]
    unknown = project.rollgate("gate", "--env", "qa", "--no-track", check=False)
    assert unknown.returncode == 1 and "no configs/deploy/qa.yaml (environments: prod, staging)" in unknown.stderr
    bare = project.rollgate("gate", "--no-track", check=False)
    assert bare.returncode == 1 and "give --env ENV" in bare.stderr
    assert project.rollgate("gate", "--check", "--env", "qa", check=False).returncode == 1


def test_a_model_the_env_ran_before_is_a_rollback(history: dict[str, Any]) -> None:
    back = history["rollback"]
    assert back.verdict == "rollback", back.failed
    assert back.challenger["sha256"] == history["stump"]
    assert "improvement" not in {r.criterion for r in back.reasons}


def test_the_gate_reruns_only_when_its_inputs_change(history: dict[str, Any]) -> None:
    project: Project = history["project"]
    assert project.dvc("status", "--json").stdout.strip() == "{}"


# --- bad champions: a clear error, never a silent promote -------------------------------------------


def _gate_with_record(project: Project, text: str | None) -> Any:
    target = project.path / paths.release_record("prod")
    saved = target.read_text()
    try:
        if text is None:
            target.unlink()
        else:
            target.write_text(text)
        return project.rollgate("gate", "--env", "prod", "--no-track", check=False)
    finally:
        target.write_text(saved)


def _record_with(project: Project, **model: str) -> str:
    raw = jsonio.read(project.path / paths.release_record("prod"), release.SCHEMA)
    raw["model"] = {**raw["model"], **model}
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no release record"),
        ("not json", "not valid JSON"),
        ("schema", "release.json"),
        ("sha mismatch", "but manifests/prod/release.json pins"),
        ("unfetchable", "neither in the DVC cache nor in the default remote"),
    ],
)
def test_a_bad_champion_is_a_clear_error(history: dict[str, Any], case: str, message: str) -> None:
    project: Project = history["project"]
    before = (project.path / paths.gate_verdict("prod")).read_bytes()
    text = {
        "missing": None,
        "not json": "{ not json",
        "schema": json.dumps({"schema_version": 1, "env": "prod", "model": {"sha256": "x"}}),
        "sha mismatch": _record_with(project, sha256="0" * 64),
        "unfetchable": _record_with(project, sha256="0" * 64, dvc_md5="0" * 32),
    }[case]
    done = _gate_with_record(project, text)
    assert done.returncode != 0
    assert message in done.stderr
    assert (project.path / paths.gate_verdict("prod")).read_bytes() == before  # nothing half-written


def test_a_one_class_holdout_is_an_explicit_reject(history: dict[str, Any]) -> None:
    """No fraud at all in the holdout: nothing can be measured, so the gate rejects and says why."""
    project: Project = history["project"]
    holdout = project.path / paths.HOLDOUT_SET
    frame = pd.read_parquet(holdout)
    try:
        holdout.unlink()  # a DVC-cached output is read-only (hardlinked or copied): replace it
        frame[frame[DATASET.label] == 0].to_parquet(holdout)
        done = project.rollgate("gate", "--env", "prod", "--no-track", check=False)
        result = verdict.read(project.path / paths.gate_verdict("prod"))
    finally:
        project.dvc("checkout", "-q", "--force")
        project.git("checkout", "--", str(paths.gate_verdict("prod")))
    assert done.returncode == 0, done.stderr  # a verdict, not a crash
    assert result.verdict == "reject"
    assert "evidence" in _failed(result)
    assert any("one class" in r.message or "each class" in r.message for r in result.failed), result.failed
