"""The champion: its release record and its artifact, fetched by content and checked by sha256."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate.contracts import paths, release
from rollgate.contracts.errors import ArtifactError, ContractError
from rollgate.contracts.release import Release
from rollgate.model import artifact


def read_record(root: Path, env: str) -> Release | None:
    """The env's champion, None before its first deployment; a missing or corrupt record is an error."""
    path = root / paths.release_record(env)
    if not path.exists():
        raise ContractError(
            f"{paths.release_record(env)}: no release record. Before the first deployment it must say so: "
            f'{{"schema_version": 1, "env": "{env}", "model": null}}'
        )
    return release.read(path)


def fetch(root: Path, champion: Release) -> bytes:
    """The champion's artifact bytes from the DVC cache, else from the default DVC remote."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    md5 = champion.model.dvc_md5
    try:
        with Repo(str(root)) as repo:
            cache = repo.cache.local
            path = cache.oid_to_path(md5)
            if not cache.fs.exists(path):
                remote = repo.cloud.get_remote_odb(command="gate")
                remote.fs.get_file(remote.oid_to_path(md5), path)
            data: bytes = cache.fs.read_bytes(path)
    except (DvcException, OSError) as exc:
        raise ArtifactError(
            f"champion {champion.model.sha256[:12]} (dvc md5 {md5}) is neither in the DVC cache nor in the "
            f"default remote: {exc}"
        ) from exc
    if artifact.sha256_bytes(data) != champion.model.sha256:
        raise ArtifactError(
            f"champion artifact (dvc md5 {md5}) has sha256 {artifact.sha256_bytes(data)}, "
            f"but {paths.release_record(champion.env)} pins {champion.model.sha256}"
        )
    return data


def load(root: Path, champion: Release) -> Any:
    return artifact.loads(fetch(root, champion), champion.model.sha256, f"champion {champion.model.sha256[:12]}")
