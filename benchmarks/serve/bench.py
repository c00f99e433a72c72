"""`make bench-serve`: rollgate's model server against `mlflow models serve` and MLServer, same model, same load.

Each server runs the trained model alone on the machine (one after the other) with the same number of
worker processes (default 1: MLServer serves HTTP from one process) and OMP_NUM_THREADS=1; wrk drives
them from Lua bodies on loopback, and every server scores the same rows. Measured:
- single-row requests at 8 concurrent clients (req/s, p50, p99) on all three; MLServer runs its
  scikit-learn runtime with adaptive batching, and its scores must equal rollgate's first;
- 1,000-row batches from one client (rows/s) against the in-process baseline (decode the same JSON,
  build the frame, predict; one thread);
- GET /healthz on rollgate's admin port (its scoring port before `--admin-port` existed), one request
  at a time on a new connection, while 4 clients send 1,000-row batches: the p99 a kubelet probe sees.
The last line is machine-readable:
`throughput_ratio=<x> mlserver_ratio=<x> p99_ms=<ms> batch_ratio=<x> healthz_p99_ms=<ms>`.
`--api-keys` adds rollgate single-row with API keys on against off (`benchmarks.serve.keys`) and
`auth_ratio=<x> auth_off_rps=<x> auth_on_rps=<x> auth_check_us=<us> auth_check_share=<x>` to that line;
`--auth-only` measures that pair alone. `--bins` adds rollgate single-row with the feature bin counters
on against off (`benchmarks.serve.bins`) and `bins_ratio=<x> bins_count_us=<us> bins_count_share=<x>`;
`--bins-only` measures that pair alone.

A benchmark, not a test: it needs wrk (`make test-deps`), the pipeline extras (MLflow), and on first
use makes MLServer's virtualenv under ~/.cache/rollgate/bench/. `--rollgate-src DIR` serves rollgate
from another checkout (e.g. a `git worktree` of the commit before a change) for a before/after pair.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.serve import bins, bodies, keys, load, mlserver, report, servers
from benchmarks.serve.bodies import Requests
from benchmarks.serve.load import Load, Probes
from benchmarks.serve.servers import Launch

ROOT = Path(__file__).resolve().parents[2]
WARM_UP_S = 2


@dataclass(frozen=True)
class Run:
    """One run's inputs: its folder, the private copy of the model, every server's requests, the options."""

    work: Path
    model: Any
    sha256: str
    requests: dict[str, Requests]
    workers: int
    seconds: int
    src: Path


@dataclass(frozen=True)
class Ours:
    """What rollgate's run measured, and its scores on the batch (the reference for MLServer's)."""

    single: Load
    batch_rows_s: float
    loaded_rows_s: float
    healthz: Probes
    healthz_port: str
    scores: list[float]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server (default 1)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured load (default 10)")
    parser.add_argument("--model-dir", type=Path, help="default: models/, else the one `make demo` trained")
    parser.add_argument("--rollgate-src", type=Path, default=ROOT, help="checkout whose src/ serves rollgate")
    parser.add_argument("--api-keys", action="store_true", help="also rollgate single-row with API keys on vs off")
    parser.add_argument("--auth-only", action="store_true", help="only that pair (no mlflow, MLServer, batches)")
    parser.add_argument("--bins", action="store_true", help="also rollgate single-row with bin counters on vs off")
    parser.add_argument("--bins-only", action="store_true", help="only that pair (no mlflow, MLServer, batches)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make test-deps` (as root) installs it")
    args.model_dir = args.model_dir or _trained_model_dir()
    # The in-process baseline too: set before numpy and scikit-learn load (their thread pools read it once).
    os.environ["OMP_NUM_THREADS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="rollgate-bench-"))
    try:
        run = _prepare(args, work)
        pair = _keys(run) if args.api_keys or args.auth_only else None
        counted = _bins(run, args.model_dir) if args.bins or args.bins_only else None
        figures = None if args.auth_only or args.bins_only else measure(run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if figures is not None:
        print(report.table(figures))
        print(report.goals(figures))
    if pair is not None:
        print(keys.table(pair, report.SINGLE_CLIENTS))
        print(keys.goal(pair))
    if counted is not None:
        print(bins.table(counted, report.SINGLE_CLIENTS))
        print(bins.goal(counted))
    line = [report.last_line(figures)] if figures is not None else []
    line += [keys.last_line(pair)] if pair is not None else []
    print(" ".join(line + ([bins.last_line(counted)] if counted is not None else [])))


def _bins(run: Run, model_dir: Path) -> bins.Bins:
    print("rollgate single-row, feature bin counters off and on", flush=True)
    return bins.measure(
        lambda: servers.rollgate(run.src, run.work / "model.skops", run.sha256, run.workers),
        model_dir, run.requests["rollgate"], run.work, seconds=run.seconds, clients=report.SINGLE_CLIENTS,
    )  # fmt: skip


def _keys(run: Run) -> keys.Pair:
    print("rollgate single-row, API keys off and on", flush=True)
    req = run.requests["rollgate"]
    return keys.measure(
        lambda: servers.rollgate(run.src, run.work / "model.skops", run.sha256, run.workers),
        req, run.work, run.seconds, report.SINGLE_CLIENTS,
    )  # fmt: skip


def _trained_model_dir() -> Path:
    from rollgate.contracts.errors import RollgateError
    from rollgate.demo import trained

    try:
        found = trained.locate(ROOT)
    except RollgateError as exc:
        raise SystemExit(f"bench-serve: {exc}") from None
    if found.note:
        print(f"bench-serve: {found.note}")
    return found.folder


def _prepare(args: argparse.Namespace, work: Path) -> Run:
    from rollgate.contracts import model_metadata
    from rollgate.contracts.probe import probe_frame
    from rollgate.model import artifact

    for name in ("model.skops", "model.json"):  # a private copy: a concurrent `dvc repro` cannot swap it
        shutil.copy(args.model_dir / name, work / name)
    meta = model_metadata.read(work / "model.json")
    model = artifact.loads((work / "model.skops").read_bytes(), meta.sha256)
    rows = json.loads(probe_frame(meta.features, report.BATCH_ROWS).to_json(orient="records"))
    requests = bodies.requests(rows, meta.features)
    return Run(work, model, meta.sha256, requests, args.workers, args.seconds, args.rollgate_src.resolve())


def measure(run: Run) -> report.Figures:
    """Each server in turn, alone on the machine, then the in-process baseline."""
    ours = _rollgate(run)
    mlflow_single, mlflow_batch = _mlflow(run)
    mlserver_single = _mlserver(run, ours.scores)
    baseline = load.in_process(run.model, run.requests["rollgate"].batch)
    return report.Figures(
        workers=run.workers,
        single={"rollgate": ours.single, "mlflow": mlflow_single, "mlserver": mlserver_single},
        batch_rows_s={"rollgate": ours.batch_rows_s, "mlflow": mlflow_batch, "in-process baseline": baseline},
        loaded_rows_s=ours.loaded_rows_s,
        healthz=ours.healthz,
        healthz_port=ours.healthz_port,
    )


def _rollgate(run: Run) -> Ours:
    launch = servers.rollgate(run.src, run.work / "model.skops", run.sha256, run.workers)
    port = "scoring" if launch.admin_port is None else "admin"
    print(f"rollgate serve from {run.src / 'src'}; /healthz probed on its {port} port", flush=True)
    req = run.requests["rollgate"]
    with servers.running(launch, run.work) as server:
        scores = bodies.rollgate_scores(load.post_json(server.url + req.path, req.batch))
        single, batch = _single(server, req, run), _batch_rows_s(server, req, run)
        script = load.lua(run.work / "rollgate-loaded.lua", req.path, req.batch)
        wrk = load.start_wrk(server.url, script, report.LOADED_CLIENTS, run.seconds)
        probes = load.probe_while(wrk, server.probe_url + "/healthz")
        loaded = load.finish_wrk(wrk).rps * report.BATCH_ROWS
    return Ours(single, batch, loaded, probes, port, scores)


def _mlflow(run: Run) -> tuple[Load, float]:
    launch = servers.mlflow(run.model, run.work / "mlflow-model", run.workers)
    req = run.requests["mlflow"]
    with servers.running(launch, run.work) as server:
        return _single(server, req, run), _batch_rows_s(server, req, run)


def _mlserver(run: Run, reference: list[float]) -> Load:
    launch = mlserver.launch(run.model, run.work / "mlserver-model", run.workers)
    req = run.requests["mlserver"]
    with servers.running(launch, run.work) as server:
        theirs = bodies.mlserver_scores(load.post_json(server.url + req.path, req.batch))
        worst = bodies.same_scores(reference, theirs)
        if worst is not None:
            raise SystemExit(f"MLServer's scores differ from rollgate's on the same rows (by up to {worst:.3g})")
        return _single(server, req, run)


def _single(server: Launch, req: Requests, run: Run) -> Load:
    script = load.lua(run.work / f"{server.name}-one.lua", req.path, req.one)
    load.wrk(server.url, script, report.SINGLE_CLIENTS, WARM_UP_S)
    return load.wrk(server.url, script, report.SINGLE_CLIENTS, run.seconds)


def _batch_rows_s(server: Launch, req: Requests, run: Run) -> float:
    script = load.lua(run.work / f"{server.name}-batch.lua", req.path, req.batch)
    return load.wrk(server.url, script, 1, run.seconds).rps * report.BATCH_ROWS


if __name__ == "__main__":
    main()
