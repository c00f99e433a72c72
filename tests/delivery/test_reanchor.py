"""`rollgate re-anchor` on a history like the shipped example's (manifests pinned by ordinary commits):
afterwards the history since the anchor passes `rollgate check-changes`, with the same bytes pinned."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rollgate.adapters import history
from rollgate.contracts import paths, release, trailers
from tests.helpers import BIN, ROOT
from tests.trust_repo import BOT, PERSON, Repo

pytestmark = pytest.mark.integration


def _rollgate(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "rollgate"), "--root", str(repo.path), *args]
    return subprocess.run(cmd, env=repo.env, capture_output=True, text=True, check=False)


def _files(repo: Repo) -> dict[str, bytes]:
    base = repo.path / "manifests"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.fixture
def example(tmp_path: Path) -> Repo:
    """The shipped manifests, pinned by a person's commits with promotion trailers, then edited by hand."""
    repo = Repo(tmp_path)
    for env in ("staging", "prod"):
        shutil.rmtree(repo.path / "manifests" / env)
        shutil.copytree(ROOT / "manifests" / env, repo.path / "manifests" / env)
        pinned = release.read_env(repo.path, env)
        assert pinned is not None
        repo.commit(
            f"deploy({env}): the example", f"{trailers.ENV}: {env}\n{trailers.MODEL_SHA256}: {pinned.model.sha256}"
        )
    rollout = next((repo.path / "manifests/prod").glob("*-rollout.yaml"))
    rollout.write_text(rollout.read_text() + "# re-rendered by hand\n")
    repo.commit("manifests re-rendered")
    rollout.write_bytes((ROOT / "manifests/prod" / rollout.name).read_bytes())
    repo.commit("manifests re-rendered again")
    return repo


def test_the_example_history_passes_the_check_after_re_anchoring(example: Repo) -> None:
    root = example.git("rev-list", "--max-parents=0", "HEAD")
    refused = _rollgate(example, "check-changes", "--base", root)
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    before, pinned_before, tip = (
        _files(example),
        release.read_env(example.path, "prod"),
        example.git("rev-parse", "HEAD"),
    )
    done = _rollgate(example, "re-anchor")
    assert done.returncode == 0, done.stderr
    assert (
        "the trust anchor of prod, staging" in done.stdout and "prod re-pinned as the promotion identity" in done.stdout
    )
    assert _files(example) == before and example.git("status", "--porcelain") == ""
    made = example.git("log", "--format=%an <%ae>", f"{tip}..HEAD").splitlines()
    assert made == [f"{BOT.name} <{BOT.email}>"] * 2 + [f"{PERSON.name} <{PERSON.email}>"]
    checked = _rollgate(example, "check-changes", "--base", tip)
    assert checked.returncode == 0, checked.stderr
    kinds = sorted(
        line.split(" ", 2)[2].split(":")[0] + " " + line.split(":")[0] for line in checked.stdout.splitlines()
    )
    assert kinds == ["adopt reset prod", "adopt reset staging", "promotion prod", "promotion staging"]
    assert _rollgate(example, "check-changes", "--base", root).returncode == 0  # before the anchor: not checked
    assert pinned_before is not None
    assert history.read(example.path, "prod").deployed == {pinned_before.model.sha256}
    assert (example.path / trailers.anchor("prod")).is_file()
    assert release.read(example.path / paths.release_record("staging")) is not None


def test_re_anchoring_refuses_a_dirty_work_tree(example: Repo) -> None:
    (example.path / "notes.txt").write_text("unfinished\n")
    done = _rollgate(example, "re-anchor")
    assert done.returncode == 1 and "the work tree has changes: commit or stash them" in done.stderr
    assert example.git("status", "--porcelain") == "?? notes.txt"
