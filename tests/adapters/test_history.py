"""What an environment ran and what was withdrawn, read from the git history of a real repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rollgate.adapters import history
from rollgate.contracts import jsonio, paths, release, trailers
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.trailers import History
from tests.helpers import ROOT, tool_env

pytestmark = pytest.mark.unit

V1, V2, V3 = "1" * 64, "2" * 64, "3" * 64
RECORD = paths.release_record("prod")


class Repo:
    def __init__(self, path: Path) -> None:
        self.path, self.env = path, tool_env(path)
        self.git("init", "-q", "-b", "main")
        jsonio.write(path / RECORD, release.empty("prod"))
        self.commit("start", "")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, subject: str, body: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", subject, "-m", body) if body else self.git(
            "commit", "-q", "--allow-empty", "-m", subject
        )
        return self.git("rev-parse", "HEAD")

    def promote(self, sha256: str, env: str = "prod") -> str:
        raw = jsonio.read(self.path / RECORD, release.SCHEMA)
        record = _pinning(raw, sha256) if env == "prod" else raw
        jsonio.write(self.path / RECORD, record)
        body = f"{trailers.ENV}: {env}\n{trailers.MODEL_SHA256}: {sha256}\n{trailers.VERDICT}: promote"
        return self.commit(f"deploy({env}): model {sha256[:12]}", body)

    def revert(self, commit: str) -> None:
        self.git("revert", "--no-edit", commit)


def _pinning(raw: dict[str, object], sha256: str) -> dict[str, object]:
    """A schema-valid record pinning `sha256` (the other fields are irrelevant to history)."""
    shipped = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "example")
    assert shipped is not None
    record = shipped.to_dict()
    record["model"] = {**record["model"], "sha256": sha256}
    return record


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_nothing_deployed_yet(repo: Repo) -> None:
    assert history.read(repo.path, "prod") == History(frozenset(), frozenset())


def test_every_pinned_digest_is_remembered(repo: Repo) -> None:
    repo.promote(V1)
    repo.promote(V2)
    assert history.read(repo.path, "prod").deployed == {V1, V2}


def test_a_reverted_promotion_withdraws_its_digest_for_that_env_only(repo: Repo) -> None:
    repo.promote(V1)
    second = repo.promote(V2)
    repo.commit("unrelated work", "")
    repo.revert(second)
    found = history.read(repo.path, "prod")
    assert found.withdrawn == {V2}
    assert history.read(repo.path, "staging").withdrawn == frozenset()


def test_a_reallow_trailer_lifts_the_withdrawal(repo: Repo) -> None:
    repo.promote(V1)
    repo.revert(repo.promote(V2))
    repo.commit("re-allow v2: the incident was the feature store", f"{trailers.REALLOW}: {V2}")
    repo.promote(V3)
    assert history.read(repo.path, "prod").withdrawn == frozenset()


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match=r"not a git repository|git"):
        history.read(tmp_path, "prod")


def test_trailers_parse_repeated_keys_and_ignore_prose() -> None:
    prose = "deploy(prod): x\n\nRollgate-Env is mentioned here in prose.\n\n"
    message = f"{prose}{trailers.REALLOW}: {V1}\n{trailers.REALLOW}: {V2}\n"
    assert trailers.parse(message) == {trailers.REALLOW: [V1, V2]}
    assert trailers.reverted_commit(f'Revert "x"\n\nThis reverts commit {"a" * 40}.') == "a" * 40
    assert trailers.reverted_commit("no revert here") is None
