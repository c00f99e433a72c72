"""`make bench-batch`: `rollgate batch score` against an in-process `predict_proba` loop over the same files.

The example generator writes `--files` weekly Parquet files of `--rows` rows each; the trained model
(`models/`, else the one `make demo` trained) scores them two ways in this process, one after the other
and then again in the other order (the better of each pair counts, so a busy moment hurts neither):
- **baseline**: load the model (checked by its sha256), then per file read the feature columns with
  pandas, pass the categories as strings, and call `predict_proba`: the least any batch job must do;
- **batch score**: `rollgate.scoring.batch.score`: the same files streamed in chunks, every row
  checked against the feature contract, refused rows written with their reason, outputs written with
  the digests in their metadata.
Then `rollgate batch score` runs once more in a subprocess for its peak RSS (bounded by one chunk, not
the files). Goal: batch scoring at least 0.9 of the baseline's rows per second. The last line is
machine-readable: `batch_ratio=<x> batch_rows_s=<x> baseline_rows_s=<x> batch_peak_mb=<x> rows=<n>`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 0.9
ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path, files: int, rows: int) -> list[Path]:
    from rollgate.data.example import generate

    folder.mkdir(parents=True)
    out = []
    for week in range(files):
        path = folder / f"week-{week:02d}.parquet"
        generate.generate_week(week, rows=rows).to_parquet(path, index=False)
        out.append(path)
    return out


def _baseline(model_path: Path, sha256: str, files: list[Path]) -> float:
    """Seconds for the in-process loop, loading the model once as any batch job must (batch score does)."""
    import pandas as pd

    from rollgate.contracts import model_metadata
    from rollgate.model import artifact

    start = time.perf_counter()
    meta = model_metadata.read(model_path.with_suffix(".json"))
    model = artifact.loads(model_path.read_bytes(), sha256)
    categories = [f.name for f in meta.features.features if f.type == "category"]
    for path in files:
        frame = pd.read_parquet(path, columns=meta.features.names)
        for name in categories:
            frame[name] = frame[name].astype(str)
        model.predict_proba(frame)[:, 1]
    return time.perf_counter() - start


def _batch(model_path: Path, sha256: str, folder: Path, out: Path) -> float:
    from rollgate.scoring import batch

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    batch.score(batch.Job(str(model_path), sha256, str(folder), out))
    return time.perf_counter() - start


def _peak_mb(model_path: Path, sha256: str, folder: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "rollgate", "batch", "score", "--model", str(model_path), "--sha256", sha256,
            "--input", str(folder), "--output", str(out)]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4, help="weekly input files (default 4)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per file (default 100,000)")
    args = parser.parse_args()
    from rollgate.contracts.errors import RollgateError
    from rollgate.demo import trained

    try:
        found = trained.locate(ROOT)
    except RollgateError as exc:
        raise SystemExit(f"bench-batch: {exc}") from None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(tempfile.mkdtemp(prefix="rollgate-bench-batch-"))
    try:
        files = _files(work / "in", args.files, args.rows)
        rows = args.files * args.rows
        model = found.artifact
        base = [_baseline(model, found.sha256, files)]
        ours = [_batch(model, found.sha256, work / "in", work / "out")]
        ours.append(_batch(model, found.sha256, work / "in", work / "out"))
        base.append(_baseline(model, found.sha256, files))
        peak = _peak_mb(model, found.sha256, work / "in", work / "peak")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base_rate, our_rate = rows / min(base), rows / min(ours)
    print(f"\n{args.files} files x {args.rows:,} rows, model {found.sha256[:12]}; best of two runs each")
    print(f"  {'':<32}{'rows/s':>12}{'seconds':>10}")
    print(f"  {'in-process predict_proba loop':<32}{base_rate:>12,.0f}{min(base):>10.2f}")
    print(f"  {'rollgate batch score':<32}{our_rate:>12,.0f}{min(ours):>10.2f}")
    print(f"  peak RSS of `rollgate batch score`: {peak:,.0f} MB")
    ratio = our_rate / base_rate
    print(f"batch score: {ratio:.3f}x the in-process loop (goal: at least {GOAL})")
    print(f"batch_ratio={ratio:.3f} batch_rows_s={our_rate:.0f} baseline_rows_s={base_rate:.0f} "
          f"batch_peak_mb={peak:.0f} rows={rows}")  # fmt: skip


if __name__ == "__main__":
    main()
