"""Building `models/model.json` for a trained model: its identity, lineage and environment."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pandas as pd

from rollgate.contracts import jsonio
from rollgate.contracts.features import FeatureContract
from rollgate.contracts.model_metadata import GitInfo, ModelMetadata
from rollgate.contracts.probe import probe_frame
from rollgate.model import artifact
from rollgate.params import SharedParams, TrainParams

VERSIONED = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


@dataclass(frozen=True)
class Trained:
    """What the train stage knows about a fit besides the model: its data, labels and lineage."""

    artifact_name: str
    data: bytes  # the canonical artifact bytes
    contract: FeatureContract
    train: pd.DataFrame
    positives: int
    data_md5: str
    git: GitInfo


def applied_params(shared: SharedParams, train: TrainParams) -> dict[str, Any]:
    """The params a model was trained with, as recorded in its metadata and in MLflow."""
    return {"shared": shared.model_dump(), "train": train.model_dump(mode="json")}


def describe(model: Any, fit: Trained, shared: SharedParams, train: TrainParams) -> ModelMetadata:
    applied = applied_params(shared, train)
    return ModelMetadata(
        name=shared.model_name,
        artifact=fit.artifact_name,
        sha256=artifact.sha256_bytes(fit.data),
        size_bytes=len(fit.data),
        format="skops",
        trusted_types=artifact.TRUSTED_TYPES,
        prediction_fingerprint=artifact.prediction_fingerprint(model, probe_frame(fit.contract, train.probe_rows)),
        estimator=train.estimator,
        params=applied,
        params_hash=hashlib.sha256(jsonio.dumps(applied).encode()).hexdigest(),
        data_md5=fit.data_md5,
        train_rows=len(fit.train),
        train_positives=fit.positives,
        features=fit.contract,
        versions={"python": platform.python_version(), **{name: version(name) for name in VERSIONED}},
        git=fit.git,
    )
