"""`rollgate data import`: an adopter's CSV or Parquet files as the batches the pipeline reads.

What the pipeline reads (docs/adopting.md says the same): Parquet files directly in the dataset's batch
folder, whose names sort in time order, with exactly the schema's columns. Import reads every source,
checks the columns (each missing or extra column reported once, with the files it is in), coerces the
types the schema declares (a bool or "true"/"false" label becomes 0/1; any other label value is an
error naming its rows), sorts by the timestamp and writes one file per week, month or day, named by
the period's first day so that names sort in time order. Nothing is written unless every source is
good; files of the same periods are replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rollgate.contracts.errors import DataValidationError
from rollgate.data import batches
from rollgate.data.dataset import Dataset

Partition = Literal["week", "month", "day"]
PARTITIONS: tuple[Partition, ...] = ("week", "month", "day")
_TRUE, _FALSE = {"true", "1", "yes", "t", "y"}, {"false", "0", "no", "f", "n"}


def read_source(path: Path) -> pd.DataFrame:
    """A CSV (`.csv`, `.csv.gz`) or Parquet (`.parquet`, `.pq`) file, every column as read, named in errors."""
    name = path.name.lower()
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file")
    frame: pd.DataFrame
    try:
        if name.endswith((".csv", ".csv.gz")):
            frame = pacsv.read_csv(path).to_pandas()
            return frame
        if name.endswith((".parquet", ".pq")):
            if not batches.has_parquet_header(path):
                raise DataValidationError(f"{path}: not Parquet (no PAR1 header): is it CSV? name it .csv")
            frame = pq.read_table(path).to_pandas()
            return frame
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(f"{path}: unreadable ({exc})") from None
    raise DataValidationError(f"{path}: unknown format: name CSV files .csv and Parquet files .parquet")


def _columns(frames: dict[Path, pd.DataFrame], dataset: Dataset) -> None:
    """Every missing or extra column once, with the files it concerns."""
    columns = {path: [str(c) for c in frame.columns] for path, frame in frames.items()}
    problems = []
    for kind, column, files in batches.column_problems(columns, dataset.columns):
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        problems.append(f"{kind} column {column!r} in {len(files)} file(s): {', '.join(files[:3])}{more}")
    if problems:
        raise DataValidationError(
            f"the schema ({dataset.schema.__name__}) has the columns {dataset.columns}:\n  " + "\n  ".join(problems)
        )


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _bools(values: pd.Series, column: str, source: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    text = values.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        rows = [int(r) for r in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataValidationError(
            f"{source}: {column}: not true/false or 0/1 at rows {rows} (e.g. {_plain(values.iloc[rows[0]])!r})"
        )
    return text.isin(_TRUE)


def _label(values: pd.Series, column: str, source: str) -> pd.Series:
    """The label as 0/1: bools and true/false text are accepted; anything else names its rows."""
    if pd.api.types.is_bool_dtype(values) or values.dtype == object or pd.api.types.is_string_dtype(values):
        return _bools(values, column, source).astype(np.int64)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = ~numeric.isin([0, 1])
    if bad.any():
        rows = [int(r) for r in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataValidationError(
            f"{source}: label {column!r} must be 0/1 (or true/false): rows {rows} hold {_plain(values.iloc[rows[0]])!r}"
        )
    return numeric.astype(np.int64)


def _coerce(frame: pd.DataFrame, dataset: Dataset, source: str) -> pd.DataFrame:
    """The schema's column types, in schema order; a value that cannot be converted names its column."""
    columns = dataset.schema.to_schema().columns
    out = {}
    for name in dataset.columns:
        dtype, values = str(columns[name].dtype), frame[name]
        try:
            if name == dataset.label:
                out[name] = _label(values, name, source)
            elif dtype == "bool":
                out[name] = _bools(values, name, source)
            elif dtype.startswith("datetime"):
                out[name] = pd.to_datetime(values, format="ISO8601").astype("datetime64[us]")
            else:
                out[name] = columns[name].dtype.try_coerce(values)
        except (ValueError, TypeError, pandera.errors.ParserError) as exc:
            raise DataValidationError(f"{source}: column {name!r}: cannot convert to {dtype}: {exc}") from None
    return pd.DataFrame(out)


def period_start(timestamps: pd.Series, partition: Partition) -> pd.Series:
    """The first day of each timestamp's week (Monday), month or day."""
    days: pd.Series = timestamps.dt.normalize()
    back = 0 if partition == "day" else days.dt.day - 1 if partition == "month" else days.dt.day_of_week
    start: pd.Series = days - pd.to_timedelta(back, unit="D")
    return start


def partitioned(frame: pd.DataFrame, dataset: Dataset, partition: Partition) -> dict[str, pd.DataFrame]:
    """Rows sorted by time, one table per period, keyed by file name (names sort in time order)."""
    ordered = frame.sort_values(dataset.timestamp, kind="stable").reset_index(drop=True)
    starts = period_start(ordered[dataset.timestamp], partition)
    fmt = "%Y-%m" if partition == "month" else "%Y-%m-%d"
    return {
        f"{pd.Timestamp(start):{fmt}}.parquet": part.reset_index(drop=True)
        for start, part in ordered.groupby(starts, sort=True)
    }


def run(sources: Sequence[Path], dataset: Dataset, target: Path, partition: Partition) -> list[Path]:
    """Read, check and coerce every source, then write the batches into `target`.

    Raises:
        DataValidationError: a source is unreadable, lacks or adds columns, or holds unconvertible values
            (nothing is written).
    """
    if not sources:
        raise DataValidationError("data import: no source files given")
    frames = {path: read_source(path) for path in sources}
    _columns(frames, dataset)
    rows = pd.concat([_coerce(f, dataset, str(p)) for p, f in frames.items()], ignore_index=True)
    if rows[dataset.timestamp].isna().any():
        raise DataValidationError(f"{dataset.timestamp}: empty timestamps; every row needs one to be split by time")
    written = []
    for name, part in partitioned(rows, dataset, partition).items():
        batches.write_frame(part, target / name)
        written.append(target / name)
    return written


def report(root: Path, sources: Sequence[Path], partition: Partition) -> str:
    """`rollgate data import`: write the batches of the active dataset and say what to do next."""
    from rollgate.data.schema import DATASET

    target = root / DATASET.batches
    written = run(sources, DATASET, target, partition)
    rows = sum(pq.read_metadata(p).num_rows for p in written)
    others = sorted(set(batches.batch_files(target)) - set(written))
    lines = [f"data import: {rows} {DATASET.noun} from {len(sources)} file(s) -> {len(written)} {partition}ly "
             f"batches in {DATASET.batches}/ ({written[0].name} ... {written[-1].name})"]  # fmt: skip
    if others:
        lines.append(
            f"  {len(others)} other batch file(s) stay there (e.g. {others[0].name}): remove those you replace"
        )
    lines.append("next: `dvc add data` to record the data, then `make repro` (validate checks it against the schema)")
    return "\n".join(lines)
