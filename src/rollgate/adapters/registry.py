"""The MLflow registry, mirrored from git: one version per artifact digest, aliases following promotions.

The registered version holds the exact artifact bytes DVC tracks (logged as a file, checked by
sha256 after upload); MLflow's own re-serialization is never the source of truth. Every call is
idempotent: a digest already registered is found by its tag, never registered twice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from rollgate.adapters import tracking
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.release import Release

LINEAGE_TAGS = ("source_commit", "data_md5", "params_hash")


class RegistryError(RollgateError):
    """The registry could not be written, or holds other bytes than the digest says."""


def alias(env: str) -> str:
    """The alias an environment's champion carries: `champion` for prod, the env's name otherwise."""
    return "champion" if env == "prod" else env


def _client(root: Path, experiment: str) -> Any:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tracking.session(root, experiment):
        from mlflow import MlflowClient

        return MlflowClient()


def _ensure_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, description="Registered by `rollgate promote` from git.")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def _find(client: Any, name: str, sha256: str) -> Any | None:
    found = client.search_model_versions(f"name = '{name}' and tags.`{tracking.SHA_TAG}` = '{sha256}'")
    return min(found, key=lambda v: int(v.version)) if found else None


def _create(root: Path, client: Any, rel: Release, artifact: Path) -> Any:
    import mlflow

    with tracking.session(root, rel.model.name), mlflow.start_run(run_name=f"register {rel.model.sha256[:12]}") as run:
        mlflow.set_tag(tracking.SHA_TAG, rel.model.sha256)
        mlflow.log_artifact(str(artifact), artifact_path="rollgate")
    source = f"{run.info.artifact_uri}/rollgate"
    return client.create_model_version(
        rel.model.name, source=source, run_id=run.info.run_id, tags={tracking.SHA_TAG: rel.model.sha256}
    )


def _verify(version: Any, sha256: str) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        got = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{version.source}/{paths.MODEL_ARTIFACT.name}", dst_path=tmp
        )
        actual = hashlib.sha256(Path(got).read_bytes()).hexdigest()
    if actual != sha256:
        raise RegistryError(f"MLflow registry: version {version.version} holds sha256 {actual}, not {sha256}")


def register(root: Path, rel: Release, artifact: Path) -> int:
    """The registry version holding `artifact` (created once per digest), checked and tagged with lineage.

    Raises:
        RegistryError: the store is unreachable, or the version's bytes are not the digest's.
    """
    try:
        client = _client(root, rel.model.name)
        _ensure_model(client, rel.model.name)
        version = _find(client, rel.model.name, rel.model.sha256) or _create(root, client, rel, artifact)
        _verify(version, rel.model.sha256)
        tags = {f"rollgate.{key}": str(getattr(rel.lineage, key)) for key in LINEAGE_TAGS}
        tags[f"rollgate.env.{rel.env}"] = rel.promoted_at
        for key, value in tags.items():
            client.set_model_version_tag(rel.model.name, version.version, key, value)
    except RegistryError:
        raise
    except Exception as exc:  # MLflow raises many types (REST, SQL, I/O): all mean the same here
        raise RegistryError(f"MLflow registry ({tracking.tracking_uri(root)}): {exc}") from exc
    return int(version.version)


def point_alias(root: Path, rel: Release) -> str:
    """Point the environment's alias at the version `rel` records; returns the alias."""
    name = alias(rel.env)
    try:
        client = _client(root, rel.model.name)
        client.set_registered_model_alias(rel.model.name, name, str(rel.model.registry_version))
    except Exception as exc:
        raise RegistryError(f"MLflow registry ({tracking.tracking_uri(root)}): alias {name!r}: {exc}") from exc
    return name
