"""The batch files on disk, read with every row traced back to its file and row number; tables written
atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import atomic
from rollgate.contracts.errors import DataValidationError
from rollgate.data.schema import Transactions
from rollgate.data.validation import Failure


def batch_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise DataValidationError(f"{directory}: no such directory (run `dvc pull` or `rollgate data generate`)")
    return sorted(directory.glob("*.parquet"))


def _read_one(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise ValueError("file is empty (0 bytes)")
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a readable Parquet file, truncated or corrupt ({exc})") from None
    return frame


def _column_failures(path: Path, columns: list[str]) -> list[Failure]:
    expected = list(Transactions.to_schema().columns)
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    return [Failure(c, "column present", 1, ({"file": str(path), "error": "missing column"},)) for c in missing] + [
        Failure(c, "no unexpected columns", 1, ({"file": str(path), "error": "extra column"},)) for c in extra
    ]


def read_batches(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame, tuple[Failure, ...]]:
    """All batches in file-name (= time) order, where each row came from, and files that failed to read."""
    frames, origins, failures = [], [], []
    for path in batch_files(directory):
        try:
            frame = _read_one(path)
        except ValueError as exc:
            failures.append(Failure("(file)", "readable Parquet", 1, ({"file": str(path), "error": str(exc)},)))
            continue
        column_failures = _column_failures(path, list(frame.columns))
        if column_failures:
            # Rows of a file with the wrong columns cannot be judged field by field: report the columns.
            failures += column_failures
            continue
        frames.append(frame)
        origins.append(pd.DataFrame({"file": str(path), "row": range(len(frame))}))
    if not frames:
        return pd.DataFrame(), pd.DataFrame(columns=["file", "row"]), tuple(failures)
    df = pd.concat(frames, ignore_index=True)
    return df, pd.concat(origins, ignore_index=True), tuple(failures)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """One table as a Parquet file, atomically (a failed write never leaves half a split behind)."""
    with atomic.replacing(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")


def read_table(path: Path, columns: list[str], shown: str) -> pd.DataFrame:
    """A table a stage wrote for the next one (a prepared split), checked at the stage edge: readable,
    with `columns`; every failure names `shown` (the path as the user knows it)."""
    if not path.is_file():
        raise DataValidationError(f"{shown}: missing: run the stage that writes it (`make repro`)")
    try:
        frame = _read_one(path)
    except ValueError as exc:
        raise DataValidationError(f"{shown}: {exc}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{shown}: lacks the columns {missing} (re-run `make prepare`?)")
    return frame
