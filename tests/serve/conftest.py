"""A tiny trained model on disk and real `rollgate serve` processes on free loopback ports."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.tiny_model import TinyModel, train_tiny

BIN = Path(sys.executable).parent
ROOT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return train_tiny(tmp_path_factory, iterations=20)


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """Thousands of deep trees: each estimator call takes long enough for requests to pile up behind it."""
    return train_tiny(tmp_path_factory, iterations=2000, leaves=127)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports (held open together while chosen, so never the same one twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    admin_port: int
    log: Path
    connections: list[http.client.HTTPConnection] = field(default_factory=list)

    def request(  # noqa: PLR0917
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        admin: bool = False,
        port: int | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection (to the admin port with `admin`, to `port` when given):
        (status, lower-cased headers, body)."""
        port = port if port is not None else self.admin_port if admin else self.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"content-type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers={**sent, **(headers or {})})
        answer = conn.getresponse()
        out = answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        conn.close()
        return out

    def json(self, method: str, path: str, body: Any = None, admin: bool = False) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, admin=admin)
        return status, json.loads(data)

    def metrics(self, headers: dict[str, str] | None = None) -> dict[str, float]:
        """Every sample of the admin port's /metrics: 'name{labels}' -> value (`headers`: e.g. an API key)."""
        status, _, data = self.request("GET", "/metrics", headers=headers, admin=True)
        assert status == 200, data
        lines = [line for line in data.decode().splitlines() if line and not line.startswith("#")]
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self._log()}")
            try:
                if self.request("GET", "/readyz", admin=True)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server not ready in {timeout} s:\n{self._log()}")
            time.sleep(0.1)

    def _log(self) -> str:
        return self.log.read_text() if self.log.is_file() else ""

    def refusal(self, timeout: float = 60) -> str:
        """The output of a server that must exit non-zero on its own: one clear message, no traceback."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running after {timeout} s:\n{self._log()}") from None
        out = self._log()
        assert code != 0, f"exited {code}, expected a refusal:\n{out}"
        assert "Traceback" not in out, f"a refusal should be one clear line, not a traceback:\n{out}"
        return out

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def start_server(model: TinyModel, tmp: Path, *args: str, wait: bool = True) -> Server:
    port, admin_port = free_ports(2)
    log = tmp / f"server-{port}.log"
    cmd = [str(BIN / "rollgate"), "serve", "--model", str(model.path), "--sha256", model.sha256]
    cmd += ["--port", str(port), "--admin-port", str(admin_port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen([*cmd, *args], stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    server = Server(proc, port, admin_port, log)
    if wait:
        server.wait_ready()
    return server


@pytest.fixture(scope="module")
def server(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tiny_model, tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


def write_keys(path: Path, keys: dict[str, tuple[str, list[str]]]) -> Path:
    """An API key file at `path`: key id -> (the plain key, its scopes), stored as sha256 hashes."""
    entries = [
        {"id": key_id, "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": scopes}
        for key_id, (key, scopes) in keys.items()
    ]
    path.write_text(json.dumps({"keys": entries}))
    return path
