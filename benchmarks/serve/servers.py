"""Starting and stopping the servers under test, one at a time, each in its own process group.

Every server gets OMP_NUM_THREADS=1 and a log file in the benchmark's folder; a server that exits or
is not ready in time stops the benchmark with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Launch:
    """One server process: its command, its scoring port, and where it says it is ready."""

    name: str
    argv: list[str]
    port: int
    ready_path: str
    # The admin port when the server has one (probes and metrics), else None: the scoring port serves them.
    admin_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    # SIGTERM to the whole process group, for a launcher that does not pass it on to its server (mlflow's).
    # Otherwise only the leader gets it, as a pod's PID 1 does.
    term_group: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def probe_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port or self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_admin_port(src: Path) -> bool:
    """Whether the rollgate source at `src` has `rollgate serve --admin-port` (the lead's change)."""
    cmd = [sys.executable, "-m", "rollgate", "serve", "--help"]
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    return "--admin-port" in subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def rollgate(src: Path, model: Path, sha256: str, workers: int) -> Launch:
    """`rollgate serve` from the source tree `src` (PYTHONPATH comes before the editable install)."""
    port, admin = free_port(), free_port() if has_admin_port(src) else None
    argv = [sys.executable, "-m", "rollgate", "serve", "--model", str(model), "--sha256", sha256,
            "--port", str(port), "--workers", str(workers)]  # fmt: skip
    if admin is not None:
        argv += ["--admin-port", str(admin)]
    return Launch("rollgate", argv, port, "/readyz", admin, env={"PYTHONPATH": str(src / "src")})


def mlflow(model: Any, folder: Path, workers: int) -> Launch:
    """`mlflow models serve` on `model` saved as an MLflow model (skops, our trusted types) in `folder`."""
    import mlflow.sklearn

    from rollgate.model import artifact

    mlflow.sklearn.save_model(
        model, str(folder), serialization_format="skops", skops_trusted_types=list(artifact.TRUSTED_TYPES)
    )
    port = free_port()
    argv = [str(BIN / "mlflow"), "models", "serve", "-m", str(folder), "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]  # fmt: skip
    return Launch("mlflow", argv, port, "/ping", term_group=True)


@contextlib.contextmanager
def running(launch: Launch, logs: Path) -> Iterator[Launch]:
    """Start `launch`, wait until it is ready, and stop its whole process group on the way out."""
    log = logs / f"{launch.name}.log"
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": path, **launch.env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            launch.argv, env=env, cwd=launch.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait(launch.probe_url + launch.ready_path, proc, log)
        yield launch
    finally:
        _stop(proc, launch.term_group)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready ({url}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, or an HTTP error status (not ready)
            time.sleep(0.3)
    raise SystemExit(f"server not ready after {timeout:.0f}s: {url}\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes], group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    try:
        proc.wait(60)
    finally:  # whatever is left of the group (workers of a leader that has exited, or all of a stuck one)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
