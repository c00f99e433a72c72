"""Corrupt inputs against the real pipeline: a clear error naming the file and field or rows, a
non-zero exit, and the project's state untouched (dvc.lock, the DVC cache, the MLflow store), with
the previous outputs restorable by `dvc checkout`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import Project

pytestmark = [pytest.mark.data, pytest.mark.integration, pytest.mark.example]  # the shipped example's columns

BATCH = "data/transactions/2026-01-12.parquet"  # the second weekly batch


def _rewrite(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / BATCH
        change(pd.read_parquet(path)).to_parquet(path, index=False)

    return apply


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({column: object}) if isinstance(value, str) and df[column].dtype != object else df
        df.loc[row, column] = value
        return df

    return change


def _empty(root: Path) -> None:
    (root / BATCH).write_bytes(b"")


def _truncate(root: Path) -> None:
    path = root / BATCH
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _one_class(root: Path) -> None:
    for path in sorted((root / "data/transactions").glob("*.parquet")):
        df = pd.read_parquet(path)
        df["is_fraud"] = 0
        df.to_parquet(path, index=False)


def _duplicate_id(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[4, "transaction_id"] = df.loc[3, "transaction_id"]
    return df


CASES = {
    "missing column": (_rewrite(lambda df: df.drop(columns=["amount"])), ["amount", "column present", BATCH]),
    "extra column": (_rewrite(lambda df: df.assign(note="x")), ["note", "no unexpected columns", BATCH]),
    "wrong dtype": (
        _rewrite(lambda df: df.assign(customer_age=df["customer_age"].astype(str))),
        ["customer_age", "dtype"],
    ),
    "nulls": (_rewrite(_set("amount", 3, np.nan)), ["amount", "not_nullable", f"{BATCH} row 3"]),
    "infinite number": (_rewrite(_set("amount", 3, np.inf)), ["amount", "finite", f"{BATCH} row 3 ('inf')"]),
    "out of range": (
        _rewrite(_set("customer_age", 5, 150)),
        ["customer_age", "less_than_or_equal_to(120)", f"{BATCH} row 5"],
    ),
    "duplicate ids": (_rewrite(_duplicate_id), ["transaction_id", "field_uniqueness", f"{BATCH} row 4"]),
    "unknown category": (_rewrite(_set("channel", 2, "telepathy")), ["channel", "isin", f"{BATCH} row 2", "telepathy"]),
    "empty file": (_empty, [BATCH, "file is empty"]),
    "batch with no rows": (_rewrite(lambda df: df.head(0)), ["batch has rows", f"{BATCH}: 0 rows"]),
    "truncated file": (_truncate, [BATCH, "truncated or corrupt"]),
    "label with one class": (_one_class, ["is_fraud", "both classes present"]),
}


def _state(project: Project) -> dict[str, object]:
    root = project.path
    cache = sorted(p.relative_to(root).as_posix() for p in (root / ".dvc/cache").rglob("*") if p.is_file())
    db = Path(project.env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///"))
    return {
        "dvc.lock": (root / "dvc.lock").read_bytes(),
        "cache": cache,
        "mlflow": hashlib.sha256(db.read_bytes()).hexdigest() if db.exists() else None,
    }


def _assert_restorable(project: Project, before: dict[str, object]) -> None:
    assert _state(project) == before
    project.git("checkout", "-q", "--", ".")
    project.dvc("checkout", "-q", "--force")
    status = project.dvc("status", "--json").stdout.strip()
    assert status == "{}", f"outputs not restored by dvc checkout: {status}"


@pytest.mark.parametrize("case", list(CASES))
def test_corrupt_data_is_refused_and_state_kept(reproduced: Project, case: str) -> None:
    corrupt, expected = CASES[case]
    before = _state(reproduced)
    corrupt(reproduced.path)
    done = reproduced.dvc("repro", "--single-item", "dvc.yaml", check=False)
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "rollgate validate: error" in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    report = reproduced.path / "reports/validation/report.json"
    assert '"passed": false' in report.read_text(), "the full report must survive the failure"
    _assert_restorable(reproduced, before)


def _edit(section: str, key: str, value: object) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        params = yaml.safe_load(path.read_text())
        target = params
        for part in section.split("."):
            target = target[part]
        target[key] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    return apply


PARAMS_CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    # DVC parses params.yaml before any stage runs; its own error names the file and the line.
    "bad YAML": (lambda path: path.write_text("train: [unclosed\n"), ["params.yaml", "line 1"]),
    "unknown key": (_edit("train", "estimater", "x"), ["params.yaml", "train.estimater", "unknown key"]),
    "wrong type": (
        _edit("prepare", "holdout", {"weeks": "two"}),
        ["params.yaml", "prepare.holdout.weeks", "valid integer"],
    ),
    "out of range": (
        _edit("train.hist_gradient_boosting", "learning_rate", 5.0),
        ["params.yaml", "train.hist_gradient_boosting.learning_rate", "less than or equal to 1"],
    ),
}


@pytest.mark.parametrize("case", list(PARAMS_CASES))
def test_malformed_params_are_refused_and_state_kept(reproduced: Project, case: str) -> None:
    edit, expected = PARAMS_CASES[case]
    before = _state(reproduced)
    edit(reproduced.path / "params.yaml")
    done = reproduced.dvc("repro", "--single-item", "dvc.yaml", check=False)
    assert done.returncode != 0
    message = done.stdout + done.stderr
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    _assert_restorable(reproduced, before)
