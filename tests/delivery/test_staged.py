"""The two halves of a promotion on a real reproduced project: `stage` writes, `land` refuses whatever was
changed on the way (outputs, the render, the verdict), and leaves the repository as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollgate.contracts import paths
from rollgate.contracts.errors import ArtifactError, RollgateError
from rollgate.delivery import outputs, rejudge, staged
from tests.helpers import Project, copy_project

pytestmark = pytest.mark.integration


@pytest.fixture
def project(reproduced: Project, tmp_path: Path) -> Project:
    return copy_project(reproduced, tmp_path / "p")


def _untouched(project: Project) -> tuple[str, str, bytes]:
    return (
        project.git("rev-parse", "HEAD").stdout,
        project.git("status", "--porcelain").stdout,
        (project.path / "dvc.lock").read_bytes(),
    )


def test_stage_writes_the_render_and_the_outputs_and_changes_nothing(project: Project, tmp_path: Path) -> None:
    before = _untouched(project)
    plan = staged.stage(project.path, "staging", tmp_path / "out")
    assert plan.kind == staged.DEPLOY and plan.source_commit == project.git("rev-parse", "HEAD").stdout.strip()
    record = json.loads((tmp_path / "out/staging/release.json").read_text())
    assert record["model"]["sha256"] == plan.sha256 and record["model"]["registry_version"] is None
    assert (tmp_path / "out/outputs" / paths.MODEL_ARTIFACT).is_file()
    assert staged.Plan.read(tmp_path / "out", "staging") == plan
    assert _untouched(project) == before
    with pytest.raises(RollgateError, match=r"not 1{12}"):
        staged.stage(project.path, "prod", tmp_path / "other", expect="1" * 64)
    with pytest.raises(RollgateError, match="prod promotes what staging pins"):
        staged.stage(project.path, "prod", tmp_path / "other", after="staging")


def test_outputs_that_differ_from_dvc_lock_are_never_placed(project: Project, tmp_path: Path) -> None:
    outputs.collect(project.path, tmp_path / "outputs")
    model = tmp_path / "outputs" / paths.MODEL_ARTIFACT
    model.write_bytes(model.read_bytes() + b"planted")
    (project.path / paths.MODEL_ARTIFACT).unlink()
    with pytest.raises(ArtifactError, match=rf"{paths.MODEL_ARTIFACT} from the reproducing job .* refused"):
        outputs.place(project.path, tmp_path / "outputs")
    assert not (project.path / paths.MODEL_ARTIFACT).exists()


@pytest.mark.requires_schemas
def test_a_tampered_render_is_refused_by_land(project: Project, tmp_path: Path, schemas: Path) -> None:
    staged.stage(project.path, "staging", tmp_path / "out")
    record = tmp_path / "out/staging/release.json"
    raw = json.loads(record.read_text())
    raw["model"]["uri"] = "https://attacker.example.com/model.skops"
    record.write_text(json.dumps(raw, indent=2))
    before = _untouched(project)
    with pytest.raises(RollgateError, match=r"model\.uri: staged"):
        staged.land(project.path, "staging", tmp_path / "out", base=None, approved=False, schemas=schemas)
    assert _untouched(project) == before


@pytest.mark.requires_schemas
def test_a_render_pinning_another_image_is_refused(project: Project, tmp_path: Path, schemas: Path) -> None:
    staged.stage(project.path, "staging", tmp_path / "out")
    rollout = next((tmp_path / "out/staging").glob("*-rollout.yaml"))
    text = rollout.read_text()
    pinned = json.loads((tmp_path / "out/staging/release.json").read_text())["image"]["digest"]
    rollout.write_text(text.replace(pinned, "sha256:" + "e" * 64, 1))
    with pytest.raises(RollgateError, match="images other than the deploy config's"):
        staged.land(project.path, "staging", tmp_path / "out", base=None, approved=False, schemas=schemas)


@pytest.mark.requires_schemas
def test_a_render_staged_from_another_commit_is_stale(project: Project, tmp_path: Path, schemas: Path) -> None:
    staged.stage(project.path, "staging", tmp_path / "out")
    (project.path / "docs").mkdir(exist_ok=True)
    (project.path / "docs/later.md").write_text("a later merge\n")
    project.commit("a later merge")
    with pytest.raises(RollgateError, match="main moved on"):
        staged.land(project.path, "staging", tmp_path / "out", base=None, approved=False, schemas=schemas)


def test_a_hand_edited_verdict_is_refused_unless_the_gate_change_was_approved(project: Project) -> None:
    head = project.git("rev-parse", "HEAD").stdout.strip()
    assert rejudge.confirm(project.path, "staging", head, approved=False)[0].startswith("gate (staging): promote")
    verdict = project.path / paths.gate_verdict("staging")
    raw = json.loads(verdict.read_text())
    raw["reasons"][0]["message"] = "looks great"
    verdict.write_text(json.dumps(raw, indent=2))
    with pytest.raises(RollgateError, match="not the verdict the gate policy and code"):
        rejudge.confirm(project.path, "staging", head, approved=False)
    said = rejudge.confirm(project.path, "staging", head, approved=True)
    assert "decides" in said[0] and any("looks great" in line for line in said)
    assert json.loads(verdict.read_text())["reasons"][0]["message"] != "looks great"  # the base's verdict now


@pytest.mark.unit
def test_a_missing_plan_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match=r"staging\.json: no staged promotion for staging"):
        staged.Plan.read(tmp_path, "staging")
