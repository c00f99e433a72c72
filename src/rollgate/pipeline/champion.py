"""The champion: its release record and its artifact, fetched by content and checked by sha256."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate.contracts import paths, release
from rollgate.contracts.errors import ArtifactError, ContractError
from rollgate.contracts.release import Release
from rollgate.model import artifact
from rollgate.pipeline import dvcstore


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
    md5 = champion.model.dvc_md5
    data = dvcstore.read_object(root, md5, f"champion {champion.model.sha256[:12]}")
    if artifact.sha256_bytes(data) != champion.model.sha256:
        raise ArtifactError(
            f"champion artifact (dvc md5 {md5}) has sha256 {artifact.sha256_bytes(data)}, "
            f"but {paths.release_record(champion.env)} pins {champion.model.sha256}"
        )
    return data


def load(root: Path, champion: Release) -> Any:
    return artifact.loads(fetch(root, champion), champion.model.sha256, f"champion {champion.model.sha256[:12]}")
