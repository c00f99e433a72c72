"""`rollgate batch score`: Parquet files scored in chunks by one model, through the server's contract.

For each input file `<name>.parquet` (a folder's, in name order, or a glob's) it writes
`<name>.parquet` under the output folder — the input's row number, the row's pass-through id when the
contract names one and the input has it, the score and the label (score at or above the threshold) —
and `<name>.rejects.parquet` with every refused row's number, id and reason: nothing is dropped
silently. Both carry the model's sha256 and the input file's in their Parquet metadata. Files are
written under a temporary name and moved into place whole, the scores last, so an output that exists
is complete: a rerun skips the inputs whose output names the same model and input digests (resumable
per file) and redoes the rest. Memory is bounded by one chunk (`--chunk-rows`), whatever the file size.

The model is verified by its sha256 before it is loaded, as the server does; the feature contract and
threshold come from the release record (`--release`) or the `model.json` beside the model.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import atomic
from rollgate.contracts.errors import RollgateError
from rollgate.scoring.check import check
from rollgate.serve import loading
from rollgate.serve.loading import ServedModel

META_MODEL, META_INPUT = b"rollgate.model_sha256", b"rollgate.input_sha256"
ROW = "row"  # the input's row number (0-based) in the outputs


@dataclass(frozen=True)
class Job:
    model: str  # a path or URI, as `rollgate serve --model`
    sha256: str
    inputs: str  # a folder of .parquet files, or a glob
    output: Path
    release: str | None = None
    threshold: float | None = None
    chunk_rows: int = 65_536


@dataclass(frozen=True)
class Done:
    name: str
    rows: int
    scored: int
    rejected: int
    skipped: bool  # an earlier run's complete output for the same model and input

    def line(self) -> str:
        if self.skipped:
            return f"  {self.name}: done before ({self.scored} scored, {self.rejected} rejected)"
        return f"  {self.name}: {self.rows} rows, {self.scored} scored, {self.rejected} rejected"


def input_files(spec: str) -> list[Path]:
    """The input files: a folder's `*.parquet` or a glob's matches, in name order; none is an error."""
    folder = Path(spec)
    # glob.glob: an absolute pattern too (Path.glob takes relative ones only)
    matches = glob.glob(spec)  # noqa: PTH207
    found = sorted(folder.glob("*.parquet")) if folder.is_dir() else sorted(Path(p) for p in matches)
    files = [p for p in found if p.is_file() and not p.name.endswith(".rejects.parquet")]
    if not files:
        raise RollgateError(f"--input {spec}: no Parquet files there")
    return files


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _finished(out: Path, model: str, digest: str) -> tuple[int, int] | None:
    """(scored, rejected) of an earlier complete output for the same model and input, else None."""
    rejects = out.with_name(out.stem + ".rejects.parquet")
    if not out.is_file() or not rejects.is_file():
        return None
    meta = pq.read_metadata(out).metadata or {}
    if meta.get(META_MODEL) != model.encode() or meta.get(META_INPUT) != digest.encode():
        return None
    return pq.read_metadata(out).num_rows, pq.read_metadata(rejects).num_rows


def _open(path: Path, served: ServedModel) -> tuple[pq.ParquetFile, list[str], Schemas]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RollgateError(f"{path}: not a Parquet file ({exc})") from exc
    arrow = parquet.schema_arrow
    missing = [n for n in served.features.names if n not in arrow.names]
    if missing:
        raise RollgateError(f"{path}: lacks the features {missing} the model takes")
    id_field = served.features.id_field
    ids = [(id_field, arrow.field(id_field).type)] if id_field and id_field in arrow.names else []
    scored = pa.schema([(ROW, pa.int64()), *ids, ("score", pa.float64()), ("label", pa.int8())])
    refused = pa.schema([(ROW, pa.int64()), *ids, ("reason", pa.string())])
    return parquet, [*served.features.names, *(name for name, _ in ids)], Schemas(scored, refused)


@dataclass(frozen=True)
class Schemas:
    scored: pa.Schema
    refused: pa.Schema


def _prepared(frame: pd.DataFrame, served: ServedModel) -> pd.DataFrame:
    """The valid rows as the model takes them: categories as strings, as the server passes them, and
    numbers as numbers (a column of numbers written as text included: the check admitted them)."""
    out = frame[served.features.names].copy()
    for spec in served.features.features:
        column = out[spec.name]
        if spec.type == "category":
            out[spec.name] = column.astype(object).where(column.isna(), column.astype(str))
        elif not pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            out[spec.name] = pd.to_numeric(column)
    return out


def _tables(frame: pd.DataFrame, first: int, served: ServedModel, schemas: Schemas) -> tuple[pa.Table, pa.Table]:
    rows = np.arange(first, first + len(frame), dtype=np.int64)
    checked = check(frame, served.features)
    id_field = served.features.id_field if served.features.id_field in frame.columns else None
    ids = {id_field: frame[id_field].to_numpy()} if id_field else {}
    ok = checked.valid
    scores = served.model.predict_proba(_prepared(frame.loc[ok], served))[:, 1] if ok.any() else np.zeros(0)
    scored = {ROW: rows[ok], **{k: v[ok] for k, v in ids.items()}, "score": scores}
    scored["label"] = (scores >= served.threshold).astype(np.int8)
    refused = {ROW: rows[~ok], **{k: v[~ok] for k, v in ids.items()}, "reason": checked.reasons[~ok].astype(str)}
    return pa.table(scored, schema=schemas.scored), pa.table(refused, schema=schemas.refused)


def score_file(path: Path, served: ServedModel, job: Job) -> Done:
    """Score one input file into the output folder (or find it done); see the module's docstring."""
    out = job.output / f"{path.stem}.parquet"
    digest = _digest(path)
    earlier = _finished(out, served.sha256, digest)
    if earlier is not None:
        return Done(path.name, sum(earlier), *earlier, skipped=True)
    parquet, columns, schemas = _open(path, served)
    meta = {META_MODEL: served.sha256.encode(), META_INPUT: digest.encode()}
    rows = scored = 0
    rejects = out.with_name(out.stem + ".rejects.parquet")
    # Left to right in, right to left out: both writers close, then the rejects and last the scores
    # are moved into place.
    with (
        atomic.replacing(out) as tmp_out,
        atomic.replacing(rejects) as tmp_bad,
        pq.ParquetWriter(tmp_out, schemas.scored.with_metadata(meta), compression="zstd") as good_file,
        pq.ParquetWriter(tmp_bad, schemas.refused.with_metadata(meta), compression="zstd") as bad_file,
    ):
        for chunk in parquet.iter_batches(batch_size=job.chunk_rows, columns=columns):
            good, bad = _tables(chunk.to_pandas(), rows, served, schemas)
            good_file.write_table(good)
            bad_file.write_table(bad)
            rows, scored = rows + chunk.num_rows, scored + good.num_rows
    return Done(path.name, rows, scored, rows - scored, False)


def score(job: Job) -> list[Done]:
    """Every input file of `job` scored (or found done), in name order.

    Raises:
        RollgateError: no input files, a model whose digest is not `job.sha256`, an input that is not
            Parquet or lacks a feature (naming the file; earlier files' outputs stay complete).
    """
    if job.chunk_rows < 1:
        raise RollgateError(f"--chunk-rows {job.chunk_rows}: at least 1")
    files = input_files(job.inputs)
    data = loading.fetch(job.model, 300.0, 2 << 30)
    served = loading.load(job.model, job.sha256, job.release, job.threshold, data)
    job.output.mkdir(parents=True, exist_ok=True)
    return [score_file(path, served, job) for path in files]
