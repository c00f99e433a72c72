"""Stage `train`: fit the Pipeline, write the canonical artifact and its metadata, log to MLflow."""

from __future__ import annotations

import hashlib
import platform
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from rollgate import params as params_
from rollgate.contracts import jsonio, model_metadata, paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.contracts.probe import probe_frame
from rollgate.data.contract import feature_contract
from rollgate.data.schema import LABEL
from rollgate.model import artifact
from rollgate.model.build import build_pipeline
from rollgate.pipeline import git, tracking

_VERSIONED = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


def run(root: Path, track: bool = True) -> ModelMetadata:
    params = params_.load(root / paths.PARAMS)
    manifest = jsonio.read(root / paths.PREPARE_MANIFEST, "prepare-manifest")
    train = pd.read_parquet(root / paths.TRAIN_SET)
    contract = feature_contract()
    y = train[LABEL].to_numpy()
    if y.min() == y.max():
        raise RollgateError(f"{paths.TRAIN_SET}: {LABEL} has one class only; cannot train")
    model = build_pipeline(contract, params.train, params.shared.seed).fit(train[contract.names], y)

    data = artifact.dumps(model)
    (root / paths.MODEL_ARTIFACT).parent.mkdir(parents=True, exist_ok=True)
    (root / paths.MODEL_ARTIFACT).write_bytes(data)
    applied = {"shared": params.shared.model_dump(), "train": params.train.model_dump(mode="json")}
    meta = ModelMetadata(
        name=params.shared.model_name,
        artifact=paths.MODEL_ARTIFACT.name,
        sha256=artifact.sha256_bytes(data),
        size_bytes=len(data),
        format="skops",
        trusted_types=artifact.TRUSTED_TYPES,
        prediction_fingerprint=artifact.prediction_fingerprint(model, probe_frame(contract, params.train.probe_rows)),
        estimator=params.train.estimator,
        params=applied,
        params_hash=hashlib.sha256(jsonio.dumps(applied).encode()).hexdigest(),
        data_md5=manifest["data_md5"],
        train_rows=len(train),
        train_positives=int(y.sum()),
        features=contract,
        versions={"python": platform.python_version(), **{name: version(name) for name in _VERSIONED}},
        git=git.info(root, ("params.yaml", "dvc.yaml", "data.dvc", "src")),
    )
    model_metadata.write(root / paths.MODEL_METADATA, meta)
    print(f"train: {meta.estimator} on {meta.train_rows} rows -> {paths.MODEL_ARTIFACT} sha256 {meta.sha256[:12]}")
    if track:
        run_id = tracking.log_training(root, meta, model, train[contract.names].head(5), applied)
        print(f"train: MLflow run {run_id} at {tracking.tracking_uri(root)}")
    return meta
