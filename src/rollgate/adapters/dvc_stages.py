"""The pipeline's stages as DVC itself resolves `dvc.yaml` (foreach expanded, params files named):
what each stage reads and writes. The `dvc` package is imported inside the function."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts.errors import RollgateError


@dataclass(frozen=True)
class Stage:
    """One resolved stage: its name (`gate@prod` for a foreach item), command and paths, repo-relative."""

    name: str
    cmd: str
    deps: tuple[str, ...]  # files and folders it reads, params files included
    outs: tuple[str, ...]  # outputs, metrics and plots it writes
    dvcfile: str  # the dvc.yaml that defines it


def stages(root: Path) -> list[Stage]:
    """Every stage of the repository's pipelines, in DVC's order.

    Raises:
        RollgateError: DVC cannot read a dvc.yaml (named in the message).
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            return [
                Stage(
                    name=stage.addressing,
                    cmd=str(getattr(stage, "cmd", "") or ""),
                    deps=tuple(sorted({_rel(d.fs_path, repo.root_dir) for d in stage.deps})),
                    outs=tuple(sorted({_rel(o.fs_path, repo.root_dir) for o in stage.outs})),
                    dvcfile=_rel(stage.path, repo.root_dir),
                )
                for stage in repo.index.stages
            ]
    except DvcException as exc:
        raise RollgateError(f"{root}: DVC cannot read the pipeline: {exc}") from exc


def _rel(path: str, root: str) -> str:
    """`path` (absolute, as DVC resolves it) relative to the repository, whatever the working directory."""
    return Path(os.path.relpath(path, root)).as_posix()
