"""`rollgate promote` in real repositories with a bare origin: commits, trailers, the refreshed lock,
MLflow, concurrent clones, a config-only re-render, and every bad input refused with nothing written."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import paths, release, trailers
from tests.delivery.story import (
    MANIFESTS,
    Story,
    back_to_v3,
    commit_params,
    fork,
    manifests,
    repro,
    sha_on_disk,
    state,
    story_params,
)
from tests.helpers import BIN, MODEL_NAME, Project

pytestmark = pytest.mark.integration

OTHER = story_params(estimator="logistic_regression", logistic_regression={"C": 0.3})


def _message(project: Project, ref: str = "HEAD") -> str:
    return project.git("log", "-1", "--format=%B", ref).stdout


def _trailers(project: Project, ref: str = "HEAD") -> dict[str, list[str]]:
    """The Rollgate-* trailers of a commit's trailer block, as git parses it."""
    return trailers.parse(project.git("log", "-1", "--format=%(trailers:only,unfold)", ref).stdout)


def _pinned(project: Project, ref: str = "HEAD") -> release.Release:
    text = project.git("show", f"{ref}:{MANIFESTS / 'release.json'}").stdout
    found = release.loads(text, ref)
    assert found is not None
    return found


def test_first_promotion_commits_manifests_lock_and_verdict(story: Story) -> None:
    project, seen = story.project, story.seen
    p1 = seen["P1"]
    assert p1["done"].returncode == 0, p1["done"].stderr
    assert f"deployed {MODEL_NAME}" in p1["done"].stdout and "alias champion" in p1["done"].stdout
    sha = p1["after"][0]
    assert _message(project, sha).startswith(f"deploy(prod): {MODEL_NAME} {seen['v1'][:12]}\n\n")
    assert project.git("rev-parse", f"{sha}~1").stdout.strip() == seen["S1"]  # the source commit is its parent
    touched = set(project.git("show", "--name-only", "--format=", sha).stdout.split())
    assert "dvc.lock" in touched and "gates/prod.json" in touched
    outputs = ("dvc.lock", "gates/prod.json", "gates/staging.json")  # and the .gitignore files DVC writes
    assert all(p.startswith("manifests/prod/") or p in outputs or p.endswith("/.gitignore") for p in touched)
    found = _trailers(project, sha)
    assert found[trailers.ENV] == ["prod"]
    assert found[trailers.MODEL_SHA256] == [seen["v1"]]
    assert found[trailers.SOURCE_COMMIT] == [seen["S1"]]
    assert found[trailers.VERDICT] == ["promote"]
    pinned = _pinned(project, sha)
    assert pinned.model.sha256 == seen["v1"] and pinned.gate.champion_sha256 is None
    assert pinned.lineage.source_commit == seen["S1"] and pinned.model.registry_version is not None
    assert pinned.model.uri.endswith(f"/files/md5/{pinned.model.dvc_md5[:2]}/{pinned.model.dvc_md5[2:]}")
    assert project.git("ls-remote", "origin", "main").stdout.split()[0] != seen["S1"]  # pushed


def test_second_promotion_judged_against_the_first_and_main_stays_consistent(story: Story) -> None:
    seen = story.seen
    assert seen["v2_verdict"].verdict == "promote", seen["v2_verdict"].failed
    p2 = seen["P2"]
    assert p2["done"].returncode == 0, p2["done"].stderr
    text = _message(story.project, p2["after"][0])
    assert f"judged against the champion {seen['v1'][:12]}" in text
    assert f"{trailers.SOURCE_COMMIT}: {seen['S2']}" in text
    assert p2["after"][1] == ""  # everything the pipeline changed went into the commit
    assert seen["status_after_P2"] == "{}"  # a no-op `dvc repro` on main runs nothing


def test_a_reject_verdict_commits_nothing(story: Story) -> None:
    refused = story.seen["withdrawn"]
    assert story.seen["withdrawn_verdict"].verdict == "reject"
    assert "Running stage 'gate@prod'" in story.seen["withdrawn_repro"], "the gate must judge afresh, not replay"
    assert refused["done"].returncode == 1
    assert "verdict 'reject' does not allow deployment" in refused["done"].stderr
    assert "withdrawn" in refused["done"].stderr
    assert refused["before"] == refused["after"]


def test_a_withdrawn_digest_is_refused_even_when_a_stale_verdict_says_promote(story: Story) -> None:
    replayed = story.seen["replayed"]
    assert replayed["done"].returncode == 1
    assert f"withdrawn digest: {story.seen['v2'][:12]}" in replayed["done"].stderr
    assert replayed["before"] == replayed["after"]


def test_same_model_with_unchanged_configs_commits_nothing(story: Story) -> None:
    same = story.seen["same"]
    assert story.seen["same_verdict"].verdict == "same_model"
    assert same["done"].returncode == 0, same["done"].stderr
    assert "nothing to deploy" in same["done"].stdout
    assert same["before"] == same["after"]


def test_a_reverted_params_commit_is_promoted_as_rollback_without_training(story: Story) -> None:
    seen = story.seen
    assert "Running stage 'train'" not in seen["rollback_repro"]
    assert "Stage 'train' is cached" in seen["rollback_repro"]
    assert seen["rollback_verdict"].verdict == "rollback", seen["rollback_verdict"].failed
    assert seen["P4"]["done"].returncode == 0, seen["P4"]["done"].stderr
    found = _trailers(story.project, seen["P4"]["after"][0])
    assert found[trailers.VERDICT] == ["rollback"] and found[trailers.MODEL_SHA256] == [seen["v1"]]
    assert found[trailers.SOURCE_COMMIT] == [seen["S3_reverted"]]
    pinned = _pinned(story.project, seen["P4"]["after"][0])
    assert pinned.gate.verdict == "rollback" and pinned.gate.champion_sha256 == seen["v3"]


def test_mlflow_holds_the_exact_bytes_once_per_digest_with_the_alias(story: Story) -> None:
    import mlflow
    from mlflow import MlflowClient

    seen = story.seen
    client = MlflowClient(story.project.env["MLFLOW_TRACKING_URI"])
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    by_sha = {v.tags["rollgate.model_sha256"]: v for v in versions}
    assert len(versions) == len(by_sha) == 3  # v1 promoted twice, one version
    assert set(by_sha) == {seen["v1"], seen["v2"], seen["v3"]}
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.version == by_sha[seen["v1"]].version
    assert int(champion.version) == _pinned(story.project).model.registry_version
    assert champion.tags["rollgate.source_commit"] == seen["S3_reverted"]  # lineage of its latest promotion
    assert champion.tags["rollgate.env.prod"] == _pinned(story.project).promoted_at
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"{champion.source}/model.skops")
    assert hashlib.sha256(Path(local).read_bytes()).hexdigest() == seen["v1"]


def test_a_registry_that_lacks_the_pinned_model_is_synced_from_git(story: Story, tmp_path: Path) -> None:
    """A fresh clone's empty local store (or a registry failure after a push): promote repairs it."""
    from mlflow import MlflowClient

    project = fork(story.project, tmp_path)
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    project = Project(project.path, {**project.env, "MLFLOW_TRACKING_URI": uri})
    before = state(project)
    done = project.rollgate("promote", "--env", "prod")
    assert "nothing to deploy" in done.stdout and "alias champion" in done.stdout, done.stdout
    assert state(project) == before
    champion = MlflowClient(uri).get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.tags["rollgate.model_sha256"] == story.seen["v1"]


# --- forks that write: concurrency, config-only change, pushes rejected, bad input -------------------


@pytest.fixture(scope="module")
def staged(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A fork where v3 is back (run cache), gated `rollback` and ready to promote."""
    project = fork(story.project, tmp_path_factory.mktemp("staged"))
    back_to_v3(project, story.seen["v3"])
    result, _ = repro(project)
    assert result.verdict == "rollback", result.failed
    return project


def _refused(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    before = state(project)
    done = project.rollgate("promote", "--env", "prod", *args, check=False)
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert state(project) == before  # nothing committed, nothing half-written
    return done


def _edit_json(path: Path, **changes: Any) -> bytes:
    saved = path.read_bytes()
    raw = json.loads(saved)
    for dotted, value in changes.items():
        target = raw
        *parents, key = dotted.split("__")
        for parent in parents:
            target = target[parent]
        target[key] = value
    path.write_text(json.dumps(raw))
    return saved


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("verdict", "reject", "verdict 'reject' does not allow deployment"),
        ("challenger__sha256", "0" * 64, "digest mismatch: gates/prod.json judged 000000000000"),
        ("env", "staging", "gates/prod.json is the verdict for 'staging', not 'prod'"),
    ],
)
def test_a_bad_verdict_is_refused(staged: Project, field: str, value: str, error: str) -> None:
    gate = staged.path / paths.gate_verdict("prod")
    saved = _edit_json(gate, **{field: value})
    try:
        assert error in _refused(staged).stderr
    finally:
        gate.write_bytes(saved)


def test_a_missing_verdict_is_refused(staged: Project) -> None:
    gate = staged.path / paths.gate_verdict("prod")
    saved = gate.read_bytes()
    gate.unlink()
    try:
        assert "gates/prod.json: missing" in _refused(staged).stderr
    finally:
        gate.write_bytes(saved)


def test_an_artifact_unlike_its_metadata_is_refused(staged: Project) -> None:
    model = staged.path / paths.MODEL_ARTIFACT
    data = model.read_bytes()
    model.unlink()  # DVC outputs may be read-only links into the cache
    model.write_bytes(data + b"tampered")
    try:
        assert "digest mismatch: models/model.skops has sha256" in _refused(staged).stderr
    finally:
        staged.dvc("checkout", "-q", "--force", str(paths.MODEL_ARTIFACT))


def test_a_withdrawn_digest_is_refused(staged: Project, story: Story) -> None:
    allowed = trailers.reallow("prod", story.seen["v3"]).as_posix()
    staged.git("rm", "-q", allowed)
    staged.git("commit", "-q", "-m", "v3 is not re-allowed after all")
    try:
        assert f"withdrawn digest: {story.seen['v3'][:12]}" in _refused(staged).stderr
        assert f"only a reviewed file {allowed}, added after that, allows it again" in _refused(staged).stderr
    finally:
        staged.git("reset", "-q", "--soft", "HEAD~1")
        staged.git("restore", "--staged", "--worktree", "--source=HEAD", "--", allowed)


def test_a_stale_source_commit_is_refused(staged: Project) -> None:
    side = staged.git("commit-tree", "HEAD^{tree}", "-p", "HEAD~3", "-m", "elsewhere").stdout.strip()
    record = staged.path / MANIFESTS / "release.json"
    saved = _edit_json(record, lineage__source_commit=side)
    staged.git("commit", "-q", "-m", "a record from elsewhere", "--", str(MANIFESTS / "release.json"))
    try:
        assert "stale source commit" in _refused(staged).stderr
    finally:
        staged.git("reset", "-q", "--soft", "HEAD~1")
        staged.git("restore", "--staged", "--worktree", "--source=HEAD", "--", str(MANIFESTS / "release.json"))
        assert record.read_bytes() == saved


@pytest.mark.parametrize("where", ["params.yaml", "notes.txt", "manifests/prod/extra.yaml"])
def test_a_work_tree_changed_beyond_the_pipeline_outputs_is_refused(staged: Project, where: str) -> None:
    path = staged.path / where
    saved = path.read_bytes() if path.exists() else None
    path.write_text((saved or b"").decode() + "\n# an edit\n")
    try:
        assert f"changes beyond the pipeline's outputs ({where})" in _refused(staged).stderr
    finally:
        path.write_bytes(saved) if saved is not None else path.unlink()


def test_a_push_rejected_every_time_undoes_the_commit(staged: Project) -> None:
    hook = staged.path.parent / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'origin: pushes are closed' >&2\nexit 1\n")
    hook.chmod(0o755)
    try:
        done = _refused(staged)
        assert "was rejected 3 times" in done.stderr and "pushes are closed" in done.stderr
    finally:
        hook.unlink()
    done = staged.rollgate("promote", "--env", "prod")  # the undo left a state promotion accepts
    assert f"deployed {MODEL_NAME}" in done.stdout and "(verdict rollback)" in done.stdout
    assert staged.git("status", "--porcelain").stdout == ""


def test_a_config_only_change_is_a_re_render_commit(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    config = project.path / "configs" / "deploy" / "prod.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["image"]["digest"] = "sha256:" + "a" * 64
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    project.git("commit", "-q", "-am", "a new image")
    before = manifests(project)
    done = project.rollgate("promote", "--env", "prod")
    assert "re-rendered prod" in done.stdout, done.stdout
    text = _message(project)
    assert text.startswith(f"deploy(prod): re-render {MODEL_NAME} {story.seen['v1'][:12]}")
    found = _trailers(project)
    render = project.git("rev-parse", "HEAD:manifests/prod").stdout.strip()  # the tree id it leaves
    assert found[trailers.RERENDER] == [render] and trailers.MODEL_SHA256 not in found
    assert _pinned(project).image.digest == "sha256:" + "a" * 64
    assert manifests(project) != before
    again = project.rollgate("promote", "--env", "prod")
    assert "nothing to deploy" in again.stdout
    assert project.git("status", "--porcelain").stdout == ""


@pytest.mark.e2e  # two promotions racing for one push: long (two retrains), so in make test-e2e
def test_two_clones_at_once_the_newer_source_wins(story: Story, tmp_path: Path) -> None:
    """Two merges, two promotion runs racing: the run of the older merge must refuse, whoever pushes first."""
    older = fork(story.project, tmp_path / "a")
    back_to_v3(older, story.seen["v3"], "v3 again (merged first)")
    newer = Project(tmp_path / "b", older.env)
    shutil.copytree(older.path, newer.path, symlinks=True)
    source = commit_params(newer, OTHER, "another model (merged second)")
    for clone in (older, newer):
        result, _ = repro(clone)
        assert result.verdict in ("promote", "rollback"), result.failed
    before = state(older)
    procs = [
        subprocess.Popen(
            [str(BIN / "rollgate"), "promote", "--env", "prod"], cwd=c.path, env=c.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for c in (older, newer)
    ]  # fmt: skip
    (_, err_old), (_, err_new) = (p.communicate(timeout=300) for p in procs)
    assert procs[1].returncode == 0, err_new
    assert procs[0].returncode == 1 and "stale" in err_old, err_old
    assert state(older) == before
    origin = tmp_path / "a" / "origin.git"
    log = subprocess.run(["git", "log", "--format=%P", "main"], cwd=origin, capture_output=True, text=True, check=True)
    assert all(len(parents.split()) <= 1 for parents in log.stdout.splitlines())  # linear: no merges
    tip = subprocess.run(
        ["git", "show", f"main:{MANIFESTS}/release.json"], cwd=origin, capture_output=True, text=True, check=True
    )
    pinned = release.loads(tip.stdout, "origin")
    assert pinned is not None and pinned.model.sha256 == sha_on_disk(newer)
    assert pinned.lineage.source_commit == source
