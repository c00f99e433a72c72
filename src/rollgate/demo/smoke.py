"""The serving smoke run at the end of `make demo`: the real server on the model just trained.

Starts `rollgate serve` on 127.0.0.1 (free scoring and admin ports), waits for readiness, sends a few requests — one
of them invalid — prints the answers, then stops it with SIGTERM and checks it exits cleanly.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract


def _free_ports() -> tuple[int, int]:
    """Two distinct free loopback ports (scoring, admin), held together while chosen."""
    with socket.socket() as one, socket.socket() as two:
        one.bind(("127.0.0.1", 0))
        two.bind(("127.0.0.1", 0))
        return int(one.getsockname()[1]), int(two.getsockname()[1])


def _call(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RollgateError(f"the model server exited with {proc.returncode} before it was ready")
        try:
            if _call(f"{base}/readyz")[0] == 200:
                return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
            pass
        time.sleep(0.1)
    raise RollgateError(f"the model server was not ready within {timeout:.0f} s")


def _show(name: str, status: int, answer: Any) -> None:
    text = json.dumps(answer, separators=(",", ":"))
    print(f"       {name:<28} -> {status} {text[:150]}{'…' if len(text) > 150 else ''}")


def invalid(row: dict[str, Any], contract: FeatureContract) -> dict[str, Any]:
    """`row` broken the way the contract forbids: its first feature out of range (or an unknown category, a
    non-boolean), its last feature missing."""
    first, last = contract.features[0], contract.features[-1]
    bad: dict[str, Any] = {k: v for k, v in row.items() if k != last.name or len(contract.features) == 1}
    if first.type == "category":
        bad[first.name] = "not-one-of-the-categories"
    elif first.type == "bool":
        bad[first.name] = "maybe"
    elif first.minimum is not None:
        bad[first.name] = first.minimum - 1
    elif first.maximum is not None:
        bad[first.name] = first.maximum + 1
    else:
        bad[first.name] = "not a number"
    return bad


def run(model: Path, sha256: str, rows: list[dict[str, Any]], log: Path, bad: dict[str, Any]) -> None:
    """Serve `model`, send `rows` (valid) plus the invalid `bad`, stop; raise if anything misbehaves.

    The server's own log goes to `log`.
    """
    port, admin_port = _free_ports()
    base, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    cmd = [str(Path(sys.executable).parent / "rollgate"), "serve", "--model", str(model), "--sha256", sha256]
    with log.open("wb") as sink:
        ports = ["--port", str(port), "--admin-port", str(admin_port)]
        proc = subprocess.Popen([*cmd, *ports], stdout=sink, stderr=subprocess.STDOUT)
    try:
        took = _wait_ready(admin, proc)
        print(f"  3. rollgate serve on {base}, admin port {admin_port} (ready in {took:.1f} s)")
        calls = [
            ("POST /v1/predict (1 row)", "/v1/predict", {"instances": rows[:1]}),
            (f"POST /v1/predict ({len(rows)} rows)", "/v1/predict", {"instances": rows}),
            ("POST /invocations (MLflow)", "/invocations", {"dataframe_records": rows[:1]}),
            ("POST /v1/predict (invalid)", "/v1/predict", {"instances": [bad]}),
        ]
        answers = [(name, *_call(base + path, body)) for name, path, body in calls]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    for name, status, answer in answers:
        _show(name, status, answer)
    expected = [200, 200, 200, 422]
    if [status for _, status, _ in answers] != expected or code != 0:
        got = [status for _, status, _ in answers]
        raise RollgateError(f"serving smoke run: statuses {got} (want {expected}), exit {code}; see {log}")
    print(f"       SIGTERM -> exited {code} (readiness off, in-flight requests finished; log: {log})")
