"""`rollgate signing import`, with the real gpg: the configured key only, imported into a GNUPGHOME of its
own, the runner's later steps told to sign with it; never the key in any output; a clear refusal
whenever the secret is missing, another key's, or unusable without a passphrase."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollgate import cli
from rollgate.adapters import signing as gpg_adapter
from rollgate.ci import signing
from rollgate.contracts.errors import RollgateError
from tests.adapters.test_signing import parse_github_env, verify
from tests.gpg_keys import Key, gpg, make_key, new_home
from tests.trust_repo import Repo

pytestmark = pytest.mark.integration


@pytest.fixture
def runner(tmp_path: Path, made: list[Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runner's GITHUB_ENV file and RUNNER_TEMP (short: gpg-agent's socket path must fit)."""
    monkeypatch.setenv("GITHUB_ENV", str(tmp_path / "github_env"))
    monkeypatch.setenv("RUNNER_TEMP", str(new_home(made)))
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    monkeypatch.delenv(signing.SECRET, raising=False)
    (tmp_path / "github_env").touch()
    return tmp_path / "github_env"


def test_without_verification_or_secret_it_is_a_no_op_that_says_so(tmp_path: Path, runner: Path) -> None:
    repo = Repo(tmp_path / "repo")
    said = signing.run(repo.path, "prod")
    assert "does not verify signatures and ROLLGATE_SIGNING_KEY is unset: nothing to import" in said
    assert runner.read_text() == ""


def test_a_secret_for_an_environment_that_does_not_verify_is_not_imported(
    key: Key, tmp_path: Path, runner: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    monkeypatch.setenv(signing.SECRET, key.secret)
    assert "is set but configs/deploy/prod.yaml does not verify signatures: not imported" in signing.run(
        repo.path, "prod"
    )
    assert runner.read_text() == ""


def test_verification_without_the_secret_fails_naming_it(key: Key, tmp_path: Path, runner: Path) -> None:
    repo = Repo(tmp_path / "repo")
    verify(repo, key.public)
    with pytest.raises(RollgateError, match=rf"ROLLGATE_SIGNING_KEY is not set: .*verifies signatures by {key.key_id}"):
        signing.run(repo.path, "prod")


def test_the_configured_key_is_imported_and_the_later_steps_sign_with_it(
    key: Key, tmp_path: Path, runner: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = Repo(tmp_path / "repo")
    verify(repo, key.public)
    monkeypatch.setenv(signing.SECRET, key.secret)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # an earlier step's git config is kept
    assert cli.main(["--root", str(repo.path), "signing", "import", "--env", "prod"]) == 0
    out = capsys.readouterr()
    assert f"imported {key.key_id}" in out.out
    later = parse_github_env(runner.read_text())
    assert later["GIT_CONFIG_COUNT"] == "4"
    assert {later[f"GIT_CONFIG_KEY_{i}"]: later[f"GIT_CONFIG_VALUE_{i}"] for i in (1, 2, 3)} == {
        "user.signingkey": f"{key.fingerprint}!",
        "gpg.format": "openpgp",
        "gpg.program": gpg_adapter.gpg(),
    }
    home = Path(later["GNUPGHOME"])
    assert home.parent == Path(os.environ["RUNNER_TEMP"])
    assert home.stat().st_mode & 0o077 == 0
    listed = gpg(home, "--with-colons", "--list-secret-keys")
    assert [line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:")] == [key.fingerprint]
    body = key.secret.splitlines()[2]  # a line of the key's base64
    assert body not in out.out + out.err + runner.read_text()


def test_another_key_is_refused_and_its_home_removed(
    key: Key, made: list[Path], tmp_path: Path, runner: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    verify(repo, key.public)
    other = make_key(made)
    monkeypatch.setenv(signing.SECRET, other.secret)
    home = new_home(made) / "gnupg"
    with pytest.raises(RollgateError, match=rf"holds key {other.key_id}, but .*promotion-key\.asc is {key.key_id}"):
        signing.run(repo.path, "prod", home)
    assert not home.exists()
    assert runner.read_text() == ""


@pytest.mark.parametrize(
    "case",
    [
        (lambda k: k.public, r"not one OpenPGP secret key \(0 secret keys found\)"),
        (lambda k: "not a key", r"not one OpenPGP secret key \(.*no valid OpenPGP data"),
    ],
    ids=["public-key", "garbage"],
)
@pytest.mark.usefixtures("runner")
def test_a_secret_that_is_no_secret_key_is_refused(
    key: Key, made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[object, str]
) -> None:
    secret, message = case
    repo = Repo(tmp_path / "repo")
    verify(repo, key.public)
    monkeypatch.setenv(signing.SECRET, secret(key))  # type: ignore[operator]
    with pytest.raises(RollgateError, match=message):
        signing.run(repo.path, "prod", new_home(made) / "gnupg")


def test_a_key_that_needs_a_passphrase_is_refused(
    made: list[Path], tmp_path: Path, runner: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = new_home(made)
    loopback = ("--pinentry-mode", "loopback", "--passphrase", "hunter2")
    gpg(home, *loopback, "--quick-gen-key", "bot <bot@example.org>", "ed25519", "sign", "never")
    fingerprint = gpg(home, "--with-colons", "--list-keys").split("fpr:::::::::")[1].split(":")[0]
    repo = Repo(tmp_path / "repo")
    verify(repo, gpg(home, "--armor", "--export", fingerprint))
    monkeypatch.setenv(signing.SECRET, gpg(home, *loopback, "--armor", "--export-secret-keys", fingerprint))
    with pytest.raises(RollgateError, match=rf"key {fingerprint[-16:]} cannot sign here without a passphrase"):
        signing.run(repo.path, "prod", new_home(made) / "gnupg")


def test_off_a_runner_it_needs_a_home_and_prints_the_exports(
    key: Key, made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_ENV", "RUNNER_TEMP", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)
    repo = Repo(tmp_path / "repo")
    verify(repo, key.public)
    monkeypatch.setenv(signing.SECRET, key.secret)
    with pytest.raises(RollgateError, match=r"RUNNER_TEMP is unset \(not on a runner\): give --home DIR"):
        signing.run(repo.path, "prod")
    home = new_home(made) / "gnupg"
    said = signing.run(repo.path, "prod", home)
    assert f"export GNUPGHOME={home}" in said
    assert f"export GIT_CONFIG_VALUE_0='{key.fingerprint}!'" in said
