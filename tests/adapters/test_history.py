"""What an environment ran and what was withdrawn, read from the git history of real repositories:
only the promotion identity's trailer blocks count, a revert counts by what it restores, never by its
message, and re-allows are files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rollgate.adapters import history, trust
from rollgate.contracts import trailers
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.trailers import History, Identity
from tests.trust_repo import BOT, V1, V2, V3, Repo

pytestmark = pytest.mark.integration

MALLORY = Identity("Mallory", "mallory@example.org")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_nothing_deployed_yet(repo: Repo) -> None:
    assert repo.history() == History(frozenset(), frozenset())


def test_every_counted_promotion_is_remembered_and_nothing_else(repo: Repo) -> None:
    repo.promote(V1)
    repo.promote(V2)
    repo.promote(V3, who=MALLORY)  # the trailers, the record: but not the promotion identity
    assert repo.history().deployed == {V1, V2}


def test_a_person_reverting_a_promotion_withdraws_its_digest_for_that_env_only(repo: Repo) -> None:
    repo.promote(V1)
    second = repo.promote(V2)
    repo.commit("unrelated work")
    repo.revert(second)  # by a person, not the promotion identity: reverts count whoever made them
    assert repo.history().withdrawn == {V2}
    assert repo.history("staging").withdrawn == frozenset()


def test_restoring_the_previous_manifests_by_hand_is_a_revert_whatever_the_message(repo: Repo) -> None:
    first = repo.promote(V1)
    repo.promote(V2)
    repo.git("checkout", first, "--", "manifests/prod")
    repo.commit("tidy the manifests")
    assert repo.history().withdrawn == {V2}


def test_a_message_saying_it_reverts_a_promotion_withdraws_nothing(repo: Repo) -> None:
    repo.promote(V1)
    second = repo.promote(V2)
    repo.commit(f'Revert "deploy(prod): model {V2[:12]}"', f"This reverts commit {second}.")
    assert repo.history().withdrawn == frozenset()


def test_restoring_the_state_before_an_older_promotion_withdraws_every_one_since(repo: Repo) -> None:
    repo.promote(V1)
    before_v2 = repo.git("rev-parse", "HEAD")
    repo.promote(V2)
    repo.promote(V3)
    repo.git("checkout", before_v2, "--", "manifests/prod")
    repo.commit("back to v1")
    assert repo.history().withdrawn == {V2, V3}


def test_prose_and_trailers_cannot_re_allow_only_a_file_can(repo: Repo) -> None:
    repo.promote(V1)
    repo.revert(repo.promote(V2))
    prose = f"{trailers.ENV}: prod\nRollgate-Reallow: {V2}"
    repo.commit("re-allow v2, please", f"Some prose.\n{prose}\nMore prose.\n\nRollgate-Reallow: {V2}")
    assert repo.history().withdrawn == {V2}
    allowed = repo.reallow(V2)
    assert repo.history().withdrawn == frozenset()
    repo.revert(allowed)  # taking the file away again
    assert repo.history().withdrawn == {V2}


def test_a_re_allow_counts_only_after_the_withdrawal(repo: Repo) -> None:
    repo.promote(V1)
    repo.reallow(V2)
    repo.revert(repo.promote(V2))
    assert repo.history().withdrawn == {V2}


def test_trailers_outside_the_trailer_block_do_not_count(repo: Repo) -> None:
    repo.promote(V1)
    record = repo.path / "manifests/prod/release.json"
    record.write_text(record.read_text().replace(V1, V2))
    prose = f"{trailers.ENV}: prod\n{trailers.MODEL_SHA256}: {V2}\nand then some words, which git reads as prose."
    repo.commit("deploy(prod): v2", f"{prose}\n\nthe last paragraph is no trailer block", who=BOT)
    assert repo.history().deployed == {V1}


def test_a_rollback_verdict_withdraws_the_model_it_replaces_and_undoing_it_lifts_that(repo: Repo) -> None:
    repo.promote(V1)
    repo.promote(V2)
    back = repo.promote(V1, verdict="rollback")
    assert repo.history().withdrawn == {V2}
    repo.revert(back)
    assert repo.history().withdrawn == {V1}  # the rollback's model was undone; v2 runs again


def test_reverting_a_re_render_withdraws_the_render_not_the_model(repo: Repo) -> None:
    repo.promote(V1)
    render = repo.rerender("two")
    tree = repo.tree(render)
    repo.revert(render)
    found = repo.history()
    assert found.withdrawn == frozenset() and found.withdrawn_renders == {tree}


def test_the_render_id_of_a_folder_is_the_tree_id_git_gives_it(repo: Repo, tmp_path: Path) -> None:
    repo.promote(V1)
    copy = tmp_path / "copy"
    shutil.copytree(repo.path / "manifests/prod", copy)
    assert trust.render_id(repo.path, copy) == repo.tree()


def test_the_anchor_starts_the_checks(repo: Repo) -> None:
    repo.promote(V1)
    repo.revert(repo.promote(V2))
    repo.write(trailers.anchor("prod").as_posix(), '{"env": "prod"}\n')
    repo.commit("adopt: start from no model")  # the state at the anchor (v1 pinned) is accepted
    assert repo.history() == History(frozenset({V1}), frozenset())


def test_no_promotion_identity_is_a_clear_error(repo: Repo) -> None:
    config = repo.path / "configs/deploy/prod.yaml"
    config.write_text(config.read_text().split("\npromotion:")[0] + "\n")
    with pytest.raises(ContractError, match=r"configs/deploy/prod.yaml: invalid deploy config:\n  promotion: Field"):
        history.read(repo.path, "prod")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match="not a git repository"):
        history.read(tmp_path, "prod")


def test_a_shallow_clone_is_refused(repo: Repo, tmp_path: Path) -> None:
    repo.promote(V1)
    repo.promote(V2)
    shallow = repo.shallow_clone(tmp_path / "shallow")
    with pytest.raises(RollgateError, match=r"is a shallow clone: .* run `git fetch --unshallow`"):
        history.read(shallow, "prod")
