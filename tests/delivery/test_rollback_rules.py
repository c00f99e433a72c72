"""`rollgate rollback` by the trust rules, on small real repositories with a bare origin: a re-render
reverted (its render withdrawn, not the model), `--to` an older promotion reverting every live change
after it, and a revert that would not restore the folder exactly refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import BIN
from tests.trust_repo import BOT, V1, V2, Repo

pytestmark = pytest.mark.integration


def _rollback(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "rollgate"), "--root", str(repo.path), "rollback", "--env", "prod", *args]
    return subprocess.run(cmd, env=repo.env, capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path)
    repo.promote(V1)
    return repo


def test_rolling_back_a_re_render_withdraws_the_render_not_the_model(repo: Repo) -> None:
    before = repo.tree()
    render = repo.rerender("two")
    tree = repo.tree()
    done = _rollback(repo)
    assert done.returncode == 0, done.stderr
    assert f"withdrew the render {tree[:12]} of prod (reverted the re-render {render[:12]}" in done.stdout
    assert f"model {V1[:12]} not withdrawn" in done.stdout
    assert repo.tree() == before and repo.history().withdrawn_renders == {tree}
    assert repo.git("log", "-1", "--format=%an <%ae>") == f"{BOT.name} <{BOT.email}>"


def test_to_an_older_promotion_reverts_every_live_change_after_it(repo: Repo) -> None:
    before = repo.tree()
    second = repo.promote(V2)
    repo.rerender("two")
    done = _rollback(repo, "--to", second)
    assert done.returncode == 0, done.stderr
    assert f"withdrew {V2} from prod" in done.stdout and "withdrew the render" in done.stdout
    assert repo.tree() == before and repo.history().withdrawn == {V2}
    assert repo.git("ls-remote", "origin", "main").split()[0] == repo.git("rev-parse", "HEAD")


def test_a_revert_that_would_not_restore_the_folder_is_refused(repo: Repo) -> None:
    promoted = repo.promote(V2)
    repo.write("manifests/prod/extra.yaml", "by: hand\n")
    repo.commit("a hand-made file")
    head = repo.git("rev-parse", "HEAD")
    done = _rollback(repo, "--to", promoted)
    assert done.returncode == 1
    assert f"the revert does not restore manifests/prod/ as it was before {promoted[:12]}" in done.stderr
    assert repo.git("rev-parse", "HEAD") == head and repo.git("status", "--porcelain") == ""
