"""`rollgate check-changes --base REF [--head REF] [--pull-request]` on real repositories with a bare
origin: every kind of change to `manifests/<env>/` classified, each forged one refused by name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rollgate.contracts import jsonio, paths, release, trailers
from rollgate.contracts.trailers import Identity
from tests.helpers import BIN
from tests.trust_repo import BOT, V1, V2, V3, Repo, record

pytestmark = pytest.mark.integration

MALLORY = Identity("Mallory", "mallory@example.org")


def _check(repo: Repo, base: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "rollgate"), "--root", str(repo.path), "check-changes", "--base", base, *args]
    return subprocess.run(cmd, env=repo.env, capture_output=True, text=True, check=False)


def _allowed(repo: Repo, base: str, *args: str) -> str:
    done = _check(repo, base, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _refused(repo: Repo, base: str, *args: str) -> str:
    done = _check(repo, base, *args)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_each_allowed_kind_is_named(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    shas = {"p1": repo.promote(V1), "p2": repo.promote(V2), "render": repo.rerender("two")}
    shas["undo render"] = repo.revert(shas["render"])
    shas["undo p2"] = repo.revert(shas["p2"])
    shas["reallow"] = repo.reallow(V2)
    shas["staging"] = repo.promote(V3, env="staging")
    out = _allowed(repo, base).splitlines()
    expected = [
        f"prod: {shas['p1'][:12]} promotion: pins {V1[:12]}",
        f"prod: {shas['p2'][:12]} promotion: pins {V2[:12]}",
        f"prod: {shas['render'][:12]} re-render: re-renders {V2[:12]}",
        f"prod: {shas['undo render'][:12]} exact revert: restores manifests/prod/ as it was before re-render "
        f"{shas['render'][:12]}",
        f"prod: {shas['undo p2'][:12]} exact revert: restores manifests/prod/ as it was before promotion "
        f"{shas['p2'][:12]}",
        f"prod: {shas['reallow'][:12]} re-allow: re-allows {V2[:12]}",
        f"staging: {shas['staging'][:12]} promotion: pins {V3[:12]}",
    ]
    assert len(out) == len(expected)
    for line, start in zip(out, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_a_hand_edit_is_forbidden_and_its_revert_restores(repo: Repo) -> None:
    repo.promote(V1)
    base = repo.git("rev-parse", "HEAD")
    repo.write("manifests/prod/app-rollout.yaml", "model: mine\n")
    edit = repo.commit("a quick fix")
    error = _refused(repo, base)
    assert f"1 forbidden change(s) in {base}..HEAD" in error
    assert f"prod: {edit[:12]} forbidden: changes manifests/prod/ but is no promotion or re-render" in error
    assert "(a quick fix)" in error
    fixed = repo.revert(edit)
    assert _allowed(repo, edit).startswith(f"prod: {fixed[:12]} restore: restores manifests/prod/ to its last")


FORGED = {
    "not the identity": (MALLORY, "made by Mallory <mallory@example.org> (committed by Mallory <mallory@example.org>), "
                         "not the promotion identity"),
    "trailers in prose": (BOT, "restores no earlier state"),
}  # fmt: skip


@pytest.mark.parametrize("kind", FORGED)
def test_a_forged_promotion_is_forbidden(repo: Repo, kind: str) -> None:
    who, why = FORGED[kind]
    base = repo.git("rev-parse", "HEAD")
    if kind == "trailers in prose":
        jsonio.write(repo.path / paths.release_record("prod"), record("prod", V1))
        prose = f"{trailers.ENV}: prod\n{trailers.MODEL_SHA256}: {V1}\nsaid in passing, not as a trailer block."
        forged = repo.commit("deploy(prod): v1", f"{prose}\n\nThe end.", who)
    else:
        forged = repo.promote(V1, who=who)
    error = _refused(repo, base)
    assert f"prod: {forged[:12]} forbidden:" in error and why in error, error


def test_a_message_saying_it_reverts_restores_nothing_and_is_forbidden(repo: Repo) -> None:
    promoted = repo.promote(V1)
    repo.write("manifests/prod/app-rollout.yaml", "model: other\n")
    forged = repo.commit(f'Revert "deploy(prod): model {V1[:12]}"', f"This reverts commit {promoted}.")
    assert f"prod: {forged[:12]} forbidden:" in _refused(repo, promoted)


def test_in_a_pull_request_a_promotion_is_forbidden(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    forged = repo.promote(V1)  # the bot's name and email are easy to forge: a PR never carries promotions
    assert _allowed(repo, base).startswith(f"prod: {forged[:12]} promotion")
    error = _refused(repo, base, "--pull-request")
    assert f"prod: {forged[:12]} forbidden: a promotion never comes through a pull request" in error


def test_a_pull_request_cannot_name_its_own_promotion_identity(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    config = repo.path / "configs/deploy/prod.yaml"
    config.write_text(config.read_text().replace(f"name: {BOT.name}", f"name: {MALLORY.name}"))
    config.write_text(config.read_text().replace(f"email: {BOT.email}", f"email: {MALLORY.email}"))
    repo.commit("a new bot")
    forged = repo.promote(V1, who=MALLORY)
    assert f"prod: {forged[:12]} forbidden: changes manifests/prod/" in _refused(repo, base)


def test_an_adopt_reset_is_the_anchor_only_when_it_pins_no_model(repo: Repo) -> None:
    repo.promote(V1)
    base = repo.git("rev-parse", "HEAD")
    jsonio.write(repo.path / paths.release_record("prod"), release.empty("prod"))
    repo.write(trailers.anchor("prod").as_posix(), '{"env": "prod"}\n')
    reset = repo.commit("adopt: start from no model")
    assert _allowed(repo, base).startswith(f"prod: {reset[:12]} adopt reset: the trust anchor")
    forged = repo.promote(V2, who=MALLORY)
    repo.write(trailers.anchor("prod").as_posix(), '{"env": "prod", "again": true}\n')
    anchor = repo.commit("adopt again, keeping my model")
    error = _refused(repo, reset)
    assert f"prod: {anchor[:12]} forbidden: an adopt reset must leave prod without a model" in error
    assert forged[:12] not in error  # before the (latest) anchor: not checked


def test_a_shallow_clone_is_refused(repo: Repo, tmp_path: Path) -> None:
    repo.promote(V1)
    repo.promote(V2)
    shallow = repo.shallow_clone(tmp_path / "shallow")
    cmd = [str(BIN / "rollgate"), "--root", str(shallow), "check-changes", "--base", "HEAD"]
    done = subprocess.run(cmd, env=repo.env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "is a shallow clone" in done.stderr and "git fetch --unshallow" in done.stderr, done.stderr
