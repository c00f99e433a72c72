"""Putting staged manifests into the repository as one pushed commit, or leaving it exactly as it was.

The manifests are rendered elsewhere, moved into `manifests/<env>/`, and committed with the
pipeline outputs the promotion carries. When the push is rejected, the commit is rebuilt on top of
the fetched upstream — not rebased line by line, since two promotions always touch the same lines —
but only if upstream changed nothing outside `manifests/` since this run's commit and still pins a
model whose source commit this run descends from. Any failure undoes the commit and restores the
files the promotion touched.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from rollgate.contracts import paths, release
from rollgate.contracts.errors import RollgateError
from rollgate.delivery import checks, gitops
from rollgate.delivery.checks import Ready

MANIFESTS = "manifests"


class _AlreadyThereError(Exception):
    """Upstream already holds exactly these manifests (a concurrent run promoted the same thing)."""


def differences(staged: Path, target: Path) -> list[str]:
    """Files that differ between two directories of manifests, added and removed ones included."""
    mine = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    theirs = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} if target.exists() else set()
    changed = {n for n in mine & theirs if not filecmp.cmp(staged / n, target / n, shallow=False)}
    return sorted(changed | (mine ^ theirs))


def _snapshot(root: Path, names: tuple[str, ...]) -> dict[str, bytes | None]:
    return {n: (root / n).read_bytes() if (root / n).is_file() else None for n in names}


def _restore(root: Path, saved: dict[str, bytes | None]) -> None:
    for name, data in saved.items():
        if data is None:
            (root / name).unlink(missing_ok=True)
        else:
            (root / name).write_bytes(data)


def _refresh_lock(root: Path) -> None:
    """Record the new release record as the gate's input in dvc.lock: a no-op `dvc repro` runs nothing.

    Like `dvc commit gate`, but without saving a run-cache entry: the gate never judged the model
    against this record, so no later run may replay this verdict for it.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo, repo.lock:
            for info in repo.stage.collect_granular("gate"):
                info.stage.save(run_cache=False)
                info.stage.dvcfile.dump_stages([info.stage], update_pipeline=False)
    except DvcException as exc:
        raise RollgateError(f"refreshing the gate's entry in dvc.lock failed: {exc}") from exc


def _commit(root: Path, ready: Ready, staged: Path, text: str) -> str:
    env = ready.verdict.env
    target = root / paths.release_record(env).parent
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(staged, target)
    _refresh_lock(root)
    return gitops.commit(root, [target.relative_to(root).as_posix(), checks.DVC_LOCK, *ready.carried], text)


def _replay(root: Path, ref: str, orig: str, job: tuple[Ready, Path, str, dict[str, bytes | None]]) -> None:
    """Rebuild the promotion commit on the fetched upstream `ref`, or refuse."""
    ready, staged, text, saved = job
    env, source = ready.verdict.env, ready.candidate.source_commit
    record = paths.release_record(env).as_posix()
    checks.stale(root, release.loads(gitops.git(root, "show", f"{ref}:{record}"), f"{record}@{ref}"), source)
    base = gitops.git(root, "merge-base", orig, ref).strip()
    moved = [p for p in gitops.git(root, "diff", "--name-only", base, ref).split() if not p.startswith(f"{MANIFESTS}/")]
    if moved:
        raise checks.StaleSourceError(
            f"main moved on since {source[:12]} ({', '.join(moved[:3])}{', ...' if len(moved) > 3 else ''}): "
            "this run is stale; the run of the newer commit promotes"
        )
    gitops.git(root, "reset", "-q", "--hard", ref)
    _restore(root, saved)
    if not differences(staged, root / paths.release_record(env).parent):
        raise _AlreadyThereError
    pinned = release.read(staged / paths.release_record(env).name)
    checks.withdrawn(root, env, pinned.model.sha256 if pinned else "")
    _commit(root, ready, staged, text)


def _undo(root: Path, orig: str, env: str, saved: dict[str, bytes | None]) -> None:
    gitops.git(root, "reset", "-q", "--hard", orig)
    gitops.git(root, "clean", "-fdq", "--", paths.release_record(env).parent.as_posix())
    _restore(root, saved)


def deliver(root: Path, ready: Ready, staged: Path, text: str) -> str | None:
    """Commit `staged` as `manifests/<env>/` with the carried outputs and push; the pushed commit.

    Returns:
        The commit, or None when upstream already held exactly these manifests (nothing was pushed).

    Raises:
        RollgateError: any refusal or failure, after the repository was restored as it was.
    """
    orig = gitops.head(root)
    saved = _snapshot(root, tuple(dict.fromkeys((*ready.carried, checks.DVC_LOCK))))
    job = (ready, staged, text, saved)
    try:
        _commit(root, ready, staged, text)
        gitops.push(root, replay=lambda ref: _replay(root, ref, orig, job))
    except _AlreadyThereError:
        _undo(root, orig, ready.verdict.env, saved)
        return None
    except BaseException:
        _undo(root, orig, ready.verdict.env, saved)
        raise
    return gitops.head(root)
