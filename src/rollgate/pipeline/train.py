"""Stage `train`: fit the Pipeline, write the canonical artifact and its metadata, log to MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from rollgate import params as params_
from rollgate.adapters import git, tracking
from rollgate.contracts import atomic, jsonio, model_metadata, paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.data import batches
from rollgate.data.schema import DATASET
from rollgate.model import artifact, metadata, threads
from rollgate.model.build import build_pipeline
from rollgate.params import TrainParams

# What the recorded commit vouches for: the model is dirty when any of these differ from it.
LINEAGE_PATHS = ("params.yaml", "dvc.yaml", "data.dvc", "src")


def read_train_set(path: Path) -> pd.DataFrame:
    contract = DATASET.features
    return batches.read_table(path, [*contract.names, DATASET.label], str(paths.TRAIN_SET))


def fit(train: pd.DataFrame, params: TrainParams, seed: int) -> tuple[Pipeline, bytes]:
    """The fitted Pipeline and its artifact bytes, on exactly `params.threads` threads."""
    contract = DATASET.features
    y = train[DATASET.label].to_numpy()
    if y.min() == y.max():
        raise RollgateError(f"{paths.TRAIN_SET}: {DATASET.label} has one class only; cannot train")
    with threads.pinned(params.threads):
        model = build_pipeline(contract, params, seed).fit(train[contract.names], y)
    return model, artifact.dumps(model)


def run(root: Path, track: bool = True) -> ModelMetadata:
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    shared, train_params = params.shared, params.train
    manifest = jsonio.read(root / paths.PREPARE_MANIFEST, "prepare-manifest")
    contract = DATASET.features
    train = read_train_set(root / paths.TRAIN_SET)
    model, data = fit(train, train_params, shared.seed)
    trained = metadata.Trained(
        paths.MODEL_ARTIFACT.name, data, contract, train, int(train[DATASET.label].sum()), manifest["data_md5"],
        git.lineage(root, LINEAGE_PATHS),
    )  # fmt: skip
    meta = metadata.describe(model, trained, shared, train_params)
    atomic.write_bytes(root / paths.MODEL_ARTIFACT, data)
    model_metadata.write(root / paths.MODEL_METADATA, meta)
    print(f"train: {meta.estimator} on {meta.train_rows} rows -> {paths.MODEL_ARTIFACT} sha256 {meta.sha256[:12]}")
    if track:
        applied = metadata.applied_params(shared, train_params)
        run_id = tracking.log_training(root, meta, model, train[contract.names].head(5), applied)
        print(f"train: MLflow run {run_id} at {tracking.tracking_uri(root)}")
    return meta
