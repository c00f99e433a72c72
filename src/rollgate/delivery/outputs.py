"""The pipeline's outputs between the promotion workflow's two jobs: collected where they were reproduced,
placed where they are promoted, each checked against `dvc.lock` first.

The unprivileged job reproduces the merged commit and uploads what `dvc.lock` lists as stage outputs
(the model, the prepared rows, the reports); the privileged job downloads them into its checkout of the
same commit. `dvc.lock` is part of that commit (reviewed, and judged by the pull request's gate), so the
bytes it records are the only ones placed: a file or folder whose DVC md5 differs is refused, naming
it. Outputs git tracks (the verdicts) come with the checkout and are never copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from rollgate.adapters import dvc, git
from rollgate.contracts.errors import ArtifactError, ContractError


def locked(root: Path) -> dict[str, str]:
    """Every stage output `dvc.lock` records with an md5: path -> md5 (`.dir` for a folder)."""
    try:
        lock = yaml.safe_load((root / dvc.LOCK).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{dvc.LOCK}: unreadable ({exc}): run `make repro`") from exc
    found: dict[str, str] = {}
    for name, stage in (lock.get("stages") or {}).items():
        for out in (stage or {}).get("outs") or []:
            if not isinstance(out, dict) or not out.get("path") or not out.get("md5"):
                raise ContractError(f"{dvc.LOCK}: stages.{name}.outs has an entry without path and md5")
            found[str(out["path"])] = str(out["md5"])
    return found


def _untracked(root: Path) -> dict[str, str]:
    """The locked outputs git does not track (git-tracked ones come with every checkout)."""
    outs = locked(root)
    tracked = set(git.git(root, "ls-files", "--", *outs).split("\n")) if outs else set()
    return {p: md5 for p, md5 in outs.items() if p not in tracked and not any(t.startswith(f"{p}/") for t in tracked)}


def md5_of(path: Path) -> str | None:
    """The DVC md5 of a file or folder (None when it does not exist)."""
    if path.is_dir():
        return dvc.dir_md5(path)
    return dvc.md5_file(path) if path.is_file() else None


def collect(root: Path, out: Path) -> list[str]:
    """Copy every untracked locked output into `out` (same relative paths), after checking its md5.

    Raises:
        ArtifactError: an output is missing or is not what `dvc.lock` records (reproduce first).
    """
    copied = []
    for name, md5 in sorted(_untracked(root).items()):
        found = md5_of(root / name)
        if found != md5:
            raise ArtifactError(f"{name}: {found or 'missing'}, {dvc.LOCK} records {md5}: run `make repro` first")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        if (root / name).is_dir():
            shutil.copytree(root / name, out / name)
        else:
            shutil.copy2(root / name, out / name)
        copied.append(name)
    return copied


def place(root: Path, staged: Path) -> list[str]:
    """Put the outputs under `staged` into the work tree, each only if its md5 is the one `dvc.lock` records.

    An output already in the work tree with the recorded md5 is kept. Nothing is written unless every
    output checks out.

    Raises:
        ArtifactError: an output that differs from `dvc.lock`, or is missing from both places.
    """
    todo: list[str] = []
    for name, md5 in sorted(_untracked(root).items()):
        if md5_of(root / name) == md5:
            continue
        found = md5_of(staged / name)
        if found != md5:
            raise ArtifactError(
                f"{name} from the reproducing job is {found or 'missing'}, but {dvc.LOCK} records {md5}: refused"
            )
        todo.append(name)
    for name in todo:
        target = root / name
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (staged / name).is_dir() else shutil.copy2)(staged / name, target)
    return todo
