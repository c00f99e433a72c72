"""`make bench-serve`: rollgate's model server against `mlflow models serve`, same model, same load.

Both servers run the trained example model with the same number of worker processes and
OMP_NUM_THREADS=1; wrk drives them from Lua bodies on loopback. Measured: single-row requests at 8
concurrent clients (req/s, p50, p99), and 1,000-row batches from one client (rows/s) against the
in-process baseline (decode the same JSON, build the frame, predict; one thread). The last line is
machine-readable: `throughput_ratio=<x> p99_ms=<ms> batch_ratio=<x>`.

A benchmark, not a test: it needs wrk (Debian package) and the pipeline extras (MLflow).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BATCH_ROWS = 1_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready ({url})")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server not ready after {timeout}s: {url}")


def _lua(path: Path, url_path: str, body: str) -> Path:
    path.write_text(
        f'wrk.method = "POST"\nwrk.path = "{url_path}"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
        # Count non-2xx answers, so a fast error never passes for throughput.
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("NON2XX %d\\n", summary.errors.status))\nend\n'
    )
    return path


def _wrk(url: str, script: Path, clients: int, seconds: int) -> dict[str, float]:
    threads = min(clients, 2)
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {p: _ms(v, unit) for p, v, unit in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)}
    bad = int(re.search(r"NON2XX (\d+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        print(f"  warning: {bad} non-2xx answers; {errors.group(1) if errors else 'no socket errors'}")
    return {"rps": rate, "p50": pct["50"], "p99": pct["99"]}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _in_process(model: object, body: str, seconds: float = 8.0) -> float:
    """Rows per second for: decode the JSON, build the frame, predict — the floor any server adds to."""
    import pandas as pd

    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        rows = json.loads(body)["instances"]
        model.predict_proba(pd.DataFrame(rows))  # type: ignore[attr-defined]
        done += len(rows)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get update && apt-get install -y wrk")
    os.environ["OMP_NUM_THREADS"] = "1"  # both servers and the baseline: one thread per process

    import mlflow.sklearn

    from rollgate.contracts import model_metadata
    from rollgate.contracts.probe import probe_frame
    from rollgate.model import artifact

    work = Path(tempfile.mkdtemp(prefix="rollgate-bench-"))
    for name in ("model.skops", "model.json"):  # a private copy: a concurrent `dvc repro` cannot swap it
        shutil.copy(args.model_dir / name, work / name)
    meta = model_metadata.read(work / "model.json")
    model = artifact.loads((work / "model.skops").read_bytes(), meta.sha256)
    mlflow.sklearn.save_model(
        model,
        str(work / "mlflow-model"),
        serialization_format="skops",
        skops_trusted_types=list(artifact.TRUSTED_TYPES),
    )
    rows = json.loads(probe_frame(meta.features, BATCH_ROWS).to_json(orient="records"))
    one, batch = json.dumps({"instances": rows[:1]}), json.dumps({"instances": rows})
    ours_port, mlflow_port = _free_port(), _free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    ours = subprocess.Popen(
        [str(BIN / "rollgate"), "serve", "--model", str(work / "model.skops"), "--sha256", meta.sha256,
         "--port", str(ours_port), "--workers", str(args.workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    theirs = subprocess.Popen(
        [str(BIN / "mlflow"), "models", "serve", "-m", str(work / "mlflow-model"), "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", str(args.workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{ours_port}/readyz", ours)
        _wait(f"http://127.0.0.1:{mlflow_port}/ping", theirs)
        lua = {
            "ours_one": _lua(work / "ours_one.lua", "/v1/predict", one),
            "mlflow_one": _lua(work / "mlflow_one.lua", "/invocations", json.dumps({"dataframe_records": rows[:1]})),
            "ours_batch": _lua(work / "ours_batch.lua", "/v1/predict", batch),
            "mlflow_batch": _lua(work / "mlflow_batch.lua", "/invocations", json.dumps({"dataframe_records": rows})),
        }
        res = {}
        for key, port in (("ours", ours_port), ("mlflow", mlflow_port)):
            url = f"http://127.0.0.1:{port}"
            _wrk(url, lua[f"{key}_one"], 8, 2)  # warm-up
            res[f"{key}_one"] = _wrk(url, lua[f"{key}_one"], 8, args.seconds)
            res[f"{key}_batch"] = _wrk(url, lua[f"{key}_batch"], 1, args.seconds)
        baseline = _in_process(model, batch)
    finally:
        ours.send_signal(signal.SIGTERM)
        os.killpg(theirs.pid, signal.SIGTERM)
        ours.wait(60)
        theirs.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    _report(res, baseline, args.workers)


def _report(res: dict[str, dict[str, float]], baseline: float, workers: int) -> None:
    o1, m1, ob, mb = res["ours_one"], res["mlflow_one"], res["ours_batch"], res["mlflow_batch"]
    print(f"\nsingle-row requests, 8 clients, {workers} workers each, OMP_NUM_THREADS=1")
    print(f"  {'server':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in (("rollgate serve", o1), ("mlflow models serve", m1)):
        print(f"  {name:<22}{r['rps']:>10.1f}{r['p50']:>10.2f}{r['p99']:>10.2f}")
    print(f"\n{BATCH_ROWS}-row batches, 1 client")
    print(f"  {'':<22}{'rows/s':>10}")
    for name, rate in (
        ("rollgate serve", ob["rps"] * BATCH_ROWS),
        ("mlflow models serve", mb["rps"] * BATCH_ROWS),
        ("in-process baseline", baseline),
    ):
        print(f"  {name:<22}{rate:>10.0f}")
    ratio, batch_ratio = o1["rps"] / m1["rps"], ob["rps"] * BATCH_ROWS / baseline
    print(f"\nthroughput {ratio:.1f}x mlflow (goal >= 40), p99 {o1['p99']:.2f} ms (goal < 15), "
          f"batch {batch_ratio:.2f}x in-process (goal >= 0.85)")  # fmt: skip
    print(f"throughput_ratio={ratio:.2f} p99_ms={o1['p99']:.2f} batch_ratio={batch_ratio:.2f}")


if __name__ == "__main__":
    main()
