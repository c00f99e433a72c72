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


def has_parquet_header(path: Path) -> bool:
    """Whether the file starts as Parquet does (a CSV renamed `.parquet` does not)."""
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"


def _read_one(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise ValueError("file is empty (0 bytes)")
    if not has_parquet_header(path):
        raise ValueError("not Parquet (no PAR1 header): CSV named .parquet? convert with `rollgate data import`")
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a readable Parquet file, truncated or corrupt ({exc})") from None
    return frame


def column_problems(columns: dict[Path, list[str]], expected: list[str]) -> list[tuple[str, str, list[str]]]:
    """("missing" | "extra", column, files) for each column once, not once per file: missing ones in
    schema order, then extra ones sorted (the batch reader and `rollgate data import` report them)."""
    found = sorted({c for cols in columns.values() for c in cols} - set(expected))
    out = []
    for kind, pool, present in (("missing", expected, False), ("extra", found, True)):
        for column in pool:
            files = [str(p) for p, cols in columns.items() if (column in cols) == present]
            if files:
                out.append((kind, column, files))
    return out


def _column_failures(columns: dict[Path, list[str]]) -> list[Failure]:
    """Each missing or extra column once, with the files it concerns (not once per file)."""
    checks = {"missing": "column present", "extra": "no unexpected columns"}
    return [
        Failure(column, checks[kind], len(files), tuple({"file": f, "error": f"{kind} column"} for f in files[:5]))
        for kind, column, files in column_problems(columns, DATASET.columns)
    ]


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
        if len(frame) == 0:  # an empty export would be trained around silently, as if its period had no rows
            failures.append(Failure("(file)", "batch has rows", 1, ({"file": str(path), "error": (
                "0 rows: a batch must have rows (a failed export?): export the period again, or remove the file"
            )},)))  # fmt: skip
            continue
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
