"""The model reaches the store its URI names: promotion pushes it to the DVC default remote (into the
promotion commit when that remote is a folder of the work tree), a failed push is a refusal that
leaves everything as it was, and a fresh clone's gate fetches the champion the record pins."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from rollgate.contracts import paths, release, verdict
from tests.delivery.story import (
    MANIFESTS,
    Story,
    back_to_v3,
    fork,
    manifests,
    model_md5,
    remote_object,
    repro,
    sha_on_disk,
    state,
)
from tests.helpers import MODEL_NAME, Project

pytestmark = pytest.mark.integration

INSIDE = "store"  # not "embedded": a remote counts as in-tree by where it resolves, not by its name


def _fork(project: Project, dest: Path) -> Project:
    """A fork with its own MLflow store: its promotions must not move the story's aliases."""
    copy = fork(project, dest)
    return Project(copy.path, {**copy.env, "MLFLOW_TRACKING_URI": f"sqlite:///{dest / 'mlflow.db'}"})


def _pinned(project: Project, ref: str) -> release.Release:
    found = release.loads(project.git("show", f"{ref}:{MANIFESTS / 'release.json'}").stdout, ref)
    assert found is not None
    return found


def test_each_promotion_pushed_its_model_to_the_remote(story: Story) -> None:
    seen = story.seen
    assert not seen["v1_in_remote_before_P1"], "`dvc repro` pushes nothing: promotion must"
    for key in ("P1", "P2", "P3", "P4"):
        model = _pinned(story.project, seen[key]["after"][0]).model
        stored = remote_object(story.project, model.dvc_md5)
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == model.sha256, key
        assert model.uri.endswith(stored.relative_to(story.project.path.parent / "dvc-remote").as_posix())


@pytest.fixture(scope="module")
def in_tree(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A fork whose default remote is an empty folder of the work tree, with v3 back and gated `rollback`."""
    project = _fork(story.project, tmp_path_factory.mktemp("in-tree"))
    project.dvc("remote", "add", "-d", INSIDE, INSIDE)
    project.git("commit", "-q", "-m", "an in-tree DVC remote", "--", ".dvc/config")
    back_to_v3(project, story.seen["v3"])
    result, _ = repro(project)
    assert result.verdict == "rollback", result.failed
    return project


def _untouched(project: Project) -> tuple[tuple[str, str], bytes, dict[str, bytes]]:
    """HEAD, the work tree's status, dvc.lock and the manifests: what a refusal must leave as it was."""
    return state(project), (project.path / "dvc.lock").read_bytes(), manifests(project)


def test_an_in_tree_remote_object_joins_the_promotion_commit(in_tree: Project, tmp_path: Path) -> None:
    project = _fork(in_tree, tmp_path)
    obj = f"{INSIDE}/files/md5/{model_md5(project)[:2]}/{model_md5(project)[2:]}"
    assert not (project.path / obj).exists()
    done = project.rollgate("promote", "--env", "prod")
    assert f"deployed {MODEL_NAME}" in done.stdout, done.stdout
    stat = project.git("show", "--stat=200", "--format=", "HEAD").stdout
    assert obj in stat, stat
    touched = project.git("show", "--name-only", "--format=", "HEAD").stdout.split()
    assert obj in touched and "manifests/prod/release.json" in touched and "dvc.lock" in touched
    assert project.git("status", "--porcelain", "--untracked-files=all").stdout == ""
    pinned = _pinned(project, "HEAD").model
    assert hashlib.sha256((project.path / obj).read_bytes()).hexdigest() == pinned.sha256
    assert pinned.uri.endswith(obj.removeprefix(f"{INSIDE}/"))


def test_a_rejected_git_push_removes_the_object_it_added(in_tree: Project, tmp_path: Path) -> None:
    project = _fork(in_tree, tmp_path)
    hook = project.path.parent / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'origin: pushes are closed' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = _untouched(project)
    done = project.rollgate("promote", "--env", "prod", check=False)
    assert done.returncode == 1 and "pushes are closed" in done.stderr, done.stderr
    assert _untouched(project) == before
    assert not (project.path / INSIDE).exists() or not any(p.is_file() for p in (project.path / INSIDE).rglob("*"))


def test_a_failed_dvc_push_refuses_with_the_command_to_run(in_tree: Project, tmp_path: Path) -> None:
    project = _fork(in_tree, tmp_path)
    (tmp_path / "a-file").write_text("")
    # Misconfigured in .dvc/config.local (ignored by git), so the work tree check still passes.
    project.dvc("remote", "modify", "--local", INSIDE, "url", str(tmp_path / "a-file" / "remote"))
    before = _untouched(project)
    done = project.rollgate("promote", "--env", "prod", check=False)
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "pushing models/model.skops (dvc md5 " in done.stderr
    assert "run `dvc push models/model.skops`" in done.stderr
    assert _untouched(project) == before
    assert project.git("ls-remote", "origin", "main").stdout.split()[0] == before[0][0]  # nothing pushed


def test_a_fresh_clone_gate_fetches_the_champion_from_the_remote(story: Story, tmp_path: Path) -> None:
    """The champion (v1, pinned by prod) is not the branch's model (v3): only the remote has it."""
    project = _fork(story.project, tmp_path)
    back_to_v3(project, story.seen["v3"])
    repro(project)
    project.dvc("push", "-q")
    project.commit("the pipeline's outputs")
    project.git("push", "-q", "origin", "HEAD:main")
    clone = Project(tmp_path / "clone", project.env)  # beside the fork: `../../dvc-remote` resolves alike
    project.run("git", "clone", "-q", str(tmp_path / "origin.git"), str(clone.path))
    clone.dvc("pull", "-q")
    shutil.rmtree(clone.path / ".dvc" / "cache")  # no cache folder at all: the champion comes from the remote
    champion = _pinned(clone, "HEAD").model
    assert champion.sha256 != sha_on_disk(clone)
    done = clone.rollgate("gate", "--env", "prod", "--no-track", check=False)
    assert done.returncode == 0, done.stderr
    judged = verdict.read(clone.path / paths.gate_verdict("prod"))
    assert (judged.champion or {}).get("sha256") == champion.sha256 and judged.verdict == "rollback"
    cached = clone.path / ".dvc" / "cache" / "files" / "md5" / champion.dvc_md5[:2] / champion.dvc_md5[2:]
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == champion.sha256
