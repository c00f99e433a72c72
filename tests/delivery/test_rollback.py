"""`rollgate rollback` in real repositories: a `git revert` restoring the previous manifests byte for
byte, the withdrawn digest refused afterwards, unrelated later commits, and nothing to revert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollgate.adapters import history
from tests.delivery.story import MANIFESTS, Story, fork, head, manifests, state
from tests.helpers import Project

pytestmark = pytest.mark.integration


def _withdrawn(project: Project) -> frozenset[str]:
    return history.read(project.path, "prod").withdrawn


def test_rollback_restores_the_previous_manifests_byte_for_byte(story: Story) -> None:
    seen = story.seen
    done = seen["rollback"]
    assert done.returncode == 0, done.stderr
    assert seen["after_rollback"] == seen["P1"]["manifests"]
    assert seen["after_rollback"] != seen["P2"]["manifests"]
    (before, after) = seen["rollback_state"]
    assert after[1] == ""  # pushed, nothing left behind
    reverted = story.project.git("log", "-1", "--format=%B", after[0]).stdout
    assert f"This reverts commit {before[0]}" in reverted  # the promotion of v2, history kept


def test_rollback_withdraws_the_digest_and_names_its_source_commit(story: Story) -> None:
    seen = story.seen
    out = seen["rollback"].stdout
    assert f"withdrew {seen['v2']} from prod" in out
    assert f"source commit {seen['S2']} produced the withdrawn model" in out
    assert f"prod now pins {seen['v1'][:12]}" in out
    assert seen["v2"] in _withdrawn(story.project)
    rejected = seen["withdrawn_verdict"]
    assert rejected.verdict == "reject" and seen["v2"] in rejected.withdrawn
    assert any("withdrawn" in r.message for r in rejected.failed), rejected.failed


def test_rollback_time_of_our_own_code(story: Story) -> None:
    found = re.search(r"rollback of prod took (\d+\.\d+) s", story.seen["rollback"].stdout)
    assert found, story.seen["rollback"].stdout
    print(f"\nrollgate rollback: {found.group(1)} s of our own code (revert and push)")
    assert float(found.group(1)) < 1.0


def test_rollback_reverts_the_promotion_under_unrelated_later_commits(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    p4 = story.seen["P4"]["after"][0]
    (project.path / "NOTES.md").write_text("an unrelated change\n")
    project.git("add", "NOTES.md")
    project.git("commit", "-q", "-m", "unrelated")
    done = project.rollgate("rollback", "--env", "prod")
    assert f"withdrew {story.seen['v1']}" in done.stdout
    assert manifests(project) == story.seen["P3"]["manifests"]  # v3's manifests, byte for byte
    assert (project.path / "NOTES.md").exists()
    assert project.git("rev-parse", "HEAD~1").stdout.strip() != p4  # reverted under the unrelated commit
    assert project.git("ls-remote", "origin", "main").stdout.split()[0] == head(project)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--env", "staging"), "nothing to revert: no promotion commit of staging"),
        (("--env", "prod", "--to", "HEAD~1"), "is not a promotion commit of prod"),
        (("--env", "prod", "--to", "no-such-ref"), "`git rev-parse"),
    ],
)
def test_nothing_to_revert_is_a_clear_error(story: Story, args: tuple[str, ...], error: str) -> None:
    before = state(story.project)
    done = story.project.rollgate("rollback", *args, check=False)
    assert done.returncode == 1 and error in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert state(story.project) == before


def test_an_already_reverted_promotion_is_not_reverted_again(story: Story) -> None:
    p2 = story.seen["P2"]["after"][0]
    done = story.project.rollgate("rollback", "--env", "prod", "--to", p2, check=False)
    assert done.returncode == 1 and "reverted already" in done.stderr


def test_a_rollback_whose_push_is_rejected_leaves_head_as_it_was(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = state(project)
    done = project.rollgate("rollback", "--env", "prod", check=False)
    assert done.returncode == 1 and "was rejected 3 times" in done.stderr
    assert state(project) == before
    assert (project.path / MANIFESTS / "release.json").exists()
