"""Stage `prepare`: the time-based split into train and holdout, deterministic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rollgate import params as params_
from rollgate.contracts import jsonio, paths
from rollgate.contracts.errors import DataValidationError
from rollgate.data.schema import LABEL
from rollgate.data.split import time_split
from rollgate.pipeline.dataset import dvc_dir_md5, read_batches


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False, compression="zstd")


def run(root: Path) -> dict[str, Any]:
    params = params_.load(root / paths.PARAMS).prepare
    df, _, failures = read_batches(root / paths.BATCHES_DIR)
    if failures or df.empty:
        raise DataValidationError(f"{paths.BATCHES_DIR}: unreadable batches; run `rollgate validate` for details")
    split = time_split(df, params.holdout_weeks)
    _write(split.train, root / paths.TRAIN_SET)
    _write(split.holdout, root / paths.HOLDOUT_SET)
    manifest: dict[str, Any] = {
        "data_md5": dvc_dir_md5(root / paths.DATA_DIR),
        "rows": len(df),
        "train_rows": len(split.train),
        "train_positives": int(split.train[LABEL].sum()),
        "holdout_rows": len(split.holdout),
        "holdout_positives": int(split.holdout[LABEL].sum()),
        "holdout_start": split.holdout_start.isoformat(),
    }
    jsonio.write(root / paths.PREPARE_MANIFEST, manifest)
    print(
        f"prepare: {manifest['train_rows']} train rows, {manifest['holdout_rows']} holdout rows "
        f"from {manifest['holdout_start'][:10]}"
    )
    return manifest
