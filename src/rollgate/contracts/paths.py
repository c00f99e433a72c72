"""Where each stage reads and writes, relative to the repository root.

`dvc.yaml` names the same paths; `tests/pipeline/test_dvc_yaml.py` checks that the two agree. The batch
folder is the dataset's (`rollgate.data.schema.DATASET.batches`).
"""

from pathlib import Path
from pathlib import PurePosixPath as P

PARAMS = P("params.yaml")
DATA_DIR = P("data")
DATA_DVC = P("data.dvc")

# validate: a declared metric (so prepare waits for it) and a full report that survives failure
VALIDATE_METRICS = P("reports/validate.json")
VALIDATION_REPORT = P("reports/validation/report.json")

# prepare
PREPARED_DIR = P("artifacts/prepared")
TRAIN_SET = PREPARED_DIR / "train.parquet"
HOLDOUT_SET = PREPARED_DIR / "holdout.parquet"
PREPARE_MANIFEST = PREPARED_DIR / "manifest.json"

# train
MODEL_ARTIFACT = P("models/model.skops")
MODEL_METADATA = P("models/model.json")

# evaluate
EVALUATE_METRICS = P("reports/evaluate.json")
SEGMENT_METRICS = P("reports/segments.json")
BASELINE = P("reports/baseline.json")  # what the monitor compares live data with (rollgate.contracts.baseline)
PLOTS_DIR = P("reports/plots")
PLOT_ROC = PLOTS_DIR / "roc.json"
PLOT_PR = PLOTS_DIR / "precision_recall.json"
PLOT_CALIBRATION = PLOTS_DIR / "calibration.json"
PLOT_CONFUSION = PLOTS_DIR / "confusion.json"

# gate: one verdict per environment, each a DVC metric kept in git (promotion commits carry it)
GATES_DIR = P("gates")

# deployment: one config per environment; the environments are exactly these files
DEPLOY_CONFIGS = P("configs/deploy")


def gate_verdict(env: str) -> P:
    """The gate's verdict for an environment: the model on disk judged against that env's champion."""
    return GATES_DIR / f"{env}.json"


def release_record(env: str) -> P:
    """The release record of an environment: its champion."""
    return P("manifests") / env / "release.json"


def environments(root: Path) -> list[str]:
    """Every configured environment (a file `configs/deploy/<env>.yaml`), sorted."""
    return sorted(p.stem for p in (root / DEPLOY_CONFIGS).glob("*.yaml"))


# embedded default tracking store (git-ignored)
MLFLOW_DB = P("mlflow.db")
