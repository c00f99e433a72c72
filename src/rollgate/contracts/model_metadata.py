"""`models/model.json`: what the train stage says about the artifact beside it.

Everything here is a pure function of the stage's inputs except `git`, which records the commit the
model was trained from (lineage; see the README on why `dvc.lock` still stays stable).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio
from rollgate.contracts.features import FeatureContract

SCHEMA = "model-metadata"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class GitInfo:
    commit: str | None
    dirty: bool


@dataclass(frozen=True)
class ModelMetadata:
    """The artifact's identity (sha256, prediction fingerprint) and its lineage."""

    name: str
    artifact: str
    sha256: str
    size_bytes: int
    format: str
    trusted_types: tuple[str, ...]
    prediction_fingerprint: str
    estimator: str
    params: dict[str, Any]
    params_hash: str
    data_md5: str
    train_rows: int
    train_positives: int
    features: FeatureContract
    versions: dict[str, str]
    git: GitInfo

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schema_version"] = SCHEMA_VERSION
        out["trusted_types"] = list(self.trusted_types)
        out["features"] = self.features.to_list()
        if self.features.id_field is not None:  # absent, not null: records without an id keep their bytes
            out["id_field"] = self.features.id_field
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelMetadata:
        fields = {k: v for k, v in raw.items() if k not in ("schema_version", "id_field")}
        fields["trusted_types"] = tuple(raw["trusted_types"])
        fields["features"] = FeatureContract.from_list(raw["features"], raw.get("id_field"))
        fields["git"] = GitInfo(**raw["git"])
        return cls(**fields)


def write(path: Path, meta: ModelMetadata) -> None:
    jsonio.write_checked(path, meta.to_dict(), SCHEMA)


def read(path: Path) -> ModelMetadata:
    return ModelMetadata.from_dict(jsonio.read(path, SCHEMA))
