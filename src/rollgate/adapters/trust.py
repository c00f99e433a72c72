"""Who may change `manifests/<env>/`, checked on git history: the one module every check imports.

The rules are `rollgate.contracts.ledger`'s (pure); this module reads what they judge from git
(`rollgate.adapters.gitlog`) with the environment's promotion identity, refusing a shallow clone.
The gate and promote read the outcome (`ledger(...).history()`), rollback its live promotions, and
`rollgate check-changes` its judgement of each commit in a range.
"""

from __future__ import annotations

from pathlib import Path

from rollgate.adapters import git, gitlog, identity
from rollgate.contracts import ledger as rules
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.ledger import Judged, Ledger
from rollgate.contracts.trailers import Identity


def ledger(root: Path, env: str, rev: str = "HEAD", who: Identity | None = None) -> Ledger:
    """The env's history since its trust anchor, up to `rev`, judged (by `who`, default the work tree's
    promotion identity).

    Raises:
        RollgateError: not a repository, a shallow clone, or a missing or bad promotion identity.
    """
    if not git.in_repository(root):
        raise RollgateError(f"{root}: not a git repository: what {env} ran is read from its history")
    gitlog.require_full_history(root, f"what {env} ran and what was withdrawn from it")
    who = who or identity.load(root, env)
    commits = gitlog.read(root, env, rev, key=who.signing_key)
    start = rules.anchor_index(commits) or 0
    # The record pinned at the anchor, and every one after it.
    at = max((i for i, c in enumerate(commits[: start + 1]) if c.record), default=start)
    blobs = [c.record[1] for c in commits[at:] if c.record and c.record[1]]
    return rules.replay(env, who, commits, gitlog.digests(root, blobs))


def render_id(root: Path, folder: Path) -> str:
    """The tree id a rendered folder will have in this repository once committed (a re-render's id)."""
    return gitlog.tree_id(folder, git.git(root, "rev-parse", "--show-object-format").strip() or "sha1")


def line(env: str, judged: Judged) -> str:
    """One judged commit in words: environment, commit, kind, why, subject."""
    c = judged.commit
    return f"{env}: {c.sha[:12]} {judged.kind}: {judged.why} ({c.subject})"


def _judge(judged: Judged, pull_request: bool) -> Judged:
    """In a pull request, promotions and re-renders are forbidden: the identity pushes them to main."""
    if pull_request and judged.kind in (rules.PROMOTION, rules.RERENDER):
        why = f"a {judged.kind} never comes through a pull request (the promotion identity pushes it to main)"
        return Judged(judged.commit, rules.FORBIDDEN, why)
    return judged


def judged_in_range(root: Path, base: str, head: str = "HEAD", pull_request: bool = False) -> list[tuple[str, Judged]]:
    """Every commit in `base..head` that touched an environment's manifests or state: (env, judgement).

    Args:
        root: the repository.
        base: the commit the range starts after (a pull request's base, or main before a push).
        head: its last commit.
        pull_request: the range is a pull request's: promotions and re-renders in it are forbidden.

    Raises:
        RollgateError: unreadable history, a missing commit or a bad promotion identity.
    """
    base_id, head_id = git.require_commit(root, base, "--base"), git.require_commit(root, head, "--head")
    inside = set(git.git(root, "rev-list", f"{base_id}..{head_id}").split())
    found: list[tuple[str, Judged]] = []
    for env in paths.environments(root):
        # The identity as the base says: a change under review cannot name its own.
        judged = ledger(root, env, head_id, identity.load(root, env, base_id)).judged
        found += [(env, _judge(j, pull_request)) for j in judged if j.commit.sha in inside]
    return found


def check_changes(root: Path, base: str, head: str = "HEAD", pull_request: bool = False) -> str:
    """`rollgate check-changes`: `judged_in_range`, one line per judged commit (environment, commit, kind,
    why).

    Raises:
        RollgateError: a forbidden change, each named with its commit and why; or unreadable history.
    """
    lines: list[str] = []
    forbidden: list[str] = []
    for env, one in judged_in_range(root, base, head, pull_request):
        (forbidden if one.kind == rules.FORBIDDEN else lines).append(line(env, one))
    if forbidden:
        raise RollgateError(f"{len(forbidden)} forbidden change(s) in {base}..{head}:\n  " + "\n  ".join(forbidden))
    return "\n".join(lines) or f"no commit in {base}..{head} changed manifests/<env>/ or deploy-state/<env>/"
