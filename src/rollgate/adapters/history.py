"""What an environment ran before, and what was withdrawn, read from git history (read-only)."""

from __future__ import annotations

from pathlib import Path

from rollgate.adapters import git
from rollgate.contracts import paths, release, trailers
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.trailers import History


def read(root: Path, env: str) -> History:
    """Digests the env's release record pinned in any commit, and those withdrawn from `env` by reverts."""
    rel = paths.release_record(env).as_posix()
    if not git.in_repository(root):
        raise RollgateError(f"{root}: not a git repository: the gate needs the history of {rel}")
    deployed = set()
    for sha, _ in git.commits(root, "--", rel, oldest_first=True):
        try:
            pinned = release.loads(git.git(root, "show", f"{sha}:{rel}"), f"{rel}@{sha[:12]}")
        except (ContractError, RollgateError):
            continue  # deleted or malformed in that commit: it pinned nothing valid
        if pinned is not None:
            deployed.add(pinned.model.sha256)
    return History(frozenset(deployed), frozenset(withdrawn(git.commits(root, oldest_first=True), env)))


def withdrawn(commits: list[tuple[str, str]], env: str) -> set[str]:
    """Digests withdrawn from `env` by the reverts among `commits` (sha, message; oldest first)."""
    by_sha = {sha: trailers.parse(message) for sha, message in commits}
    out: set[str] = set()
    for sha, message in commits:
        found = by_sha[sha]
        for digest in found.get(trailers.REALLOW, []):
            out.discard(digest)
        target = trailers.reverted_commit(message)
        promoted = by_sha.get(target or "", {})
        if target and env in promoted.get(trailers.ENV, []):
            out.update(promoted.get(trailers.MODEL_SHA256, []))
    return out
