"""Throwaway OpenPGP keys made with the real gpg, in GNUPGHOMEs of their own (ed25519: fast)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollgate.adapters import signing


@dataclass(frozen=True)
class Key:
    fingerprint: str
    public: str  # ASCII-armoured
    secret: str  # ASCII-armoured, no passphrase
    home: Path  # the GNUPGHOME that made it (holds the secret key)

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]


def require_gpg() -> None:
    """Skip, with the reason, where gpg is missing; under CI=true that is a failure (make test-deps)."""
    if shutil.which("gpg") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("gpg is missing (make test-deps installs gnupg)")
        pytest.skip("gpg is missing: promotion-commit signatures are not tested here")


def gpg(home: Path, *args: str, stdin: bytes = b"") -> str:
    cmd = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--quiet", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, check=True).stdout.decode()


@contextmanager
def homes() -> Iterator[list[Path]]:
    """Short GNUPGHOMEs (the agent's socket path must fit), their agents stopped and removed afterwards."""
    made: list[Path] = []
    try:
        yield made
    finally:
        for home in made:
            signing.stop(home)
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def made() -> Iterator[list[Path]]:
    """The GNUPGHOMEs a test makes (`new_home`, `make_key`), removed with their agents afterwards."""
    require_gpg()
    with homes() as found:
        yield found


@pytest.fixture
def key(made: list[Path]) -> Key:
    """A fresh promotion key."""
    return make_key(made)


def new_home(made: list[Path]) -> Path:
    made.append(Path(tempfile.mkdtemp(prefix="rg-gpg-")))
    return made[-1]


def make_key(made: list[Path], uid: str = "rollgate-bot <rollgate-bot@users.noreply.example.com>") -> Key:
    """A new signing-only ed25519 key without a passphrase, in a new home."""
    home = new_home(made)
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    listed = gpg(home, "--with-colons", "--list-secret-keys")
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:"))
    public = gpg(home, "--armor", "--export", fingerprint)
    secret = gpg(home, "--armor", "--export-secret-keys", fingerprint)
    return Key(fingerprint, public, secret, home)
