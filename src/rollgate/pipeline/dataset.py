"""Reading the raw batches from disk, with every row traced back to its file and row number."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from rollgate.contracts.errors import DataValidationError
from rollgate.data.schema import Transactions
from rollgate.data.validation import Failure


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dvc_dir_md5(directory: Path) -> str:
    """The md5 DVC gives a directory (as in `data.dvc`): md5 of the sorted JSON list of its files."""
    entries = [
        {"md5": md5_file(p), "relpath": p.relative_to(directory).as_posix()}
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    ]
    entries.sort(key=lambda e: e["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"


def recorded_md5(dvc_file: Path) -> str:
    """The directory md5 a `.dvc` file records for its single output."""
    try:
        outs = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))["outs"]
        md5: str = outs[0]["md5"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise DataValidationError(f"{dvc_file}: unreadable or without outs[0].md5 ({exc})") from exc
    return md5


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
