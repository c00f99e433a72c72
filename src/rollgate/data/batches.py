"""The batch files on disk, read with every row traced back to its file and row number; tables written
atomically."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import atomic
from rollgate.contracts.errors import DataValidationError
from rollgate.data.schema import DATASET
from rollgate.data.validation import Failure


def batch_files(directory: Path) -> list[Path]:
    """The batch files in name order, which must be time order."""
    if not directory.is_dir():
        raise DataValidationError(
            f"{directory}: no such directory (run `dvc pull`, or write your data with `rollgate data import`)"
        )
    return sorted(directory.glob("*.parquet"))


def _foreign_files(directory: Path) -> list[Failure]:
    """Files the pipeline would silently skip: CSV and other formats in the batch folder."""
    out = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix != ".parquet"):
        if path.name.startswith("."):
            continue
        hint = "CSV, but batches are Parquet" if path.suffix.lower() in (".csv", ".gz") else "not a .parquet file"
        out.append(
            Failure("(file)", "batch files are Parquet", 1, ({"file": str(path), "error": f"{hint}: convert with "
                    f"`rollgate data import {path}` (it writes Parquet batches)"},))
        )  # fmt: skip
    return out


def _read_one(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise ValueError("file is empty (0 bytes)")
    with path.open("rb") as fh:
        if fh.read(4) != b"PAR1":
            raise ValueError("not Parquet (no PAR1 header): CSV named .parquet? convert with `rollgate data import`")
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a readable Parquet file, truncated or corrupt ({exc})") from None
    return frame


def _column_failures(columns: dict[Path, list[str]]) -> list[Failure]:
    """Each missing or extra column once, with the files it concerns (not once per file)."""
    expected = DATASET.columns
    failures = []
    found = sorted({c for cols in columns.values() for c in cols} - set(expected))
    for column, check, present in [(c, "column present", False) for c in expected] + [
        (c, "no unexpected columns", True) for c in found
    ]:
        files = [str(p) for p, cols in columns.items() if (column in cols) == present]
        if files:
            error = "extra column" if present else "missing column"
            failures.append(Failure(column, check, len(files), tuple({"file": f, "error": error} for f in files[:5])))
    return failures


def _time_order(spans: list[tuple[Path, pd.Timestamp, pd.Timestamp]]) -> list[Failure]:
    """Files whose names sort before an earlier file: the split and the checks assume name order = time."""
    out = []
    for (before, _, end), (after, start, _) in itertools.pairwise(spans):
        if start < end:
            out.append(
                Failure("(file)", "file names in time order", 1, ({"file": str(after), "error": (
                    f"starts at {start} but sorts after {before.name}, which ends at {end}: name batches so "
                    "that they sort in time order (e.g. 2026-01.parquet), or re-import with `rollgate data import`"
                )},))
            )  # fmt: skip
    return out


def read_batches(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame, tuple[Failure, ...]]:
    """All batches in file-name (= time) order, where each row came from, and files that failed to read."""
    frames, origins, failures = [], [], _foreign_files(directory) if directory.is_dir() else []
    columns: dict[Path, list[str]] = {}
    spans = []
    for path in batch_files(directory):
        try:
            frame = _read_one(path)
        except ValueError as exc:
            failures.append(Failure("(file)", "readable Parquet", 1, ({"file": str(path), "error": str(exc)},)))
            continue
        columns[path] = [str(c) for c in frame.columns]
        if set(columns[path]) != set(DATASET.columns):
            continue  # rows of a file with the wrong columns cannot be judged field by field
        frames.append(frame)
        origins.append(pd.DataFrame({"file": str(path), "row": range(len(frame))}))
        stamps = pd.to_datetime(frame[DATASET.timestamp], errors="coerce")
        if len(frame) and stamps.notna().any():
            spans.append((path, stamps.min(), stamps.max()))
    failures += _column_failures(columns) + _time_order(spans)
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
