"""Commit trailers of promotion commits, the promotion identity, and the files under `deploy-state/`.

A promotion commit's message ends with a trailer block (`Rollgate-Env`, `Rollgate-Model-Sha256`,
`Rollgate-Source-Commit`, `Rollgate-Verdict`); a re-render carries `Rollgate-Rerender: <tree id>`
instead of the model and the verdict, the git tree id of `manifests/<env>/` as it leaves it. Only the
real trailer block counts (git parses it: `%(trailers:only,unfold)`), and only on commits made by the
promotion identity (`rollgate.contracts.ledger` says when a commit counts). Re-allowing a withdrawn
digest is a reviewable file, never a message: `deploy-state/<env>/reallowed/<sha256>.txt` (why, in
words). `deploy-state/<env>/adopted.json`, written by `rollgate adopt`, is the trust anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

ENV = "Rollgate-Env"
MODEL_SHA256 = "Rollgate-Model-Sha256"
SOURCE_COMMIT = "Rollgate-Source-Commit"
VERDICT = "Rollgate-Verdict"
# A re-render of the model already pinned (same model; configs, templates or image changed) carries
# this instead of MODEL_SHA256 and VERDICT: reverting it withdraws that render, not the model.
RERENDER = "Rollgate-Rerender"

STATE_DIR = PurePosixPath("deploy-state")
REALLOW_SUFFIX = ".txt"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def anchor(env: str) -> PurePosixPath:
    """The trust anchor of an environment: history-based checks start at the commit that last wrote it."""
    return STATE_DIR / env / "adopted.json"


def reallow_dir(env: str) -> PurePosixPath:
    return STATE_DIR / env / "reallowed"


def reallow(env: str, sha256: str) -> PurePosixPath:
    """The reviewable file whose addition (or change) re-allows a withdrawn digest in `env`."""
    return reallow_dir(env) / f"{sha256}{REALLOW_SUFFIX}"


def reallowed_digest(env: str, path: str) -> str | None:
    """The digest a path under `reallow_dir(env)` re-allows, or None for any other path."""
    name = PurePosixPath(path)
    if name.parent != reallow_dir(env) or name.suffix != REALLOW_SUFFIX:
        return None
    return name.stem if _SHA256.match(name.stem) else None


@dataclass(frozen=True)
class SigningKey:
    """The OpenPGP public key whose signatures alone make a promotion count (`promotion.signing_key`)."""

    fingerprint: str  # 40 hex digits, upper case, of the primary key (the one that signs)
    armored: str  # the ASCII-armoured public key, as committed
    source: str  # where it was read from, for messages

    @property
    def key_id(self) -> str:
        """The long key id (the fingerprint's last 16 hex digits), as Argo CD's `signatureKeys` names it."""
        return self.fingerprint[-16:]


@dataclass(frozen=True)
class Identity:
    """Who makes promotion commits: `promotion` in `configs/deploy/<env>.yaml`."""

    name: str
    email: str
    signing_key: SigningKey | None = None  # set: its commits count only when signed by this key

    @property
    def verify_signatures(self) -> bool:
        return self.signing_key is not None

    def sign_args(self) -> list[str]:
        """What makes git sign as this identity: its primary key (`!`), never a subkey or another key."""
        return [f"--gpg-sign={self.signing_key.fingerprint}!"] if self.signing_key else []

    def made(self, author: tuple[str, str], committer: tuple[str, str]) -> bool:
        """Whether a commit's author and committer (name, email) are both this identity."""
        return author == committer == (self.name, self.email)

    def git_env(self) -> dict[str, str]:
        """The environment that makes git author and commit as this identity."""
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


@dataclass(frozen=True)
class History:
    """What an environment ran, read from git history since its trust anchor."""

    deployed: frozenset[str]  # digests pinned at the anchor or by a counted promotion since
    withdrawn: frozenset[str]  # digests whose promotion was undone (or replaced by a rollback), not re-allowed
    withdrawn_renders: frozenset[str] = frozenset()  # tree ids of re-renders that were undone


def parse(block: str) -> dict[str, list[str]]:
    """The `Rollgate-*` trailers of a trailer block as git prints it (`%(trailers:only,unfold)`).

    Give it git's output, never a whole message: a `Key: value` line in prose is no trailer.
    """
    found: dict[str, list[str]] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("Rollgate-") and value.strip():
            found.setdefault(key.strip(), []).append(value.strip())
    return found
