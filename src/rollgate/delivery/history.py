"""What an environment ran before, and what was withdrawn, read from git history (read-only)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts import release, trailers
from rollgate.contracts.errors import ContractError, RollgateError


@dataclass(frozen=True)
class History:
    deployed: frozenset[str]  # every digest the env's release record ever pinned
    withdrawn: frozenset[str]  # digests whose promotion to the env was reverted (and not re-allowed)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RollgateError(f"git {' '.join(args)} failed in {root}: {done.stderr.strip()}")
    return done.stdout


def _commits(root: Path, *args: str) -> list[tuple[str, str]]:
    """(sha, message) of commits, oldest first."""
    out = _git(root, "log", "--reverse", "--format=%H%x1f%B%x1e", *args)
    return [tuple(entry.strip().split("\x1f", 1)) for entry in out.split("\x1e") if entry.strip()]  # type: ignore[misc]


def read(root: Path, env: str, record: Path) -> History:
    """Digests `record` pinned in any commit, and those withdrawn from `env` by reverts."""
    if not (root / ".git").exists() and _git(root, "rev-parse", "--is-inside-work-tree").strip() != "true":
        raise RollgateError(f"{root}: not a git repository: the gate needs the history of {record}")
    rel = record.as_posix()
    deployed = set()
    for sha, _ in _commits(root, "--", rel):
        try:
            pinned = release.loads(_git(root, "show", f"{sha}:{rel}"), f"{rel}@{sha[:12]}")
        except (ContractError, RollgateError):
            continue  # deleted or malformed in that commit: it pinned nothing valid
        if pinned is not None:
            deployed.add(pinned.model.sha256)
    return History(frozenset(deployed), frozenset(_withdrawn(_commits(root), env)))


def _withdrawn(commits: list[tuple[str, str]], env: str) -> set[str]:
    by_sha = {sha: trailers.parse(message) for sha, message in commits}
    withdrawn: set[str] = set()
    for sha, message in commits:
        found = by_sha[sha]
        for digest in found.get(trailers.REALLOW, []):
            withdrawn.discard(digest)
        target = trailers.reverted_commit(message)
        promoted = by_sha.get(target or "", {})
        if target and env in promoted.get(trailers.ENV, []):
            withdrawn.update(promoted.get(trailers.MODEL_SHA256, []))
    return withdrawn
