"""The git facts a stage records as lineage (read-only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rollgate.contracts.model_metadata import GitInfo


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def info(root: Path, paths: tuple[str, ...] = ()) -> GitInfo:
    """HEAD's commit and whether `paths` (default: the whole tree) differ from it."""
    commit = _git("rev-parse", "--verify", "HEAD", cwd=root)
    status = _git("status", "--porcelain", "--untracked-files=no", "--", *paths, cwd=root)
    return GitInfo(commit=commit, dirty=bool(status) if status is not None else True)
