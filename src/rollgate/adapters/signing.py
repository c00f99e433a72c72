"""OpenPGP keys for promotion commits, through the system's gpg: the one place rollgate runs it.

The deploy config names one public key (`promotion.signing_key`). Verification uses that key alone: git
checks signatures with a private, temporary GNUPGHOME holding just it, trusted ultimately there, so
`%G?` = `G` means "signed by the promotion key" and no key of the machine's own keyring counts. In CI,
`import_secret` puts the secret key into a GNUPGHOME of its own for the later steps that sign.
Argo CD matches the primary key's id, so the key must sign with its primary key and rollgate signs with
exactly that (`FINGERPRINT!`), never with a subkey.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts.errors import RollgateError
from rollgate.contracts.trailers import SigningKey

ARMOR, SECRET_ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PRIVATE KEY BLOCK-----"


@dataclass(frozen=True)
class Verifier:
    """What makes `git log %G?` judge by one key alone: git's `-c` options and its environment."""

    args: tuple[str, ...]
    env: dict[str, str]


def gpg() -> str:
    """The gpg program, or an error saying how to get it."""
    found = shutil.which("gpg")
    if found is None:
        raise RollgateError(
            "gpg is not installed: promotion.verify_signatures needs it to check and make signatures "
            "(Debian: apt-get install gnupg)"
        )
    return found


def _gpg(home: Path, args: Sequence[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    cmd = [gpg(), "--homedir", str(home), "--batch", "--no-tty", "--quiet", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, check=False)


def _said(done: subprocess.CompletedProcess[bytes]) -> str:
    """gpg's own words (its stderr never holds key material), on one line."""
    return " / ".join(done.stderr.decode(errors="replace").strip().splitlines()) or f"exit {done.returncode}"


@contextmanager
def _home() -> Iterator[Path]:
    """A new, private GNUPGHOME, removed afterwards (short, so the agent's socket path fits)."""
    home = Path(tempfile.mkdtemp(prefix="rollgate-gpg-"))
    try:
        yield home
    finally:
        stop(home)
        shutil.rmtree(home, ignore_errors=True)


def stop(home: Path) -> None:
    """Stop the gpg-agent a GNUPGHOME may have started (it would outlive the folder)."""
    if (gpgconf := shutil.which("gpgconf")) is not None:
        subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)


def public_key(text: str, source: str) -> SigningKey:
    """The one OpenPGP public key `text` holds (an ASCII-armoured export), checked.

    Raises:
        RollgateError: naming `source`: no armoured key, a secret key, more or fewer than one key, a
            revoked or expired one, or one whose primary key cannot sign.
    """
    if SECRET_ARMOR in text:
        raise _secret(source)
    if ARMOR not in text:
        raise RollgateError(
            f"{source}: no ASCII-armoured OpenPGP public key (`{ARMOR}`): export it with "
            "`gpg --armor --export FINGERPRINT`"
        )
    with _home() as home:
        done = _gpg(home, ["--with-colons", "--show-keys"], text.encode())
    records = [line.split(":") for line in done.stdout.decode(errors="replace").splitlines()]
    if any(r[0] in ("sec", "ssb") for r in records):
        raise _secret(source)
    keys = [(r, _fingerprint(records[i + 1 :])) for i, r in enumerate(records) if r[0] == "pub"]
    if done.returncode != 0 or not keys:
        raise RollgateError(f"{source}: not a readable OpenPGP public key ({_said(done)})")
    if len(keys) != 1:
        ids = ", ".join(f[-16:] for _, f in keys)
        raise RollgateError(f"{source}: holds {len(keys)} keys ({ids}); it must hold exactly one (one key per file)")
    (pub, fingerprint), = keys  # fmt: skip
    if pub[1] in ("r", "e"):
        raise RollgateError(f"{source}: key {fingerprint[-16:]} is {'revoked' if pub[1] == 'r' else 'expired'}")
    if "s" not in pub[11]:
        raise RollgateError(
            f"{source}: the primary key of {fingerprint[-16:]} cannot sign: Argo CD matches the primary key's id, "
            "so the key must sign with it (make it with `gpg --quick-gen-key NAME ed25519 sign never`)"
        )
    return SigningKey(fingerprint.upper(), text, source)


def _fingerprint(after: list[list[str]]) -> str:
    """The fingerprint of the key whose record precedes `after` (gpg's `fpr` record follows it)."""
    return next((f[9] for f in after if f[0] == "fpr"), "")


def _secret(source: str) -> RollgateError:
    return RollgateError(
        f"{source}: holds a SECRET key: commit only the public one (`gpg --armor --export FINGERPRINT`), and "
        "treat this secret key as leaked (revoke it, make a new one)"
    )


@contextmanager
def verifying(key: SigningKey) -> Iterator[Verifier]:
    """git options and environment under which `%G?` = `G` means "signed by `key`", and nothing else."""
    with _home() as home:
        imported = _gpg(home, ["--import"], key.armored.encode())
        trusted = _gpg(home, ["--import-ownertrust"], f"{key.fingerprint}:6:\n".encode())
        for done in (imported, trusted):
            if done.returncode != 0:
                raise RollgateError(f"{key.source}: gpg could not import it for verification: {_said(done)}")
        nobody = home / "allowed_signers"  # ssh signatures: no signer is allowed
        nobody.write_text("")
        args = ("-c", f"gpg.program={gpg()}", "-c", f"gpg.ssh.allowedSignersFile={nobody}")
        yield Verifier(args, {"GNUPGHOME": str(home)})


def import_secret(armored: str, home: Path) -> str:
    """Import one secret key into the new GNUPGHOME `home` and check that it signs without a passphrase.

    Returns:
        The fingerprint of the key's primary key.

    Raises:
        RollgateError: `home` is not new, the text holds no secret key or more than one, or it cannot sign
            here (a passphrase, or a primary key that cannot sign). Never shows the key.
    """
    if home.exists() and any(home.iterdir()):
        raise RollgateError(f"{home}: not empty: the signing key goes into a new GNUPGHOME of its own")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    done = _gpg(home, ["--import"], armored.encode())
    listed = _gpg(home, ["--with-colons", "--list-secret-keys"])
    records = [line.split(":") for line in listed.stdout.decode(errors="replace").splitlines()]
    found = [_fingerprint(records[i + 1 :]) for i, r in enumerate(records) if r[0] == "sec"]
    if len(found) != 1:
        why = _said(done) if done.returncode != 0 else f"{len(found)} secret keys found"
        raise RollgateError(
            f"not one OpenPGP secret key ({why}): export it with `gpg --armor --export-secret-keys FINGERPRINT`"
        )
    fingerprint = found[0].upper()
    signed = _gpg(home, ["--pinentry-mode", "error", "--local-user", f"{fingerprint}!", "--detach-sign"], b"rollgate")
    if signed.returncode != 0:
        raise RollgateError(
            f"key {fingerprint[-16:]} cannot sign here without a passphrase ({_said(signed)}): store a copy "
            "without one (`gpg --passwd`, empty), readable only as the environment secret"
        )
    return fingerprint
