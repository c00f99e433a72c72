"""The release record — `manifests/<env>/release.json`: what an environment runs.

It is the champion for the gate, the model the server loads (by `model.uri`, checked against
`model.sha256`), and the content of the hashed ConfigMap in the rendered manifests. Written only by
`rollgate promote`; read by the gate, the renderer and the server.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio, paths
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.errors import ContractError
from rollgate.contracts.features import FeatureContract

SCHEMA = "release"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelRef:
    name: str
    sha256: str  # of the artifact file: every hop checks it
    uri: str  # where pods fetch the artifact
    dvc_md5: str  # its address in the DVC cache and remotes
    prediction_fingerprint: str
    registry_version: int | None = None  # MLflow model version, once synced


@dataclass(frozen=True)
class Lineage:
    source_commit: str  # the commit whose dvc.lock produced the model
    data_md5: str
    params_hash: str
    code_version: str


@dataclass(frozen=True)
class GateRef:
    verdict: str  # "promote" or "rollback"
    champion_sha256: str | None  # what the model was judged against (None: first deployment)


@dataclass(frozen=True)
class Image:
    repository: str
    digest: str  # "sha256:" + 64 hex


@dataclass(frozen=True)
class Release:
    env: str
    model: ModelRef
    features: FeatureContract
    threshold: float
    lineage: Lineage
    metrics: dict[str, float]
    gate: GateRef
    image: Image
    promoted_at: str  # ISO 8601, UTC
    # The monitoring baseline's bins and score CDF (absent in records promoted before baselines existed)
    baseline: ServedBaseline | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(replace(self, baseline=None))
        out["schema_version"] = SCHEMA_VERSION
        out["features"] = self.features.to_list()
        if self.features.id_field is not None:  # absent, not null: records without an id keep their bytes
            out["id_field"] = self.features.id_field
        del out["baseline"]
        if self.baseline is not None:  # absent, not null, for the same reason
            out["baseline"] = self.baseline.to_dict()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Release:
        return cls(
            env=raw["env"],
            model=ModelRef(**raw["model"]),
            features=FeatureContract.from_list(raw["features"], raw.get("id_field")),
            threshold=float(raw["threshold"]),
            lineage=Lineage(**raw["lineage"]),
            metrics=dict(raw["metrics"]),
            gate=GateRef(**raw["gate"]),
            image=Image(**raw["image"]),
            promoted_at=raw["promoted_at"],
            baseline=ServedBaseline.from_dict(raw["baseline"]) if "baseline" in raw else None,
        )


def write(path: Path, release: Release) -> None:
    jsonio.write_checked(path, release.to_dict(), SCHEMA)


def read(path: Path) -> Release | None:
    """Load and schema-check a release record; None when the environment has run nothing yet."""
    raw = jsonio.read(path, SCHEMA)
    return None if raw["model"] is None else Release.from_dict(raw)


def empty(env: str) -> dict[str, Any]:
    """The record of an environment before its first deployment (its champion: none)."""
    return {"schema_version": SCHEMA_VERSION, "env": env, "model": None}


def loads(text: str, source: str) -> Release | None:
    """Parse and schema-check a release record held in memory (a mounted ConfigMap, a git blob)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    jsonio.check(raw, SCHEMA, source)
    return None if raw["model"] is None else Release.from_dict(raw)


def read_env(root: Path, env: str) -> Release | None:
    """The env's champion, None before its first deployment; a missing or corrupt record is an error."""
    path = root / paths.release_record(env)
    if not path.exists():
        raise ContractError(
            f"{paths.release_record(env)}: no release record. Before the first deployment it must say so: "
            f'{{"schema_version": {SCHEMA_VERSION}, "env": "{env}", "model": null}}'
        )
    return read(path)
