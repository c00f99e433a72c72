"""Stage `train` refuses what it cannot train on with one clear error, and leaves the model, its
metadata, dvc.lock, the DVC cache and the MLflow store as they were."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from rollgate.contracts import paths
from rollgate.data.schema import DATASET
from tests.helpers import Project, assert_refused, copy_project

pytestmark = pytest.mark.integration

KEPT = (str(paths.MODEL_ARTIFACT), str(paths.MODEL_METADATA))
FIRST_FEATURE = DATASET.features.names[0]


def _one_class(root: Path) -> None:
    path = root / paths.TRAIN_SET
    frame = pd.read_parquet(path)
    frame.assign(**{DATASET.label: 0}).to_parquet(path, index=False)


def _no_manifest(root: Path) -> None:
    (root / paths.PREPARE_MANIFEST).unlink()


def _bad_manifest(root: Path) -> None:
    (root / paths.PREPARE_MANIFEST).write_text('{"rows": "many"}\n')


def _truncated(root: Path) -> None:
    path = root / paths.TRAIN_SET
    path.write_bytes(path.read_bytes()[:100])


def _missing_feature(root: Path) -> None:
    path = root / paths.TRAIN_SET
    pd.read_parquet(path).drop(columns=[FIRST_FEATURE]).to_parquet(path, index=False)


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "one class": (_one_class, [str(paths.TRAIN_SET), "one class only"]),
    "no manifest": (_no_manifest, [str(paths.PREPARE_MANIFEST), "file not found"]),
    "bad manifest": (_bad_manifest, [str(paths.PREPARE_MANIFEST), "prepare-manifest schema", "data_md5"]),
    "truncated training set": (_truncated, [str(paths.TRAIN_SET)]),
    "missing feature": (_missing_feature, [FIRST_FEATURE]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_train_refuses_bad_input_and_keeps_state(reproduced: Project, tmp_path: Path, case: str) -> None:
    corrupt, expected = CASES[case]
    assert_refused(copy_project(reproduced, tmp_path), corrupt, ("train",), expected, KEPT)
