"""The monitor workflow (`.github/workflows/monitor.yml`) run by `act` against a bare origin, the GitHub API
stand-in and a real DVC remote: a drifted week opens exactly one retraining pull request (the default
suite's run), a second run updates it, a quiet week opens none, a degraded champion opens the revert of its
promotion, and a suppressed cause opens none (e2e)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.adapters import identity
from rollgate.contracts import baseline, paths
from tests.helpers import ROOT, Project, copy_project
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity
from tests.workflows.act import Act, Run, workflow_project

pytestmark = pytest.mark.integration

REPO = "acme/fraud-model"
APP_TOKEN = "ghs_app_installation_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)  # the repository's App: pushes and opens the pull requests
ROWS = "2000"  # rows generated per week: enough for the drift tests and the pooled positives, quickly


def _origin(project: Project, *args: str) -> str:
    return project.run("git", "--git-dir", str(project.path.parent / "origin.git"), *args).stdout


def _digest(project: Project) -> str:
    return str(json.loads((project.path / paths.release_record("prod")).read_text())["model"]["sha256"])


@pytest.fixture(scope="module")
def promoted(promoted_prod: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The session's promoted project with the workflows, pushed."""
    return workflow_project(promoted_prod, tmp_path_factory.mktemp("monitor-workflow"))


@pytest.fixture
def own(promoted: Project, tmp_path: Path) -> Project:
    """A copy with its own origin, so that a test's pushes stay its own."""
    return copy_project(promoted, tmp_path / "own")


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {APP_TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


def _run(project: Project, work: Path, api: GitHubAPI, shift: str, event: str = "workflow_dispatch") -> Run:
    act = Act(project.path.parent / "origin.git", work, dict(project.env), api.url)
    act.variables = {"ROLLGATE_APP_CLIENT_ID": "Iv23-rollgate", "ROLLGATE_EXAMPLE_SHIFT": shift}
    act.secrets = {"ROLLGATE_APP_PRIVATE_KEY": "-----BEGIN stand-in-----"}
    act.extra_env = {"ROLLGATE_ACT_APP_TOKEN": APP_TOKEN, "ROWS": ROWS}
    repository = {"full_name": REPO, "name": "fraud-model"}
    payload: dict[str, Any] = {"ref": "refs/heads/main", "repository": repository}
    payload |= {"inputs": {"env": "prod"}} if event == "workflow_dispatch" else {"schedule": "17 6 * * 1"}
    run = act.run(event, payload, "monitor.yml", None)
    assert run.returncode == 0, run.failure()
    assert run.job_results() == {"monitor": "succeeded"}
    return run


def _calls(api: GitHubAPI, operation: str) -> list[dict[str, Any]]:
    return [c for c in api.calls if c["operation"] == operation]


@pytest.mark.e2e  # the monitor's act runs belong to make test-e2e (../shared/TESTING.md)
def test_a_drifted_week_opens_exactly_one_retraining_pr(own: Project, api: GitHubAPI, tmp_path: Path) -> None:
    main, digest = _origin(own, "rev-parse", "main"), _digest(own)
    run = _run(own, tmp_path / "act", api, "amount_inflation")
    made = _calls(api, "pulls/create")
    assert len(made) == 1 and made[0]["user"] == APP.login, api.calls
    branch = f"rollgate/monitor-prod-retrain-{digest[:12]}"
    body = made[0]["body"]
    assert (body["head"], body["base"]) == (branch, "main")
    assert "## Monitor: alarm" in body["body"] and "`amount`" in body["body"]  # the monitor's report.md
    assert f"<!-- rollgate-monitor env=prod cause=retrain sha256={digest} -->" in body["body"]
    assert "/actions/runs/" in body["body"]  # where the charts are
    assert _origin(own, "rev-parse", "main") == main  # the monitor deploys nothing
    assert _origin(own, "diff", "--name-only", "main", branch).split() == ["data.dvc"]
    added = _origin(own, "log", "-1", "--format=%s", branch)
    assert added.startswith("data: the matured weeks 2026-02-02.parquet, 2026-02-09.parquet")
    charts = run.artifacts / "monitor-prod" / "report"
    assert (charts / "report.md").is_file() and (charts / "charts/feature-amount.png").is_file()


@pytest.mark.e2e
def test_a_second_run_updates_the_same_pr(own: Project, api: GitHubAPI, tmp_path: Path) -> None:
    _run(own, tmp_path / "first", api, "amount_inflation")
    _run(own, tmp_path / "second", api, "online_surge")  # the world moved again; the PR is not merged yet
    assert len(_calls(api, "pulls/create")) == 1
    updated = _calls(api, "pulls/update")
    assert len(updated) == 1 and updated[0]["path"].endswith("/pulls/1") and updated[0]["user"] == APP.login
    assert "`channel`" in updated[0]["body"]["body"]  # the second run's report
    branch = f"rollgate/monitor-prod-retrain-{_digest(own)[:12]}"
    assert _origin(own, "rev-list", "--count", f"main..{branch}").strip() == "2"  # the same branch, moved on


@pytest.mark.e2e
def test_a_quiet_week_opens_none(own: Project, api: GitHubAPI, tmp_path: Path) -> None:
    refs = _origin(own, "for-each-ref")
    run = _run(own, tmp_path / "act", api, "", event="schedule")  # a scheduled run monitors prod
    assert "monitor pr (prod): no pull request" in run.log
    assert api.calls == []
    assert _origin(own, "for-each-ref") == refs


@pytest.mark.e2e
def test_a_suppressed_cause_opens_none(own: Project, api: GitHubAPI, tmp_path: Path) -> None:
    until = (date.today() + timedelta(days=30)).isoformat()
    entry = {"env": "prod", "cause": "retrain", "expires": until, "reason": "the amount feed is being rescaled"}
    (own.path / "configs/monitor/suppressions.yaml").write_text(yaml.safe_dump({"suppressions": [entry]}))
    own.commit("suppress retraining in prod while the feed is rescaled")
    own.git("push", "-q", "origin", "main")
    refs = _origin(own, "for-each-ref")
    run = _run(own, tmp_path / "act", api, "amount_inflation")
    assert "retrain suppressed by configs/monitor/suppressions.yaml suppressions[0]" in run.log
    assert api.calls == []
    assert _origin(own, "for-each-ref") == refs


@pytest.fixture(scope="module")
def degraded(promoted: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    """The promoted project, then a much weaker model trained, pushed and promoted to prod by the promotion
    identity as a promotion commit (the gate would have refused it: the monitor is what catches a model
    that only turns out worse later); (project, that promotion commit)."""
    project = copy_project(promoted, tmp_path_factory.mktemp("degraded"))
    params = yaml.safe_load((project.path / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"].update(max_iter=1, max_leaf_nodes=2)
    project.write_params(params)
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    project.dvc("push", "-q")
    source = project.commit("a much weaker model")
    meta = json.loads((project.path / paths.MODEL_METADATA).read_text())
    lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == str(paths.MODEL_ARTIFACT))
    record_path = project.path / paths.release_record("prod")
    record = json.loads(record_path.read_text())
    champion, digest = record["model"]["sha256"], meta["sha256"]
    record["model"].update(sha256=digest, dvc_md5=md5, prediction_fingerprint=meta["prediction_fingerprint"])
    doc, file_sha = baseline.read(project.path / paths.BASELINE)  # the weaker model's own baseline
    names = [f["name"] for f in meta["features"]]
    record["baseline"] = baseline.served(doc, file_sha, names, str(paths.BASELINE)).to_dict()
    record["lineage"]["source_commit"], record["gate"]["champion_sha256"] = source, champion
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    trailers = f"Rollgate-Env: prod\nRollgate-Model-Sha256: {digest}\nRollgate-Source-Commit: {source}\n"
    bot = Project(project.path, project.env | identity.load(ROOT, "prod").git_env())
    bot.git("add", str(paths.release_record("prod")))
    bot.git("commit", "-q", "-m", f"deploy(prod): {meta['name']} {digest[:12]}\n\n{trailers}Rollgate-Verdict: promote")
    project.git("push", "-q", "origin", "main")
    return project, project.git("rev-parse", "HEAD").stdout.strip()


@pytest.mark.e2e
def test_a_degraded_champion_opens_the_revert_pr(degraded: tuple[Project, str], api: GitHubAPI, tmp_path: Path) -> None:
    own, promotion = copy_project(degraded[0], tmp_path / "own"), degraded[1]
    digest, main = _digest(own), _origin(own, "rev-parse", "main")
    _run(own, tmp_path / "act", api, "")
    made = _calls(api, "pulls/create")
    assert len(made) == 1 and made[0]["user"] == APP.login, api.calls
    body = made[0]["body"]
    assert body["head"] == f"rollgate/monitor-prod-revert-{digest[:12]}"
    assert body["title"].startswith('Revert "deploy(prod): ') and digest[:12] in body["title"]
    text = body["body"]
    for said in ("labelled rows of the matured weeks 2026-02-02.parquet, 2026-02-09.parquet", "ROC AUC",
                 "95 % interval [", f"reverts the promotion {promotion[:12]}"):  # fmt: skip
        assert said in text, text
    assert _origin(own, "rev-parse", "main") == main
    before = _origin(own, "rev-parse", f"{promotion}~1:manifests/prod").strip()
    assert _origin(own, "rev-parse", f"{body['head']}:manifests/prod").strip() == before  # the exact revert
