"""MLflow tracking: one run per training, with the evaluation and the gate's verdict attached.

With `registry` beside it, the only code that talks to MLflow. mlflow is imported inside functions,
so nothing connects to tracking on import and the core never sees it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from rollgate.contracts import paths
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.model.artifact import TRUSTED_TYPES
from rollgate.params import flatten

SHA_TAG = "rollgate.model_sha256"


def tracking_uri(root: Path) -> str:
    """MLFLOW_TRACKING_URI when set, else the embedded sqlite store at the repository root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / paths.MLFLOW_DB).resolve()}"


@contextmanager
def session(root: Path, experiment: str) -> Iterator[Any]:
    """The `mlflow` module, pointed at the store (quiet logs) with `experiment` set."""
    import mlflow

    # MLflow's start-up chatter (schema migrations, dtype hints) is noise in stage logs.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\..*")
        mlflow.set_tracking_uri(tracking_uri(root))
        mlflow.set_experiment(experiment)
        yield mlflow


def log_training(root: Path, meta: ModelMetadata, model: Any, example: pd.DataFrame, params: dict[str, Any]) -> str:
    """One MLflow run per training: params, lineage tags, the data set, the model; returns the run id."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models import infer_signature

    with session(root, meta.name) as mlflow, mlflow.start_run(run_name=f"train {meta.sha256[:12]}") as run:
        mlflow.log_params(flatten(params))
        mlflow.set_tags(
            {
                SHA_TAG: meta.sha256,
                "rollgate.prediction_fingerprint": meta.prediction_fingerprint,
                "rollgate.data_md5": meta.data_md5,
                "rollgate.params_hash": meta.params_hash,
                "rollgate.git_dirty": str(meta.git.dirty).lower(),
                "mlflow.source.git.commit": meta.git.commit or "unknown",
            }
        )
        source = resolve_dataset_source(str((root / paths.DATA_DIR).resolve()))
        dataset = MetaDataset(source, name="transactions", digest=meta.data_md5)  # type: ignore[abstract]
        mlflow.log_input(dataset, context="training")
        scores = model.predict_proba(example)[:, 1]
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=list(TRUSTED_TYPES),
            signature=infer_signature(example, scores),
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            pip_requirements=[f"{k}=={v}" for k, v in sorted(meta.versions.items()) if k != "python"],
        )
        # The exact bytes DVC tracks, so the registry can point at what was gated.
        mlflow.log_artifact(str(root / paths.MODEL_ARTIFACT), artifact_path="rollgate")
        mlflow.log_artifact(str(root / paths.MODEL_METADATA), artifact_path="rollgate")
        run_id: str = run.info.run_id
    return run_id


def find_run(mlflow: Any, sha256: str) -> str | None:
    found = mlflow.search_runs(
        filter_string=f"tags.`{SHA_TAG}` = '{sha256}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return found[0].info.run_id if found else None


def log_gate(root: Path, experiment: str, sha256: str, verdict: str, *, failed: list[str], path: Path) -> None:
    """Record the verdict on the challenger's run: a tag, the failed criteria, gate.json itself."""
    with session(root, experiment) as mlflow:
        run_id = find_run(mlflow, sha256)
        with mlflow.start_run(run_id=run_id, run_name=None if run_id else f"gate {sha256[:12]}"):
            mlflow.set_tags(
                {SHA_TAG: sha256, "rollgate.gate.verdict": verdict, "rollgate.gate.failed": ", ".join(failed) or "none"}
            )
            mlflow.log_artifact(str(path), artifact_path="gate")


def log_evaluation(root: Path, experiment: str, sha256: str, metrics: dict[str, float], files: list[Path]) -> str:
    """Attach holdout metrics and plots to the training run of this model (a new run if the model
    came from the DVC run cache and was never trained against this store)."""
    with session(root, experiment) as mlflow:
        run_id = find_run(mlflow, sha256)
        with mlflow.start_run(run_id=run_id, run_name=None if run_id else f"evaluate {sha256[:12]}") as run:
            if not run_id:
                mlflow.set_tag(SHA_TAG, sha256)
            mlflow.log_metrics({f"holdout.{k}": v for k, v in metrics.items()})
            for path in files:
                mlflow.log_artifact(str(path), artifact_path="evaluation")
            out: str = run.info.run_id
    return out
