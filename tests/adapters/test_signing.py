"""Promotion commits signed by the configured promotion key, with the real gpg and git: a promotion signed
through `rollgate signing import` counts; one signed by any other key (even one the machine's own
keyring trusts), or unsigned, does not; bad `promotion.signing_key` configs fail clearly."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rollgate.adapters import git, history, identity, signing, trust
from rollgate.ci import signing as ci_signing
from rollgate.contracts import jsonio, paths, trailers
from rollgate.contracts.errors import ContractError, RollgateError
from tests.gpg_keys import Key, gpg, make_key, new_home
from tests.trust_repo import BOT, V1, Repo, record

pytestmark = pytest.mark.integration

KEY_FILE = "configs/deploy/promotion-key.asc"


def verify(repo: Repo, public: str, env: str = "prod", path: str = KEY_FILE) -> None:
    """Commit `public` as the promotion key and turn verification on for `env`."""
    repo.write(path, public)
    config = repo.path / f"configs/deploy/{env}.yaml"
    on = f"verify_signatures: true\n  signing_key: {path}"
    config.write_text(config.read_text().replace("verify_signatures: false", on))
    repo.commit(f"{env}: promotion commits must be signed by the promotion key")


def signing_env(
    repo: Repo, secret: str, made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """What `rollgate signing import` leaves for a runner's later steps, read back from GITHUB_ENV."""
    github_env = tmp_path / "github_env"
    github_env.touch()
    monkeypatch.setenv("GITHUB_ENV", str(github_env))
    monkeypatch.setenv(ci_signing.SECRET, secret)
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    ci_signing.run(repo.path, "prod", new_home(made) / "gnupg")
    monkeypatch.delenv(ci_signing.SECRET)
    monkeypatch.delenv("GITHUB_ENV")
    return parse_github_env(github_env.read_text())


def parse_github_env(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        found[name] = "\n".join(value)
    return found


def test_a_promotion_signed_through_signing_import_counts(
    key: Key, made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path)
    verify(repo, key.public)
    later = signing_env(repo, key.secret, made, tmp_path, monkeypatch)
    for name, value in later.items():  # the job's later steps: `rollgate promote` commits with these
        monkeypatch.setenv(name, value)
    made.append(Path(later["GNUPGHOME"]))
    sha = promote_signed(repo)
    assert repo.history().deployed == {V1}
    judged = {j.commit.sha: j for j in trust.ledger(repo.path, "prod").judged}
    assert judged[sha].kind == "promotion"


def promote_signed(repo: Repo, env: str = "prod") -> str:
    """A promotion commit as rollgate makes it: `git.commit` as the promotion identity, which signs."""
    jsonio.write(repo.path / paths.release_record(env), record(env, V1))
    repo.write(f"manifests/{env}/app-rollout.yaml", f"model: {V1}\n")
    block = f"{trailers.ENV}: {env}\n{trailers.MODEL_SHA256}: {V1}\n{trailers.VERDICT}: promote"
    sha = git.commit(
        repo.path,
        [f"manifests/{env}"],
        f"deploy({env}): model\n\nSigned.\n\n{block}",
        who=identity.load(repo.path, env),
    )
    repo.git("push", "-q", "origin", "HEAD:main")
    return sha


def test_a_promotion_signed_by_a_key_the_machine_trusts_but_not_the_promotion_key_does_not_count(
    key: Key, made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path)
    verify(repo, key.public)
    other = make_key(made, "rollgate-bot <rollgate-bot@users.noreply.example.com>")  # same user id, other key
    gpg(other.home, "--import-ownertrust", stdin=f"{other.fingerprint}:6:\n".encode())
    monkeypatch.setenv("GNUPGHOME", str(other.home))  # the machine's own keyring trusts the forger's key
    repo.env["GNUPGHOME"] = str(other.home)
    repo.git("config", "user.signingkey", f"{other.fingerprint}!")
    sha = repo.promote(V1, sign=True)
    assert repo.git("log", "-1", "--format=%G?", sha) == "G"  # what the machine's git says: good, trusted
    assert repo.history().deployed == frozenset()
    refused = next(j for j in trust.ledger(repo.path, "prod").judged if j.commit.sha == sha)
    assert refused.kind == "forbidden"
    assert f"not signed by the promotion key {key.key_id}" in refused.why
    assert "cannot be checked" in refused.why
    with pytest.raises(RollgateError, match=rf"prod: {sha[:12]} forbidden: .*not signed by the promotion key"):
        trust.check_changes(repo.path, f"{sha}~1", sha)


def test_an_unsigned_promotion_does_not_count(key: Key, tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    verify(repo, key.public)
    sha = repo.promote(V1)
    assert repo.history().deployed == frozenset()
    with pytest.raises(
        RollgateError, match=rf"{sha[:12]} forbidden: .*it is unsigned, not signed by the promotion key"
    ):
        trust.check_changes(repo.path, f"{sha}~1", sha)


def test_an_ssh_signature_the_machine_trusts_does_not_count(key: Key, tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ssh-keygen is missing (make test-deps)")
        pytest.skip("ssh-keygen is missing: ssh signatures are not tested here")
    repo = Repo(tmp_path)
    verify(repo, key.public)
    ssh_key = tmp_path / "ssh_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_key)], check=True)
    (tmp_path / "allowed").write_text(f"{BOT.email} {(tmp_path / 'ssh_key.pub').read_text()}")
    for name, value in (("gpg.format", "ssh"), ("user.signingkey", str(ssh_key))):
        repo.git("config", name, value)
    repo.git("config", "gpg.ssh.allowedSignersFile", str(tmp_path / "allowed"))
    sha = repo.promote(V1, sign=True)
    assert repo.git("log", "-1", "--format=%G?", sha) == "G"
    assert repo.history().deployed == frozenset()


def test_the_key_is_read_where_the_config_is_read(key: Key, made: list[Path], tmp_path: Path) -> None:
    """check-changes reads the identity at --base: a change under review cannot swap in its own key."""
    repo = Repo(tmp_path)
    verify(repo, key.public)
    base = repo.git("rev-parse", "HEAD")
    repo.write(KEY_FILE, make_key(made).public)
    repo.commit("a new promotion key")
    at_base = identity.load(repo.path, "prod", base)
    assert at_base.signing_key is not None and at_base.signing_key.fingerprint == key.fingerprint
    here = identity.load(repo.path, "prod")
    assert here.signing_key is not None and here.signing_key.fingerprint != key.fingerprint


def _configured(repo: Repo, promotion_tail: str) -> None:
    config = repo.path / "configs/deploy/prod.yaml"
    config.write_text(config.read_text().replace("  verify_signatures: false", promotion_tail))


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("  verify_signatures: true", r"verify_signatures: true needs signing_key"),
        (
            f"  verify_signatures: false\n  signing_key: {KEY_FILE}",
            r"signing_key is set but verify_signatures is false",
        ),
        ("  verify_signatures: true\n  signing_key: ../outside.asc", r"promotion\.signing_key"),
        (f"  verify_signatures: true\n  signing_key: {KEY_FILE}", rf"promotion\.signing_key: {KEY_FILE}: no such file"),
    ],
    ids=["verify-without-key", "key-without-verify", "outside-the-repository", "missing-file"],
)
def test_bad_signing_configs_are_clear_errors(tmp_path: Path, tail: str, message: str) -> None:
    repo = Repo(tmp_path)
    _configured(repo, tail)
    with pytest.raises(ContractError, match=rf"(?s)configs/deploy/prod\.yaml: .*{message}") as caught:
        identity.load(repo.path, "prod")
    assert "prod.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda k, o: k.public + o.public, r"holds 2 keys \([0-9A-F]{16}, [0-9A-F]{16}\); it must hold exactly one"),
        (lambda k, o: k.secret, r"holds a SECRET key: commit only the public one"),
        (lambda k, o: "not a key\n", r"no ASCII-armoured OpenPGP public key"),
        (lambda k, o: f"{signing.ARMOR}\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", "not a readable OpenPGP"),
    ],
    ids=["two-keys", "secret-key", "no-armour", "broken"],
)
def test_a_bad_key_file_is_a_clear_error(
    key: Key, made: list[Path], tmp_path: Path, content: object, message: str
) -> None:
    repo = Repo(tmp_path)
    verify(repo, content(key, make_key(made)))  # type: ignore[operator]
    with pytest.raises(
        ContractError, match=rf"configs/deploy/prod\.yaml: promotion\.signing_key: {KEY_FILE}: {message}"
    ):
        identity.load(repo.path, "prod")


def test_a_key_whose_primary_cannot_sign_is_refused(made: list[Path], tmp_path: Path) -> None:
    """Argo CD matches the primary key's id: a key that signs with a subkey would never verify there."""
    home = new_home(made)
    gpg(home, "--passphrase", "", "--quick-gen-key", "bot <bot@example.org>", "ed25519", "cert", "never")
    fingerprint = gpg(home, "--with-colons", "--list-keys").split("fpr:::::::::")[1].split(":")[0]
    gpg(home, "--passphrase", "", "--quick-add-key", fingerprint, "ed25519", "sign", "never")
    with pytest.raises(RollgateError, match=r"x\.asc: the primary key of [0-9A-F]{16} cannot sign"):
        signing.public_key(gpg(home, "--armor", "--export", fingerprint), "x.asc")


def test_without_gpg_verification_is_a_clear_error(key: Key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path)
    verify(repo, key.public)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # signing looks gpg up through shutil.which
    with pytest.raises(RollgateError, match=r"gpg is not installed: promotion\.verify_signatures needs it"):
        history.read(repo.path, "prod")
