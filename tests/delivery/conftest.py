"""The delivery story fixture: run once per session, shared by the promotion, preview and rollback tests."""

from __future__ import annotations

import pytest

from rollgate.contracts import paths, verdict
from tests.delivery.story import (
    LINEAR,
    LINEAR_SOFT,
    Story,
    commit_params,
    head,
    manifests,
    model_md5,
    promote_step,
    remote_object,
    repro,
    revert,
    sha_on_disk,
    start,
    state,
)
from tests.helpers import Project


@pytest.fixture(scope="session")
def story(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Story:
    project = start(seed_project, tmp_path_factory.mktemp("story"))
    story = Story(project)
    seen = story.seen
    seen["v1_verdict"], _ = repro(project)
    seen["v1"] = sha_on_disk(project)
    seen["S1"] = head(project)
    seen["v1_in_remote_before_P1"] = remote_object(project, model_md5(project)).exists()
    promote_step(project, story, "P1")  # dvc.lock and gates/ are carried by the promotion commit
    seen["S2"] = commit_params(project, LINEAR, "logistic regression")
    seen["v2_verdict"], _ = repro(project)
    seen["v2"] = sha_on_disk(project)
    promote_step(project, story, "P2")
    seen["status_after_P2"] = project.dvc("status", "--json").stdout.strip()
    before = state(project)
    seen["rollback"] = project.rollgate("rollback", "--env", "prod", check=False)
    seen["rollback_state"] = (before, state(project))
    seen["after_rollback"] = manifests(project)
    # The gate has no run cache: it judges afresh and sees the withdrawal in git history.
    seen["withdrawn_verdict"], seen["withdrawn_repro"] = repro(project)
    promote_step(project, story, "withdrawn")
    # A verdict gated before the rollback landed (a stale CI run) says `promote` for v2: refused too.
    verdict.write(project.path / paths.gate_verdict("prod"), seen["v2_verdict"])
    promote_step(project, story, "replayed")
    verdict.write(project.path / paths.gate_verdict("prod"), seen["withdrawn_verdict"])
    seen["S2_reverted"] = revert(project, seen["S2"])
    seen["same_verdict"], _ = repro(project)
    promote_step(project, story, "same")
    seen["S3"] = commit_params(project, LINEAR_SOFT, "logistic regression, stronger regularisation")
    seen["v3_verdict"], _ = repro(project)
    seen["v3"] = sha_on_disk(project)
    promote_step(project, story, "P3")
    seen["S3_reverted"] = revert(project, seen["S3"])
    seen["rollback_verdict"], seen["rollback_repro"] = repro(project)
    promote_step(project, story, "P4")
    return story
