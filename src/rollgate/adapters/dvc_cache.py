"""Putting a checked file into the local DVC cache, so that `dvc push` can send it to the remote.

The promotion workflow's privileged job receives the model from the job that reproduced it, as a file
(after checking its md5 against `dvc.lock`); DVC pushes only what its cache holds.
"""

from __future__ import annotations

from pathlib import Path

from rollgate.contracts.errors import ArtifactError


def add_file(root: Path, out: str, md5: str) -> None:
    """Copy `out` into the DVC cache of the repository at `root` under `md5` (a no-op when it is there).

    Raises:
        ArtifactError: DVC cannot store it, naming the output.
    """
    from dvc.exceptions import DvcException
    from dvc.fs import LocalFileSystem
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            odb = repo.cache.local
            if not odb.exists(md5):
                odb.add(str((root / out).resolve()), LocalFileSystem(), md5)
    except (DvcException, OSError) as exc:
        raise ArtifactError(f"{out}: cannot put it into the DVC cache as {md5}: {exc}") from exc
