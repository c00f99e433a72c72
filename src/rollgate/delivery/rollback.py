"""`rollgate rollback --env ENV [--to COMMIT]`: `git revert` of the latest live promotion, pushed.

The live changes are `rollgate.adapters.trust`'s: the promotions and re-renders the promotion identity
made since the trust anchor that no later commit undid. Reverting the latest one restores the manifests
it replaced byte for byte, which is what withdraws its digest (or its render, for a re-render); `--to`
an older one reverts it and every live change after it, newest first, so that the folder comes back
exactly as it was before it. Only git is touched (no DVC, no MLflow): the registry alias follows on the
next sync.
"""

from __future__ import annotations

import time
from pathlib import Path

from rollgate.adapters import git, identity, trust
from rollgate.contracts import ledger, paths, release, trailers
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.ledger import Entry


def _chain(root: Path, env: str, live: list[Entry], to: str | None) -> list[Entry]:
    """What to revert, newest first: the latest live change, or `to` and every live one after it."""
    if not live:
        raise RollgateError(f"nothing to revert: no promotion commit of {env} that is not reverted already")
    if to is None:
        return [live[-1]]
    wanted = git.resolve(root, to)
    for at, entry in enumerate(live):
        if entry.commit.sha == wanted:
            return live[at:][::-1]
    raise RollgateError(
        f"nothing to revert: {to} is not a promotion commit of {env} reachable from HEAD "
        "(made by the promotion identity since the trust anchor), or it was reverted already"
    )


def _said(env: str, entry: Entry) -> str:
    c = entry.commit
    if entry.kind == ledger.RERENDER:
        return (
            f"withdrew the render {str(entry.after)[:12]} of {env} (reverted the re-render {c.sha[:12]}: "
            f"{c.subject}); model {entry.digest[:12]} not withdrawn"
        )
    source = (c.found.get(trailers.SOURCE_COMMIT) or ["unknown"])[0]
    return (
        f"withdrew {entry.digest} from {env} (reverted {c.sha[:12]}: {c.subject}).\n"
        f"source commit {source} produced the withdrawn model: main still builds it until that commit is "
        "reverted too"
    )


def _exact(root: Path, env: str, before: str | None) -> bool:
    """Whether manifests/<env>/ at HEAD is the tree `before` (None: no such folder)."""
    folder = paths.release_record(env).parent.as_posix()
    listed = git.git(root, "ls-tree", "-d", "HEAD", "--", folder).split()
    return (listed[2] if listed else None) == before


def run(root: Path, env: str, to: str | None = None) -> str:
    """Revert the env's latest live promotion (or `to` and those after it) and push; what happened.

    Raises:
        RollgateError: nothing to revert, a shallow clone, a dirty work tree, a revert that conflicts or
            does not restore the folder exactly, or a push rejected every time; HEAD and the work tree are
            then as they were.
    """
    started = time.perf_counter()
    dirty = [path for code, path in git.status(root) if code != "??"]
    if dirty:
        raise RollgateError(f"the work tree has uncommitted changes ({', '.join(dirty[:5])}): commit or stash them")
    chain = _chain(root, env, trust.ledger(root, env).live, to)
    who, orig = identity.load(root, env), git.head(root)
    git.revert(root, [entry.commit.sha for entry in chain], who)
    try:
        if not _exact(root, env, chain[-1].before):
            raise RollgateError(
                f"the revert does not restore manifests/{env}/ as it was before {chain[-1].commit.sha[:12]}: "
                "commits that are no promotion changed it since; revert those first"
            )
        git.push(root, who=who)
    except RollgateError:
        git.git(root, "reset", "-q", "--hard", orig)
        raise
    now = release.read(root / paths.release_record(env))
    pins = f"{env} now pins {now.model.sha256[:12]}" if now else f"{env} now pins no model"
    said = "\n".join(_said(env, entry) for entry in chain)
    return f"{said}\n{pins}\nrollback of {env} took {time.perf_counter() - started:.2f} s (revert and push)"
