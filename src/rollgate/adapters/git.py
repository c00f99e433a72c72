"""The git adapter: every git command rollgate runs, each failure one clear error.

Stages read lineage (`lineage`), the trust checks read history (with `rollgate.adapters.gitlog`),
promotion and rollback write (`commit`, `revert`, `push`), as the promotion identity when given (and
signed when its signatures are verified). Pushes are never forced. A rejected push is retried
after fetching and replaying the local commit on top of the new upstream (a plain rebase unless the
caller knows better); a push rejected every time is an error the caller answers by undoing its commit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rollgate.contracts.errors import RollgateError
from rollgate.contracts.model_metadata import GitInfo

PUSH_ATTEMPTS = 3


class Identity(Protocol):
    """Who commits (`rollgate.contracts.trailers.Identity`; not imported, so the stages that read lineage
    here do not depend on the trust rules)."""

    def sign_args(self) -> list[str]: ...

    def git_env(self) -> dict[str, str]: ...


class PushRejectedError(RollgateError):
    """Every push attempt was refused; the caller undoes its local commit."""


@dataclass(frozen=True)
class Upstream:
    remote: str
    branch: str

    @property
    def ref(self) -> str:
        return f"{self.remote}/{self.branch}"


def _run(
    root: Path,
    args: Sequence[str],
    stdin: str | None = None,
    who: Identity | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(who.git_env() if who else {}), **(env or {})} if who or env else None
    return subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False, env=full)


def _signed(who: Identity | None) -> list[str]:
    """Sign what the identity commits when its signatures are verified (else they would not count)."""
    return who.sign_args() if who else []


def git(
    root: Path, *args: str, stdin: str | None = None, who: Identity | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run `git args` in `root` (as `who`, when given, with `env` added); its stdout, or a RollgateError
    naming the command and git's stderr."""
    done = _run(root, args, stdin, who, env)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise RollgateError(f"`git {' '.join(args)}` failed: {' / '.join(why) or f'exit {done.returncode}'}")
    return done.stdout


def head(root: Path) -> str:
    return git(root, "rev-parse", "--verify", "HEAD").strip()


def head_or_none(root: Path) -> str | None:
    """HEAD's commit, or None outside a repository or before the first commit."""
    done = _run(root, ["rev-parse", "--verify", "-q", "HEAD"])
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def lineage(root: Path, paths: tuple[str, ...] = ()) -> GitInfo:
    """HEAD's commit and whether `paths` (default: the whole tree) differ from it; never raises."""
    commit = head_or_none(root)
    done = _run(root, ["status", "--porcelain", "--untracked-files=no", "--", *paths])
    return GitInfo(commit=commit, dirty=bool(done.stdout.strip()) if done.returncode == 0 else True)


def require_commit(root: Path, ref: str, what: str) -> str:
    """The commit `ref` names, or an error saying `what` must be a commit of this repository."""
    try:
        return resolve(root, ref)
    except RollgateError:
        raise RollgateError(f"{what} {ref}: not a commit in this repository (fetch it first?)") from None


def show(root: Path, ref: str, path: str) -> str | None:
    """A file's text at commit `ref`, or None when it did not exist there."""
    done = _run(root, ["show", f"{ref}:{path}"])
    return done.stdout if done.returncode == 0 else None


def in_repository(root: Path) -> bool:
    done = _run(root, ["rev-parse", "--is-inside-work-tree"])
    return done.returncode == 0 and done.stdout.strip() == "true"


def resolve(root: Path, ref: str) -> str:
    """The full commit id `ref` names (a short id, a branch, HEAD~2)."""
    return git(root, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is `descendant` or one of its ancestors (an unknown commit is an error)."""
    done = _run(root, ["merge-base", "--is-ancestor", ancestor, descendant])
    if done.returncode in (0, 1):
        return done.returncode == 0
    raise RollgateError(
        f"`git merge-base --is-ancestor {ancestor} {descendant}` failed: {done.stderr.strip()} "
        "(a shallow clone? fetch the full history)"
    )


def status(root: Path) -> list[tuple[str, str]]:
    """(two-letter status, path) of every change in the work tree and index, untracked files included."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries, found = out.split("\0"), []
    while entries:
        entry = entries.pop(0)
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # a rename lists its source next
            entries.pop(0)
        found.append((code, path))
    return found


def commit(root: Path, paths: Sequence[str], message: str, who: Identity | None = None) -> str:
    """Stage exactly `paths` (additions, edits, deletions) and commit them as `who`; the new HEAD."""
    git(root, "add", "--all", "--", *paths)
    git(root, "commit", "-q", "--no-verify", *_signed(who), "-F", "-", "--", *paths, stdin=message, who=who)
    return head(root)


def revert(root: Path, commit_ids: Sequence[str], who: Identity | None = None) -> str:
    """`git revert` commits, newest first, one revert commit each, as `who` (history kept); on a
    conflict the revert is aborted and reported."""
    done = _run(root, ["revert", "--no-edit", *_signed(who), *commit_ids], who=who)
    if done.returncode != 0:
        _run(root, ["revert", "--abort"])
        why = (done.stderr or done.stdout).strip().splitlines()
        raise RollgateError(
            f"`git revert {' '.join(commit_ids)}` failed (later commits changed the same lines?): {' / '.join(why)}"
        )
    return head(root)


def upstream(root: Path) -> Upstream:
    """The branch HEAD pushes to: its configured upstream, else `origin/<current branch>`."""
    done = _run(root, ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"])
    if done.returncode == 0 and "/" in done.stdout:
        remote, branch = done.stdout.strip().split("/", 1)
        return Upstream(remote, branch)
    branch = git(root, "symbolic-ref", "--quiet", "--short", "HEAD").strip()
    return Upstream("origin", branch)


def rebase(root: Path, onto: str, who: Identity | None = None) -> None:
    """Replay local commits on `onto` (committed as `who`); a conflict aborts the rebase and is reported."""
    done = _run(root, ["rebase", "-q", *_signed(who), onto], who=who)
    if done.returncode != 0:
        _run(root, ["rebase", "--abort"])
        why = (done.stderr or done.stdout).strip().splitlines()
        raise RollgateError(f"`git rebase {onto}` failed: {' / '.join(why)}")


def push(
    root: Path, replay: Callable[[str], None] | None = None, attempts: int = PUSH_ATTEMPTS, who: Identity | None = None
) -> Upstream:
    """Push HEAD to its upstream branch, never forced: on rejection fetch, replay, try again.

    Args:
        root: the repository.
        replay: puts the local commit on top of the fetched upstream ref (default: `git rebase`);
            it raises to give up.
        attempts: pushes tried before giving up.
        who: the identity the default replay commits as.

    Raises:
        PushRejectedError: every attempt was refused (the local commit is left for the caller to undo).
    """
    up = upstream(root)
    last = ""
    for attempt in range(attempts):
        done = _run(root, ["push", "--porcelain", up.remote, f"HEAD:refs/heads/{up.branch}"])
        if done.returncode == 0:
            return up
        last = " / ".join((done.stderr or done.stdout).strip().splitlines())
        if attempt + 1 < attempts:
            git(root, "fetch", "-q", up.remote, up.branch)
            (replay or (lambda ref: rebase(root, ref, who)))(up.ref)
    raise PushRejectedError(f"`git push {up.remote} HEAD:{up.branch}` was rejected {attempts} times: {last}")


def clone(source: Path, dest: Path) -> None:
    """A fresh clone of `source`'s HEAD branch at `dest`."""
    git(source, "clone", "--quiet", str(source.resolve()), str(dest.resolve()))
