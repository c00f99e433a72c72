"""`rollgate rollback --env ENV [--to COMMIT]`: `git revert` of a promotion commit, pushed.

The revert keeps history and restores the previous manifests byte for byte; it also withdraws the
reverted digest from the environment (see `adapters.history`), so the next merge cannot quietly ship
it again. Only git is touched (no DVC, no MLflow): the registry alias follows on the next sync.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rollgate.adapters import git
from rollgate.contracts import paths, release, trailers
from rollgate.contracts.errors import RollgateError


@dataclass(frozen=True)
class Promotion:
    commit: str
    subject: str
    found: dict[str, list[str]]  # its Rollgate-* trailers

    def first(self, key: str) -> str | None:
        values = self.found.get(key)
        return values[0] if values else None


def promotions(root: Path, env: str) -> list[Promotion]:
    """The environment's promotion commits that no later commit reverted, newest first."""
    commits = git.commits(root)
    reverted = {trailers.reverted_commit(text) for _, text in commits}
    found = [(sha, text, trailers.parse(text)) for sha, text in commits if sha not in reverted]
    return [Promotion(sha, text.split("\n", 1)[0], t) for sha, text, t in found if env in t.get(trailers.ENV, [])]


def _target(root: Path, env: str, to: str | None) -> Promotion:
    live = promotions(root, env)
    if to is None:
        if not live:
            raise RollgateError(f"nothing to revert: no promotion commit of {env} that is not reverted already")
        return live[0]
    wanted = git.resolve(root, to)
    for promotion in live:
        if promotion.commit == wanted:
            return promotion
    raise RollgateError(
        f"nothing to revert: {to} is not a promotion commit of {env} reachable from HEAD "
        f"(trailer {trailers.ENV}: {env}), or it was reverted already"
    )


def _describe(root: Path, env: str, gone: Promotion) -> str:
    sha, source = gone.first(trailers.MODEL_SHA256), gone.first(trailers.SOURCE_COMMIT) or "unknown"
    now = release.read(root / paths.release_record(env))
    pins = f"{env} now pins {now.model.sha256[:12]}" if now else f"{env} now pins no model"
    if sha is None:
        kept = gone.first(trailers.RERENDER) or "?"
        return f"reverted the re-render {gone.commit[:12]} ({gone.subject}); model {kept[:12]} not withdrawn; {pins}"
    return (
        f"withdrew {sha} from {env} (reverted {gone.commit[:12]}: {gone.subject}); {pins}.\n"
        f"source commit {source} produced the withdrawn model: main still builds it until that commit is "
        "reverted too"
    )


def run(root: Path, env: str, to: str | None = None) -> str:
    """Revert the env's latest promotion (or `to`) and push; what happened, with the time it took.

    Raises:
        RollgateError: nothing to revert, a dirty work tree, a conflicting revert, or a push rejected
            every time; HEAD and the work tree are then as they were.
    """
    started = time.perf_counter()
    dirty = [path for code, path in git.status(root) if code != "??"]
    if dirty:
        raise RollgateError(f"the work tree has uncommitted changes ({', '.join(dirty[:5])}): commit or stash them")
    gone = _target(root, env, to)
    orig = git.head(root)
    git.revert(root, gone.commit)
    try:
        git.push(root)
    except RollgateError:
        git.git(root, "reset", "-q", "--hard", orig)
        raise
    elapsed = time.perf_counter() - started
    return f"{_describe(root, env, gone)}\nrollback of {env} took {elapsed:.2f} s (revert and push)"
