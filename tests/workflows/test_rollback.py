"""The rollback workflow (`.github/workflows/rollback.yml`) run by `act` against a bare origin: a
dispatched rollback restores the previous manifests; an abort event opens the revert pull request of
its cause, and only when the cluster's App sent it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgate.contracts import paths
from tests.helpers import Project, copy_project
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity
from tests.workflows.act import Act, workflow_project

pytestmark = pytest.mark.integration

REPO = "acme/fraud-model"
APP_TOKEN = "ghs_app_installation_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)  # the repository's App: pushes and opens the revert PR
CLUSTER = "rollgate-cluster[bot]"  # the cluster's App: sends the rollout events


def _tree(project: Project, rev: str, folder: str = "manifests/prod") -> str:
    return project.run("git", "rev-parse", f"{rev}:{folder}").stdout.strip()


@pytest.fixture(scope="module")
def promoted(promoted_prod: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str, str]:
    """The session's promoted project with the workflows and its remote by absolute path (act's
    workspaces live elsewhere), pushed; (project, its prod promotion, manifests/prod/'s tree before it)."""
    project = workflow_project(promoted_prod, tmp_path_factory.mktemp("rollback-workflow"))
    promotion = project.git("log", "-1", "--format=%H", "--", "manifests/prod").stdout.strip()
    return project, promotion, _tree(project, f"{promotion}~1")


def _act(project: Project, tmp_path: Path, api_url: str) -> Act:
    origin = project.path.parent / "origin.git"
    act = Act(origin, tmp_path, dict(project.env), api_url)
    act.variables = {"ROLLGATE_APP_CLIENT_ID": "Iv23-rollgate", "ROLLGATE_CLUSTER_APP": CLUSTER}
    act.secrets = {"ROLLGATE_APP_PRIVATE_KEY": "-----BEGIN stand-in-----"}
    act.extra_env = {"ROLLGATE_ACT_APP_TOKEN": APP_TOKEN}
    return act


@pytest.fixture
def own(promoted: tuple[Project, str, str], tmp_path: Path) -> Project:
    """A copy of the promoted project with its own origin, so that a test's pushes stay its own."""
    return copy_project(promoted[0], tmp_path / "own")


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {APP_TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


def _origin_main(project: Project) -> str:
    return project.run("git", "--git-dir", str(project.path.parent / "origin.git"), "rev-parse", "main").stdout.strip()


def _dispatch(inputs: dict[str, str]) -> dict[str, object]:
    return {"inputs": inputs, "ref": "refs/heads/main", "repository": {"full_name": REPO, "name": "fraud-model"}}


def test_a_dispatched_rollback_restores_the_previous_manifests(
    promoted: tuple[Project, str, str], own: Project, api: GitHubAPI, tmp_path: Path
) -> None:
    before = promoted[2]
    run = _act(own, tmp_path / "act", api.url).run(
        "workflow_dispatch", _dispatch({"env": "prod"}), "rollback.yml", None
    )
    assert run.returncode == 0, run.failure()
    assert run.job_results() == {"rollback": "succeeded"}
    own.git("fetch", "-q", "origin")
    assert _tree(own, "origin/main") == before  # manifests/prod/ byte for byte as before the promotion
    assert own.git("log", "-1", "--format=%s", "origin/main").stdout.startswith('Revert "deploy(prod)')
    assert "withdrew" in run.log


def _abort_event(digest: str, sender: str) -> dict[str, object]:
    payload = {"env": "prod", "namespace": "fraud", "rollout": "fraud-detector", "revision": "abc123",
               "model_sha256": digest, "message": "analysis run failed: positive-rate ratio 3.1 > 1.5"}  # fmt: skip
    return {"action": "rollgate-rollout-aborted", "client_payload": payload, "sender": {"login": sender},
            "ref": "refs/heads/main", "repository": {"full_name": REPO, "name": "fraud-model"}}  # fmt: skip


@pytest.mark.e2e
def test_an_abort_event_opens_the_revert_pr_of_its_cause(
    promoted: tuple[Project, str, str], own: Project, api: GitHubAPI, tmp_path: Path
) -> None:
    _, promotion, before = promoted
    digest = json.loads((own.path / paths.release_record("prod")).read_text())["model"]["sha256"]
    main = _origin_main(own)
    run = _act(own, tmp_path / "act", api.url).run(
        "repository_dispatch", _abort_event(digest, CLUSTER), "rollback.yml", None
    )
    assert run.returncode == 0, run.failure()
    assert run.job_results() == {"revert-aborted": "succeeded"}
    assert _origin_main(own) == main  # main untouched: the revert is a pull request
    pulls = [c for c in api.calls if c["operation"] == "pulls/create"]
    assert len(pulls) == 1 and pulls[0]["user"] == APP.login
    body = pulls[0]["body"]
    assert body["base"] == "main" and body["head"] == f"rollgate/revert-prod-{promotion[:12]}"
    assert "positive-rate ratio 3.1" in body["body"] and digest in body["body"]
    own.git("fetch", "-q", "origin")
    assert _tree(own, f"origin/{body['head']}") == before  # the branch is the exact revert


@pytest.mark.e2e
def test_an_abort_event_from_anyone_but_the_cluster_app_is_refused(
    promoted: tuple[Project, str, str], own: Project, api: GitHubAPI, tmp_path: Path
) -> None:
    digest = json.loads((own.path / paths.release_record("prod")).read_text())["model"]["sha256"]
    refs = own.run("git", "--git-dir", str(own.path.parent / "origin.git"), "for-each-ref").stdout
    run = _act(own, tmp_path / "act", api.url).run(
        "repository_dispatch", _abort_event(digest, "someone-with-a-token"), "rollback.yml", None
    )
    assert run.returncode != 0
    assert "not by the cluster's App" in run.log
    assert [c for c in api.calls if c["method"] != "GET"] == []
    assert own.run("git", "--git-dir", str(own.path.parent / "origin.git"), "for-each-ref").stdout == refs
