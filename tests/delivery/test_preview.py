"""What merging would do to manifests/<env>/, shown by `make demo` and the PR report: rendered into a
temporary directory as promotion would decide it, never into manifests/."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rollgate.contracts import paths, verdict
from rollgate.delivery import preview
from rollgate.manifests.deploy_config import load_deploy_config
from tests.delivery.story import Story, back_to_v3, fork, repro, state
from tests.helpers import APP

pytestmark = pytest.mark.integration


def _files(diff: str) -> set[str]:
    return {line.removeprefix("+++ b/") for line in diff.splitlines() if line.startswith("+++ b/")}


def test_the_pinned_model_with_unchanged_configs_changes_nothing(story: Story) -> None:
    assert preview.manifest_diff(story.project.path, "prod") == ""


def test_a_model_the_gate_allows_shows_the_record_promotion_would_write(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    back_to_v3(project, story.seen["v3"])
    assert repro(project)[0].verdict == "rollback"
    before = state(project)
    diff = preview.manifest_diff(project.path, "prod")
    assert state(project) == before, "the preview must not touch manifests/"
    assert {"manifests/prod/release.json", f"manifests/prod/{APP}-rollout.yaml"} <= _files(diff)
    assert f'+    "sha256": "{story.seen["v3"]}"' in diff
    assert f'-    "sha256": "{story.seen["v1"]}"' in diff

    report = project.rollgate("report", "--base", "HEAD~1")
    text = (project.path / report.stdout.strip()).read_text()
    assert "### Manifests merging would apply" in text and story.seen["v3"] in text


def test_a_config_change_shows_the_re_render(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    config = project.path / "configs" / "deploy" / "prod.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["rollout"]["pause_minutes"] += 5
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    diff = preview.manifest_diff(project.path, "prod")
    assert _files(diff) == {f"manifests/prod/{APP}-rollout.yaml"}
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    before, after = raw["rollout"]["pause_minutes"] - 5, raw["rollout"]["pause_minutes"]
    assert sorted(changed) == sorted(
        [f"+            duration: {after}m"] * 2 + [f"-            duration: {before}m"] * 2
    )


def test_a_rejected_model_changes_nothing(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    verdict.write(project.path / paths.gate_verdict("prod"), story.seen["withdrawn_verdict"])
    assert preview.manifest_diff(project.path, "prod") == ""


def test_the_plan_in_words_follows_the_config(story: Story) -> None:
    cfg = load_deploy_config(story.project.path, "prod")
    plan = preview.plan_in_words(cfg)
    for weight in cfg.rollout.canary_weights[:-1]:
        assert f"canary: {weight}% of live traffic" in plan
    assert f"for {cfg.rollout.shadow_minutes} min" in plan and plan.count("\n") == len(cfg.rollout.canary_weights) + 1
