"""Stage `prepare`: the time-based split into train and holdout, deterministic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate import params as params_
from rollgate.adapters import dvc
from rollgate.contracts import jsonio, paths
from rollgate.contracts.errors import DataValidationError
from rollgate.data import batches, split
from rollgate.data.schema import DATASET


def run(root: Path) -> dict[str, Any]:
    params = params_.load(root / paths.PARAMS, DATASET.params_columns).prepare
    df, _, failures = batches.read_batches(root / DATASET.batches)
    if failures or df.empty:
        raise DataValidationError(f"{DATASET.batches}: unreadable batches; run `rollgate validate` for details")
    parts = split.time_split(df, params.holdout)
    manifest = split.manifest(parts, dvc.dir_md5(root / paths.DATA_DIR))
    batches.write_frame(parts.train, root / paths.TRAIN_SET)
    batches.write_frame(parts.holdout, root / paths.HOLDOUT_SET)
    jsonio.write_checked(root / paths.PREPARE_MANIFEST, manifest, "prepare-manifest", str(paths.PREPARE_MANIFEST))
    print(
        f"prepare: {manifest['train_rows']} train rows, {manifest['holdout_rows']} holdout rows "
        f"from {manifest['holdout_start'][:10]}"
    )
    return manifest
