"""The promotion workflow (`.github/workflows/promote.yml`) run for real by `act` against a bare origin.

`make test` runs a merge to main: the base's rollgate plans it, the merged code reproduces and retrains
it byte for byte, the base's rollgate re-judges it and lands the staging promotion commit; then the
push of that commit, which the loop guard stops. `make test-e2e` runs the rest: prod on the cluster's
`rollgate-rollout-succeeded` event (and the same event from someone else), a planted model refused, and
a merge that changes the gate's code judged by the base's verdict.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rollgate.contracts import paths, trailers
from tests.helpers import Project, copy_project, reproduce
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity
from tests.workflows.act import Act, Run, act_binary, add_workflow_files

pytestmark = [pytest.mark.integration, pytest.mark.requires_schemas]

REPO = "acme/fraud-model"
APP_TOKEN = "ghs_app_installation_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)
CLUSTER = "rollgate-cluster[bot]"


@dataclass
class Scene:
    project: Project
    act: Act

    @property
    def origin(self) -> Path:
        return self.project.path.parent / "origin.git"

    def main(self) -> str:
        return self.project.run("git", "--git-dir", str(self.origin), "rev-parse", "main").stdout.strip()

    def show(self, rev: str, path: str) -> str:
        return self.project.run("git", "--git-dir", str(self.origin), "show", f"{rev}:{path}").stdout

    def message(self, rev: str) -> str:
        return self.project.run("git", "--git-dir", str(self.origin), "log", "-1", "--format=%B", rev).stdout


def _scene(project: Project, schemas: Path, work: Path) -> Scene:
    act = Act(project.path.parent / "origin.git", work, {**project.env, "SCHEMAS": str(schemas)}, api_url="")
    act.variables = {"ROLLGATE_APP_CLIENT_ID": "Iv23-rollgate", "ROLLGATE_CLUSTER_APP": CLUSTER}
    act.secrets = {"ROLLGATE_APP_PRIVATE_KEY": "-----BEGIN stand-in-----"}
    act.extra_env = {"ROLLGATE_ACT_APP_TOKEN": APP_TOKEN}
    return Scene(project, act)


def push_event(before: str, after: str) -> dict[str, object]:
    return {"ref": "refs/heads/main", "before": before, "after": after, "forced": False,
            "repository": {"full_name": REPO, "name": "fraud-model"}, "sender": {"login": "octocat"}}  # fmt: skip


def succeeded_event(revision: str, digest: str, sender: str = CLUSTER) -> dict[str, object]:
    payload = {"env": "staging", "revision": revision, "model_sha256": digest}
    return {"action": "rollgate-rollout-succeeded", "client_payload": payload, "sender": {"login": sender},
            "ref": "refs/heads/main", "repository": {"full_name": REPO, "name": "fraud-model"}}  # fmt: skip


@pytest.fixture(scope="module")
def merged(seed_project: Project, schemas: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, str]:
    """A project whose main holds the workflows (the base, pushed) and then a merge that reproduced the
    pipeline (pushed): (scene, the base commit)."""
    act_binary()
    base = tmp_path_factory.mktemp("promote-workflow")
    project = copy_project(seed_project, base)
    project.dvc("remote", "modify", "local", "url", str(base / "dvc-remote"))  # act's workspaces live elsewhere
    add_workflow_files(project)
    project.commit("the workflows")
    before = project.git("rev-parse", "HEAD").stdout.strip()
    reproduce(project)
    project.git("push", "-q", "origin", "main")
    (base / "act").mkdir()
    copy_project(project, base / "pristine")  # as merged, before any promotion (copied by _own)
    return _scene(project, schemas, base / "act"), before


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {APP_TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


@pytest.fixture(scope="module")
def staged(merged: tuple[Scene, str]) -> tuple[Scene, str, Run, float]:
    """The merge's run: (scene, the merge commit, the run, its seconds from act's start to its end)."""
    scene, before = merged
    after = scene.main()
    with GitHubAPI(openapi.operations(), REPO, {APP_TOKEN: APP}) as stand_in:
        scene.act.api_url = stand_in.url
        start = time.monotonic()
        run = scene.act.run("push", push_event(before, after), "promote.yml", None)
        took = time.monotonic() - start
    return scene, after, run, took


def said(run: Run, lines: int = 80) -> str:
    """What the run's steps printed and which failed (act's log is mostly its own bookkeeping)."""
    kept = [line for line in run.log.splitlines() if "  | " in line or "❌" in line or "Error" in line]
    return "\n".join(kept[-lines:])


def _trailers(message: str) -> dict[str, str]:
    block = message.strip().split("\n\n")[-1]
    return dict(line.split(": ", 1) for line in block.splitlines() if re.match(r"^Rollgate-[\w-]+: ", line))


def test_a_merge_lands_the_staging_promotion_after_a_byte_identical_retrain(
    staged: tuple[Scene, str, Run, float],
) -> None:
    scene, merge, run, took = staged
    assert run.returncode == 0, said(run)
    assert run.job_results() == {"plan": "succeeded", "build": "succeeded", "land-staging": "succeeded"}
    assert "train --verify: retrained without any cache" in run.log
    assert "as the gate policy and code of" in run.log  # the base's re-judgement confirmed the verdict
    promotion = scene.main()
    assert (
        scene.project.run("git", "--git-dir", str(scene.origin), "rev-parse", f"{promotion}^").stdout.strip() == merge
    )
    model = json.loads((scene.project.path / paths.MODEL_METADATA).read_text())["sha256"]  # what the merge trained
    record = json.loads(scene.show(promotion, str(paths.release_record("staging"))))
    assert record["model"]["sha256"] == model and record["lineage"]["source_commit"] == merge
    found = _trailers(scene.message(promotion))
    assert found[trailers.ENV] == "staging" and found[trailers.MODEL_SHA256] == model
    assert scene.show(promotion, str(paths.release_record("prod"))) == scene.show(
        merge, str(paths.release_record("prod"))
    )
    print(f"\nmerge to staging promotion commit: {took:.0f} s (act start to end, one retrain included)")


def test_the_promotion_commit_never_starts_another(staged: tuple[Scene, str, Run, float], api: GitHubAPI) -> None:
    scene, merge, run, _ = staged
    assert run.returncode == 0
    promotion = scene.main()
    scene.act.api_url = api.url
    again = scene.act.run("push", push_event(merge, promotion), "promote.yml", None)
    assert again.returncode == 0, said(again)
    assert again.job_results() == {"plan": "succeeded"}
    assert "loop guard" in again.log
    assert scene.main() == promotion


@pytest.mark.e2e
def test_prod_promotes_the_digest_staging_pinned_on_the_clusters_event(
    staged: tuple[Scene, str, Run, float], api: GitHubAPI, tmp_path: Path
) -> None:
    own = _own(staged, tmp_path, api)
    promotion = own.main()
    digest = json.loads(own.show(promotion, str(paths.release_record("staging"))))["model"]["sha256"]
    forged = own.act.run("repository_dispatch", succeeded_event(promotion, digest, "octocat"), "promote.yml", None)
    assert forged.returncode == 0 and forged.job_results() == {}, forged.log[-4000:]  # no job runs for others
    done = own.act.run("repository_dispatch", succeeded_event(promotion, digest), "promote.yml", None)
    assert done.returncode == 0, said(done)
    assert done.job_results() == {
        "event": "succeeded", "settle": "succeeded", "build-prod": "succeeded", "land-prod": "succeeded"
    }  # fmt: skip
    prod = own.main()
    assert json.loads(own.show(prod, str(paths.release_record("prod"))))["model"]["sha256"] == digest
    assert _trailers(own.message(prod))[trailers.ENV] == "prod"
    synced = own.project.run("git", "--git-dir", str(own.origin), "rev-parse", "rollgate/synced/staging")
    assert synced.stdout.strip() == promotion


def _own(staged: tuple[Scene, str, Run, float], tmp_path: Path, api: GitHubAPI, pristine: bool = False) -> Scene:
    """A copy of the scene after the staging promotion (as merged, before any promotion, when `pristine`)
    with its own origin, so that a test's pushes stay its own, its workflows talking to `api`."""
    scene, _, run, _ = staged
    if pristine:
        source = Project(scene.project.path.parent / "pristine/work", scene.project.env)
    else:
        assert run.returncode == 0, "the staging promotion these tests start from failed"
        source = scene.project
    (tmp_path / "act").mkdir()
    own = _scene(copy_project(source, tmp_path / "own"), Path(scene.act.env["SCHEMAS"]), tmp_path / "act")
    own.act.api_url = api.url
    return own


def _merge(scene: Scene, change: str, edit: object) -> tuple[str, str]:
    """Commit `edit(project)` on main as a merge would, push it; (before, after)."""
    p = scene.project
    p.git("fetch", "-q", "origin")
    p.git("checkout", "-q", "-B", "main", "origin/main")
    before = p.git("rev-parse", "HEAD").stdout.strip()
    edit(p)  # type: ignore[operator]
    p.commit(change)
    p.git("push", "-q", "origin", "main")
    return before, p.git("rev-parse", "HEAD").stdout.strip()


@pytest.mark.e2e
def test_a_planted_model_is_refused_by_the_retrain(
    staged: tuple[Scene, str, Run, float], api: GitHubAPI, tmp_path: Path
) -> None:
    own = _own(staged, tmp_path, api)

    def plant(p: Project) -> None:
        # Train with other params, then put the committed params back into params.yaml and dvc.lock: the
        # lock is consistent (a no-op `dvc repro`), as a planted run-cache entry would leave it, but its
        # model is not what the committed params train.
        params = yaml.safe_load((p.path / "params.yaml").read_text())
        original = params["train"]["hist_gradient_boosting"]["max_iter"]
        params["train"]["hist_gradient_boosting"]["max_iter"] = original + 7
        p.write_params(params)
        p.dvc("repro", "-q", "--single-item", "dvc.yaml")
        params["train"]["hist_gradient_boosting"]["max_iter"] = original
        p.write_params(params)
        lock = yaml.safe_load((p.path / "dvc.lock").read_text())
        lock["stages"]["train"]["params"]["params.yaml"]["train"]["hist_gradient_boosting"]["max_iter"] = original
        (p.path / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
        assert p.dvc("status", "--json").stdout.strip() == "{}"
        p.dvc("push", "-q")

    before, after = _merge(own, "planted model", plant)
    refused = own.act.run("push", push_event(before, after), "promote.yml", None)
    assert refused.returncode != 0
    assert refused.job_results()["build"] == "failed"
    assert "the retrained model differs" in refused.log
    assert own.main() == after  # nothing landed


@pytest.mark.e2e
def test_a_merge_changing_the_gate_code_is_judged_by_the_base(
    staged: tuple[Scene, str, Run, float], api: GitHubAPI, tmp_path: Path
) -> None:
    own = _own(staged, tmp_path, api, pristine=True)

    def reword(p: Project) -> None:
        decide = p.path / "src/rollgate/gate/decide.py"
        text = decide.read_text()
        assert "yet: only the absolute floors apply" in text
        decide.write_text(text.replace("yet: only the absolute floors apply", "yet: only the floors apply"))
        # The verdicts as the merged code gives them: its own rollgate, not the suite's.
        merged = Project(p.path, {**p.env, "PYTHONPATH": str(p.path / "src")})
        merged.dvc("repro", "-q", "--single-item", "dvc.yaml")

    before, after = _merge(own, "reword the gate", reword)
    done = own.act.run("push", push_event(before, after), "promote.yml", None)
    assert done.returncode == 0, said(done)
    assert done.job_results()["review"] == "succeeded"
    assert "the verdict of" in done.log and "decides" in done.log
    landed = json.loads(own.show(own.main(), str(paths.gate_verdict("staging"))))
    assert "only the absolute floors apply" in json.dumps(landed)  # the base's wording: the base's verdict


@pytest.mark.e2e
def test_a_forged_verdict_on_main_is_refused_by_the_privileged_job(
    staged: tuple[Scene, str, Run, float], api: GitHubAPI, tmp_path: Path
) -> None:
    own = _own(staged, tmp_path, api, pristine=True)

    def forge(p: Project) -> None:
        verdict = p.path / paths.gate_verdict("staging")
        raw = json.loads(verdict.read_text())
        raw["reasons"][0]["message"] = "reviewed by hand: fine"
        verdict.write_text(json.dumps(raw, indent=2) + "\n")

    before, after = _merge(own, "forge the staging verdict", forge)
    refused = own.act.run("push", push_event(before, after), "promote.yml", None)
    assert refused.returncode != 0
    assert refused.job_results()["land-staging"] == "failed", said(refused)
    assert "is not the verdict the gate policy and code of" in refused.log
    assert own.main() == after  # nothing landed
