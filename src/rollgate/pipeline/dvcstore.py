"""Objects of the DVC cache by content address: from the local cache, else from the default remote."""

from __future__ import annotations

from pathlib import Path

from rollgate.contracts.errors import ArtifactError


def read_object(root: Path, md5: str, what: str) -> bytes:
    """The bytes DVC stores under `md5` (a file, or a directory listing `<md5>.dir`).

    Raises:
        ArtifactError: neither the cache nor the default remote has it, naming `what` was sought.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            cache = repo.cache.local
            path = cache.oid_to_path(md5)
            if not cache.fs.exists(path):
                remote = repo.cloud.get_remote_odb(command="fetch")
                remote.fs.get_file(remote.oid_to_path(md5), path)
            data: bytes = cache.fs.read_bytes(path)
    except (DvcException, OSError) as exc:
        where = "neither in the DVC cache nor in the default remote"
        raise ArtifactError(f"{what} (dvc md5 {md5}) is {where}: {exc}") from exc
    return data
