"""`rollgate data generate`: write the example batches (the source data, not a DVC stage)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import paths
from rollgate.data.generate import GenerateOptions, generate


def run(root: Path, options: GenerateOptions, out: Path | None = None) -> list[Path]:
    """Write one Parquet file per week; existing files of the same weeks are replaced byte for byte."""
    target = out or root / paths.BATCHES_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in generate(options).items():
        path = target / name
        tmp = path.with_name(f".{name}.tmp")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        tmp.replace(path)
        written.append(path)
    rows = sum(pq.read_metadata(p).num_rows for p in written)
    print(
        f"data generate: {len(written)} weekly batches, {rows} rows (seed {options.seed}, shift {options.shift}) "
        f"-> {target}"
    )
    return written
