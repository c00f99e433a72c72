"""Putting staged manifests into the repository as one pushed commit, or leaving it exactly as it was.

First the model goes to the DVC default remote (`stored`), since the record pins a URI under that
remote's layout; when the remote is a folder inside the work tree (the embedded `dvc-remote/`,
committed to git), the object the push adds joins the promotion commit. The manifests are rendered
elsewhere, moved into `manifests/<env>/`, and committed with the pipeline outputs the promotion
carries, as the promotion identity (`promotion` in the deploy config: author and committer, signed
when its signatures are verified), since only its commits count as promotions. When the push is
rejected, the commit is rebuilt on top of
the fetched upstream — not rebased line by line, since two promotions always touch the same lines —
but only if upstream changed nothing outside `manifests/` since this run's commit and still pins a
model whose source commit this run descends from. Any failure undoes the commit, restores the
files the promotion touched and removes the objects it added to an in-tree remote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import filecmp
import shutil
from collections.abc import Iterator
from pathlib import Path

from rollgate.adapters import dvc, dvc_store, git, identity
from rollgate.contracts import paths, release
from rollgate.delivery import preconditions
from rollgate.delivery.preconditions import Ready

MANIFESTS = "manifests"


class _AlreadyThereError(Exception):
    """Upstream already holds exactly these manifests (a concurrent run promoted the same thing)."""


def differences(staged: Path, target: Path) -> list[str]:
    """Files that differ between two directories of manifests, added and removed ones included."""
    mine = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    theirs = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} if target.exists() else set()
    changed = {n for n in mine & theirs if not filecmp.cmp(staged / n, target / n, shallow=False)}
    return sorted(changed | (mine ^ theirs))


@contextlib.contextmanager
def stored(root: Path, ready: Ready) -> Iterator[Ready]:
    """`ready` once the model on disk is in the DVC default remote (else `dvc.push_output` refuses).

    A new object in a remote inside the work tree is yielded in `Ready.added`, for the promotion
    commit; if the promotion fails before that commit lands, the object is removed again.
    """
    found = dvc_store.push_output(root, str(paths.MODEL_ARTIFACT), ready.candidate.dvc_md5)
    new = found is not None and ("??", found) in git.status(root)  # untracked, and not ignored by git
    ready = dataclasses.replace(ready, added=(found,) if found and new else ())
    try:
        yield ready
    except BaseException:
        _discard(root, ready.added)
        raise


def _discard(root: Path, added: tuple[str, ...]) -> None:
    """Remove objects a push added to an in-tree remote, and the `xx/` folder it made for them."""
    for name in added:
        (root / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: other objects share the folder
            (root / name).parent.rmdir()


def _snapshot(root: Path, names: tuple[str, ...]) -> dict[str, bytes | None]:
    return {n: (root / n).read_bytes() if (root / n).is_file() else None for n in names}


def _restore(root: Path, saved: dict[str, bytes | None]) -> None:
    for name, data in saved.items():
        if data is None:
            (root / name).unlink(missing_ok=True)
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)  # git drops folders it emptied
            (root / name).write_bytes(data)


def _commit(root: Path, ready: Ready, staged: Path, text: str) -> str:
    env = ready.verdict.env
    target = root / paths.release_record(env).parent
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(staged, target)
    # The new release record becomes the gate's recorded input: a no-op `dvc repro` then runs nothing.
    dvc.commit_stage(root, f"gate@{env}")
    carried = [preconditions.DVC_LOCK, *ready.carried, *ready.added]
    # As the promotion identity: only its promotion commits count (rollgate.adapters.trust).
    return git.commit(root, [target.relative_to(root).as_posix(), *carried], text, identity.load(root, env))


def _replay(root: Path, ref: str, orig: str, job: tuple[Ready, Path, str, dict[str, bytes | None]]) -> None:
    """Rebuild the promotion commit on the fetched upstream `ref`, or refuse."""
    ready, staged, text, saved = job
    env, source = ready.verdict.env, ready.candidate.source_commit
    record = paths.release_record(env).as_posix()
    preconditions.stale(root, release.loads(git.git(root, "show", f"{ref}:{record}"), f"{record}@{ref}"), source)
    base = git.git(root, "merge-base", orig, ref).strip()
    moved = [p for p in git.git(root, "diff", "--name-only", base, ref).split() if not p.startswith(f"{MANIFESTS}/")]
    if moved:
        raise preconditions.StaleSourceError(
            f"main moved on since {source[:12]} ({', '.join(moved[:3])}{', ...' if len(moved) > 3 else ''}): "
            "this run is stale; the run of the newer commit promotes"
        )
    git.git(root, "reset", "-q", "--hard", ref)
    _restore(root, saved)
    if not differences(staged, root / paths.release_record(env).parent):
        raise _AlreadyThereError
    pinned = release.read(staged / paths.release_record(env).name)
    preconditions.withdrawn(root, env, pinned.model.sha256 if pinned else "")
    _commit(root, ready, staged, text)


def _undo(root: Path, orig: str, ready: Ready, saved: dict[str, bytes | None]) -> None:
    git.git(root, "reset", "-q", "--hard", orig)
    git.git(root, "clean", "-fdq", "--", paths.release_record(ready.verdict.env).parent.as_posix())
    _restore(root, {name: data for name, data in saved.items() if name not in ready.added})
    _discard(root, ready.added)


def deliver(root: Path, ready: Ready, staged: Path, text: str) -> str | None:
    """Commit `staged` as `manifests/<env>/` with the carried outputs and added objects, and push it.

    Returns:
        The commit, or None when upstream already held exactly these manifests (nothing was pushed).

    Raises:
        RollgateError: any refusal or failure, after the repository was restored as it was.
    """
    orig = git.head(root)
    # The added objects too: a replay's reset removes them with this run's commit.
    saved = _snapshot(root, tuple(dict.fromkeys((*ready.carried, preconditions.DVC_LOCK, *ready.added))))
    job = (ready, staged, text, saved)
    try:
        _commit(root, ready, staged, text)
        git.push(root, replay=lambda ref: _replay(root, ref, orig, job))
    except _AlreadyThereError:
        _undo(root, orig, ready, saved)
        return None
    except BaseException:
        _undo(root, orig, ready, saved)
        raise
    return git.head(root)
