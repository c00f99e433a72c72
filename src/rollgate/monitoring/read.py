"""Reading a run's inputs: Parquet or CSV tables, and the server's prediction log (JSON lines).

A prediction log is a `.jsonl` file (with its rotations `<name>.1`, `<name>.2`, ... read too, oldest
first) or a folder of them. Each line is one scored row as `rollgate.serve.predlog` writes it; it
becomes one row with the columns `ts` (UTC), `request_id`, `row`, `id` (the row's pass-through id),
`sha256`, `sample`, one column per logged input, `score`, and `flagged` (the server's label).
Every failure names the file, and the column where there is one.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import orjson
import pandas as pd

from rollgate.contracts.errors import RollgateError

LOG_TIME, LOG_ID, LOG_SCORE, LOG_DIGEST = "ts", "id", "score", "sha256"
_ROTATED = re.compile(r"\.jsonl(\.\d+)?$")


def is_log(path: Path) -> bool:
    return path.is_dir() or bool(_ROTATED.search(path.name))


def _log_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and _ROTATED.search(p.name)]
    else:
        if not path.exists():
            raise RollgateError(f"{path}: no such file")
        files = [path, *path.parent.glob(f"{glob.escape(path.name)}.*")]
        files = [p for p in files if _ROTATED.search(p.name)]
    if not files:
        raise RollgateError(f"{path}: no prediction log files (*.jsonl) in it")

    def age(p: Path) -> tuple[str, int]:  # <name>.2 is older than <name>.1, older than <name>
        stem, _, n = p.name.rpartition(".")
        return (stem, -int(n)) if n.isdigit() else (p.name, 0)

    return sorted(files, key=age)


def _log_rows(path: Path) -> list[dict[str, object]]:
    rows = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                inputs = record["inputs"]
                row = {LOG_TIME: record["ts"], "request_id": record["request_id"], "row": record["row"]}
                row |= {LOG_ID: record["id"], LOG_DIGEST: record["sha256"], "sample": record["sample"]}
                rows.append(row | dict(inputs) | {LOG_SCORE: record["score"], "flagged": record["label"]})
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise RollgateError(f"{path}: line {number} is not a prediction log line ({e})") from e
    return rows


def read_log(path: Path) -> pd.DataFrame:
    rows = [row for file in _log_files(path) for row in _log_rows(file)]
    if not rows:
        raise RollgateError(f"{path}: the prediction log has no lines")
    frame = pd.DataFrame(rows)
    frame[LOG_TIME] = pd.to_datetime(frame[LOG_TIME], unit="s", utc=True)
    return frame


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet (`.parquet`, `.pq`) or CSV (`.csv`, `.csv.gz`) table, or a prediction log."""
    if is_log(path):
        return read_log(path)
    name = path.name.lower()
    if not path.is_file():
        raise RollgateError(f"{path}: no such file")
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise RollgateError(f"{path}: unreadable ({e})") from e
    raise RollgateError(f"{path}: not a table (.parquet, .csv, .jsonl or a folder of .jsonl)")


def require(frame: pd.DataFrame, columns: list[str], path: Path, why: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RollgateError(f"{path}: column {', '.join(map(repr, missing))} missing ({why})")


def join_labels(
    current: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    id_column: str,
    label_column: str,
    current_path: Path,
    labels_path: Path,
) -> pd.DataFrame:
    """The current rows with the label of each id that has one (NaN for the rest): a left join."""
    require(current, [id_column], current_path, "labels are joined by it")
    require(labels, [id_column, label_column], labels_path, "the labels file needs ids and labels")
    if labels[id_column].duplicated().any():
        raise RollgateError(f"{labels_path}: column {id_column!r} holds an id twice")
    table = labels[[id_column, label_column]].astype({id_column: str})
    left = current.drop(columns=[label_column], errors="ignore")
    keys = left[id_column].astype(str)
    if not keys.isin(table[id_column]).any():
        raise RollgateError(f"{labels_path}: no id in column {id_column!r} matches a row of {current_path}")
    joined = table.set_index(id_column)[label_column]
    return left.assign(**{label_column: keys.map(joined).to_numpy()})
