"""The pull-request workflow (`.github/workflows/pr.yml`) run for real by `act` against a bare origin:
real git, the real DVC pipeline, the GitHub API stand-in checked against GitHub's OpenAPI description.

`make test` runs the params PR (verdicts, the report posted once) with the rehearsal switched off
(ROLLGATE_REHEARSE=false); `make test-e2e` the rest of the matrix: the params PR with its rollout
rehearsal in the report, a second push updating the same comment, a fork, a forged verdict, a person's
revert of a promotion, a hand edit of manifests/prod/, a docs-only PR.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rollgate.ci.summary import FORK_NOTE
from rollgate.contracts import markers, paths
from tests.helpers import Project, copy_project, reproduce
from tests.rehearse.conftest import rehearsal_tools  # noqa: F401 (a fixture: nginx and prometheus here)
from tests.standins import events, openapi
from tests.standins.github_api import GitHubAPI
from tests.workflows.act import Act, Run, act_binary, add_workflow_files

pytestmark = [pytest.mark.integration, pytest.mark.requires_schemas]

REPO = "acme/fraud-model"
TOKEN = "ghs_pr_workflow_token"
OFF = {"ROLLGATE_REHEARSE": "false"}  # the repository variable that skips the rehearsal (minutes)


@dataclass
class Scene:
    """A reproduced project whose main (with the workflows) is pushed to its bare origin."""

    project: Project
    act: Act

    @property
    def origin(self) -> Path:
        return self.project.path.parent / "origin.git"

    def open_pr(
        self, number: int, branch: str, change: Callable[[Project], None], action: str = "opened"
    ) -> dict[str, object]:
        """Commit `change` on `branch` (from main, or on top of it when it exists), push it as GitHub would
        (the branch, refs/pull/<n>/head and the merge commit refs/pull/<n>/merge); the event payload."""
        p = self.project
        p.git("fetch", "-q", "origin")
        base = p.git("rev-parse", "origin/main").stdout.strip()
        exists = p.git("rev-parse", "-q", "--verify", f"origin/{branch}", check=False).returncode == 0
        p.git("checkout", "-q", "-B", branch, f"origin/{branch}" if exists else base)
        change(p)
        p.git("add", "-A")
        p.git("commit", "-q", "-m", f"{branch}: change")
        head = p.git("rev-parse", "HEAD").stdout.strip()
        p.git("push", "-q", "-f", "origin", f"{branch}:refs/heads/{branch}", f"{head}:refs/pull/{number}/head")
        p.git("checkout", "-q", "--detach", base)
        p.git("merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", head)
        merge = p.git("rev-parse", "HEAD").stdout.strip()
        p.git("push", "-q", "-f", "origin", f"{merge}:refs/pull/{number}/merge")
        p.git("checkout", "-q", "main")
        return events.pull_request_event(
            action, number, base_sha=base, base_ref="main", head_sha=head, head_ref=branch, repo_full_name=REPO
        )

    def refs(self) -> str:
        return self.project.run("git", "--git-dir", str(self.origin), "for-each-ref").stdout


@pytest.fixture(scope="module")
def scene(seed_project: Project, schemas: Path, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    act_binary()
    base = tmp_path_factory.mktemp("pr-workflow")
    project = copy_project(seed_project, base)
    # act's workspaces live elsewhere: the remote by absolute path, as a cloud remote's URL would be.
    project.dvc("remote", "modify", "local", "url", str(base / "dvc-remote"))
    add_workflow_files(project)
    reproduce(project)
    project.git("push", "-q", "origin", "main")
    env = {**project.env, "SCHEMAS": str(schemas)}
    (base / "act").mkdir()
    return Scene(project, Act(base / "origin.git", base / "act", env, api_url="", variables=dict(OFF)))


@pytest.fixture
def api(scene: Scene) -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO) as stand_in:
        scene.act.api_url = stand_in.url
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


def run_pr(scene: Scene, api: GitHubAPI, event: dict[str, object], token: str | None = TOKEN) -> Run:
    api.state.open_issue(int(event["number"]))  # type: ignore[arg-type]
    return scene.act.run("pull_request", event, "pr.yml", token)


def tune(max_iter: int) -> Callable[[Project], None]:
    def change(p: Project) -> None:
        params = yaml.safe_load((p.path / "params.yaml").read_text())
        params["train"]["hist_gradient_boosting"]["max_iter"] = max_iter
        p.write_params(params)

    return change


def jobs(run: Run) -> dict[str, str]:
    return run.job_results()


def test_a_params_pr_gets_its_verdicts_and_one_report(scene: Scene, api: GitHubAPI) -> None:
    event = scene.open_pr(11, "tune-11", tune(30))
    started = time.monotonic()
    run = run_pr(scene, api, event)
    took = time.monotonic() - started
    assert run.returncode == 0, run.failure()
    assert jobs(run) == {"classify": "succeeded", "gate": "succeeded", "comment": "succeeded", "rollgate": "succeeded"}
    comments = api.state.on(11)
    assert len(comments) == 1, comments
    body = comments[0]["body"]
    assert markers.REPORT in body
    for env in paths.environments(scene.project.path):
        assert env in body
    assert "max_iter" in body  # what changed in params
    assert [c["operation"] for c in api.calls if c["method"] != "GET"] == ["issues/create-comment"]
    assert {c["user"] for c in api.calls} == {"github-actions[bot]"}
    assert "a **pipeline** pull request" in run.log
    assert "Rollout rehearsal" not in body  # switched off: no section at all
    print(f"params PR to its verdict and report: {took:.0f} s")  # the goal is under 3 minutes


def _sudo(folder: Path) -> dict[str, str]:
    """PATH with a `sudo` that just runs its command: GitHub's runner is not root and has sudo, this
    host's tests run as root (or as a developer) and may have none; the packages are already here."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "sudo"
    shim.write_text('#!/bin/sh\nexec "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


@pytest.mark.e2e
@pytest.mark.usefixtures("rehearsal_tools")
def test_a_params_pr_gets_its_rollout_rehearsal_in_the_report(scene: Scene, api: GitHubAPI, tmp_path: Path) -> None:
    # staging needs a champion to rehearse against, and the gate must pass the PR's challenger: main
    # judges by non-inferiority (a tuned model is rarely significantly better on tiny data) with the
    # latency and operating-point bands out of the way, and its model is promoted to staging.
    own = copy_project(scene.project, tmp_path)
    own.dvc("remote", "modify", "local", "url", str(tmp_path / "dvc-remote"))
    params = yaml.safe_load((own.path / "params.yaml").read_text())
    params["gate"].update(rule="non_inferiority", margin=0.05)
    params["gate"]["latency"]["budget_ratio"] = 50.0
    params["gate"]["operating_point"]["max_positive_rate_ratio"] = 100.0
    own.write_params(params)
    reproduce(own)
    own.git("push", "-q", "origin", "main")
    own.as_promotion_identity().rollgate("promote", "--env", "staging")
    env = {**scene.act.env, **_sudo(tmp_path / "bin")}
    mine = Scene(own, Act(tmp_path / "origin.git", tmp_path / "act", env, api.url))
    (tmp_path / "act").mkdir()
    event = mine.open_pr(18, "tune-18", tune(30))
    api.state.open_issue(18)
    started = time.monotonic()
    run = mine.act.run("pull_request", event, "pr.yml", TOKEN, timeout=1800)
    took = time.monotonic() - started
    assert run.returncode == 0, run.failure()
    assert jobs(run) == {
        "classify": "succeeded", "gate": "succeeded", "rehearse": "succeeded", "comment": "succeeded",
        "comment-rehearsal": "succeeded", "rollgate": "succeeded",
    }  # fmt: skip
    uploaded = run.artifacts / "rehearsal"
    names = {p.name for p in uploaded.iterdir()}
    assert {"timeline.json", "timeline.md"} <= names, names
    timeline = json.loads((uploaded / "timeline.json").read_text())
    assert timeline["env"] == "staging" and {f"{m}.png" for m in timeline["thresholds"]} <= names
    table = (uploaded / "timeline.md").read_text()
    [comment] = api.state.on(18)  # one sticky comment: posted with the rehearsal pending, then updated
    body = comment["body"]
    assert [c["operation"] for c in api.calls if c["method"] != "GET"] == [
        "issues/create-comment",
        "issues/update-comment",
    ]
    assert markers.REPORT in body and "### Rollout rehearsal (staging)" in body
    assert table.strip() in body and f"**Verdict: {timeline['verdict']}**" in body
    assert "[the `rehearsal` artifact](" in body
    print(f"params PR to its verdict and report, with the rehearsal ({timeline['verdict']}): {took:.0f} s")


@pytest.mark.e2e
def test_a_second_push_updates_the_same_comment(scene: Scene, api: GitHubAPI) -> None:
    first = run_pr(scene, api, scene.open_pr(12, "tune-12", tune(28)))
    assert first.returncode == 0, first.failure()
    second = run_pr(scene, api, scene.open_pr(12, "tune-12", tune(27), action="synchronize"))
    assert second.returncode == 0, second.failure()
    comments = api.state.on(12)
    assert len(comments) == 1
    writes = [c["operation"] for c in api.calls if c["method"] != "GET"]
    assert writes == ["issues/create-comment", "issues/update-comment"]
    assert "27" in comments[0]["body"]


@pytest.mark.e2e
def test_a_fork_pr_runs_without_credentials_and_says_what_it_skipped(scene: Scene, api: GitHubAPI) -> None:
    event = scene.open_pr(13, "fork-13", tune(29))
    event = events.pull_request_event(
        "opened", 13, base_sha=event["pull_request"]["base"]["sha"], base_ref="main",  # type: ignore[index]
        head_sha=event["pull_request"]["head"]["sha"], head_ref="fork-13", repo_full_name=REPO, fork=True,  # type: ignore[index]
    )  # fmt: skip
    before = scene.refs()
    run = run_pr(scene, api, event, token=None)
    assert run.returncode == 0, run.failure()
    assert jobs(run)["gate"] == "succeeded" and "comment" not in jobs(run)
    assert api.calls == []  # no comment, no API call at all
    assert FORK_NOTE.split(":")[0] in run.log
    assert scene.refs() == before  # nothing pushed


@pytest.mark.e2e
def test_a_forged_verdict_fails_the_pr(scene: Scene, api: GitHubAPI) -> None:
    def forge(p: Project) -> None:
        path = p.path / paths.gate_verdict("prod")
        found = json.loads(path.read_text())
        found["challenger"]["metrics"]["roc_auc"] = 0.999
        path.write_text(json.dumps(found, indent=2) + "\n")

    run = run_pr(scene, api, scene.open_pr(14, "forge-14", forge))
    assert run.returncode != 0
    assert jobs(run)["gate"] == "failed" and jobs(run)["rollgate"] == "failed"
    assert "as committed is not the verdict the pipeline gives" in run.log
    assert "roc_auc" in run.log


@pytest.mark.e2e
def test_a_hand_edit_of_prod_manifests_fails(scene: Scene, api: GitHubAPI) -> None:
    def edit(p: Project) -> None:
        (p.path / "manifests/prod/extra.yaml").write_text("kind: ConfigMap\n")

    run = run_pr(scene, api, scene.open_pr(15, "edit-15", edit))
    assert run.returncode != 0
    assert jobs(run)["classify"] == "failed" and jobs(run)["rollgate"] == "failed"
    assert "forbidden" in run.log and "gate" not in jobs(run)


@pytest.mark.e2e
def test_a_docs_only_pr_passes_without_running_the_pipeline(scene: Scene, api: GitHubAPI) -> None:
    run = run_pr(scene, api, scene.open_pr(16, "docs-16", lambda p: (p.path / "NOTES.md").write_text("notes\n")))
    assert run.returncode == 0, run.failure()
    assert jobs(run) == {"classify": "succeeded", "rollgate": "succeeded"}
    assert "a **none** pull request" in run.log and api.calls == []


@pytest.mark.e2e
def test_a_persons_revert_of_a_promotion_passes_and_records_the_withdrawal(
    scene: Scene, api: GitHubAPI, tmp_path: Path
) -> None:
    own = copy_project(scene.project, tmp_path)
    own.dvc("remote", "modify", "local", "url", str(tmp_path / "dvc-remote"))
    own.commit("own remote")
    own.git("push", "-q", "origin", "main")
    own.as_promotion_identity().rollgate("promote", "--env", "prod")
    promoted = own.git("rev-parse", "HEAD").stdout.strip()
    digest = json.loads((own.path / paths.release_record("prod")).read_text())["model"]["sha256"]
    mine = Scene(own, Act(tmp_path / "origin.git", tmp_path / "act", {**scene.act.env}, api.url))
    (tmp_path / "act").mkdir()
    event = mine.open_pr(17, "revert-17", lambda p: p.git("revert", "--no-commit", promoted))
    run = mine.act.run("pull_request", event, "pr.yml", TOKEN)
    assert run.returncode == 0, run.failure()
    assert jobs(run) == {"classify": "succeeded", "rollgate": "succeeded"}
    assert "a **revert** pull request" in run.log
    assert f"prod: {digest}" in run.log  # what merging withdraws
