"""The trust rules on the real delivery story: commits made as the promotion identity, a person's
revert through a squash-merged branch, a forged feature commit that rollback ignores, the re-render
loop broken, a rollback verdict withdrawing the model it replaced, a shallow clone refused, and
`rollgate check-changes` over the whole story."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rollgate.adapters import history
from rollgate.contracts import trailers
from tests.delivery.story import Story, fork, head, manifests, state
from tests.helpers import Project
from tests.trust_repo import BOT

pytestmark = pytest.mark.integration


def _made_by(project: Project, ref: str) -> tuple[str, str]:
    return tuple(project.git("log", "-1", "--format=%an <%ae>%n%cn <%ce>", ref).stdout.split("\n")[:2])  # type: ignore[return-value]


def test_promotions_and_the_rollback_are_made_as_the_promotion_identity(story: Story) -> None:
    me = f"{BOT.name} <{BOT.email}>"
    for key in ("P1", "P2", "P3", "P4"):
        assert _made_by(story.project, story.seen[key]["after"][0]) == (me, me), key
    _, after = story.seen["rollback_state"]
    assert _made_by(story.project, after[0]) == (me, me)


def test_a_rollback_verdict_withdraws_the_model_it_replaced(story: Story) -> None:
    found = history.read(story.project.path, "prod")
    assert found.withdrawn == {story.seen["v2"], story.seen["v3"]}  # v2 by the rollback, v3 by P4's verdict
    assert found.deployed == {story.seen["v1"], story.seen["v2"], story.seen["v3"]}


def test_check_changes_passes_over_the_whole_story(story: Story) -> None:
    project = story.project
    root = project.git("rev-list", "--max-parents=0", "HEAD").stdout.split()[0]
    out = project.rollgate("check-changes", "--base", root).stdout.splitlines()
    kinds = [line.split(" ", 2)[2].split(":")[0] for line in out if line.startswith("prod:")]
    assert kinds == ["promotion", "promotion", "exact revert", "promotion", "promotion"], out
    refused = project.rollgate("check-changes", "--base", root, "--pull-request", check=False)
    assert refused.returncode == 1 and "4 forbidden change(s)" in refused.stderr


def _as(project: Project, name: str, email: str) -> Project:
    people = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name}
    return Project(project.path, {**project.env, **people, "GIT_COMMITTER_EMAIL": email})


def test_a_person_reverting_through_a_squash_merged_branch_withdraws(story: Story, tmp_path: Path) -> None:
    project, seen = fork(story.project, tmp_path), story.seen
    ada = _as(project, "Ada", "ada@example.org")
    ada.git("checkout", "-q", "-b", "roll-back-prod")
    ada.git("revert", "--no-edit", seen["P4"]["after"][0])
    ada.git("checkout", "-q", "main")
    ada.git("merge", "-q", "--squash", "roll-back-prod")
    ada.git("commit", "-q", "-m", "Roll prod back to the softer regression (#42)")
    ada.git("push", "-q", "origin", "HEAD:main")
    assert manifests(project) == seen["P3"]["manifests"]
    found = history.read(project.path, "prod")
    assert seen["v1"] in found.withdrawn and seen["v3"] not in found.withdrawn  # undoing P4 lifted its verdict's
    done = project.rollgate("rollback", "--env", "prod")  # the next live promotion: P3
    assert f"withdrew {seen['v3']} from prod" in done.stdout, done.stdout
    assert manifests(project) == seen["P1"]["manifests"]


def test_a_feature_commit_with_promotion_trailers_is_not_what_rollback_reverts(story: Story, tmp_path: Path) -> None:
    project, seen = fork(story.project, tmp_path), story.seen
    (project.path / "NOTES.md").write_text("a feature\n")
    project.git("add", "NOTES.md")
    block = f"{trailers.ENV}: prod\n{trailers.MODEL_SHA256}: {seen['v2']}\n{trailers.VERDICT}: promote"
    project.git("commit", "-q", "-m", "feat: notes", "-m", block)
    assert trailers.parse(project.git("log", "-1", "--format=%(trailers:only,unfold)").stdout)  # a real block
    done = project.rollgate("rollback", "--env", "prod")
    assert f"withdrew {seen['v1']} from prod (reverted {seen['P4']['after'][0][:12]}" in done.stdout, done.stdout
    assert (project.path / "NOTES.md").exists() and manifests(project) == seen["P3"]["manifests"]


def _image(project: Project, digit: str) -> None:
    config = project.path / "configs" / "deploy" / "prod.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["image"]["digest"] = "sha256:" + digit * 64
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    project.git("commit", "-q", "-am", f"image {digit}")
    project.git("push", "-q", "origin", "HEAD:main")


def test_a_reverted_re_render_is_not_rendered_again_until_its_cause_changes(story: Story, tmp_path: Path) -> None:
    project = fork(story.project, tmp_path)
    _image(project, "a")
    assert "re-rendered prod" in project.rollgate("promote", "--env", "prod").stdout
    render, rendered = project.git("rev-parse", "HEAD:manifests/prod").stdout.strip(), head(project)
    project.git("revert", "--no-edit", rendered)  # the canary aborted: a person reverts the re-render
    project.git("push", "-q", "origin", "HEAD:main")
    found = history.read(project.path, "prod")
    assert found.withdrawn_renders == {render} and story.seen["v1"] not in found.withdrawn
    before = state(project)
    refused = project.rollgate("promote", "--env", "prod", check=False)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert f"withdrawn render: re-rendering prod would commit the manifests {render[:12]} again" in refused.stderr
    assert "change configs/deploy/prod.yaml, the templates or the image" in refused.stderr
    assert state(project) == before
    _image(project, "b")
    assert "re-rendered prod" in project.rollgate("promote", "--env", "prod").stdout


def test_a_shallow_clone_refuses_a_rollback(story: Story, tmp_path: Path) -> None:
    origin = f"file://{story.project.path.parent / 'origin.git'}"
    clone = Project(tmp_path / "shallow", story.project.env)
    story.project.run("git", "clone", "-q", "--depth", "1", origin, str(clone.path))
    done = clone.rollgate("rollback", "--env", "prod", check=False)
    assert done.returncode == 1, done.stdout
    assert "is a shallow clone: what prod ran and what was withdrawn from it is decided by the whole history" in (
        done.stderr
    )
    assert "run `git fetch --unshallow`" in done.stderr
