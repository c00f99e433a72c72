"""A tiny trained model on disk and real `rollgate serve` processes on free loopback ports."""

from __future__ import annotations

import contextlib
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

import pandas as pd
import pytest

from rollgate.contracts import model_metadata
from rollgate.contracts.features import FeatureContract
from rollgate.contracts.probe import probe_frame
from rollgate.data.schema import DATASET
from rollgate.model import artifact
from rollgate.model.build import build_pipeline
from tests import fixed_params

BIN = Path(sys.executable).parent
ROOT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TinyModel:
    path: Path
    sha256: str
    model: Any
    contract: FeatureContract

    def rows(self, n: int, offset: int = 0) -> list[dict[str, Any]]:
        """`n` valid rows as a client sends them (plain JSON types), distinct for distinct offsets."""
        frame = probe_frame(self.contract, n + offset).iloc[offset:]
        return json.loads(frame.to_json(orient="records"))

    def scores(self, rows: list[dict[str, Any]]) -> list[float]:
        frame = pd.DataFrame(rows)[self.contract.names]
        for spec in self.contract.features:
            if spec.type == "category":
                frame[spec.name] = frame[spec.name].astype("str")
        return [float(s) for s in self.model.predict_proba(frame)[:, 1]]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return _train(tmp_path_factory, iterations=20)


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """Thousands of deep trees: each estimator call takes long enough for requests to pile up behind it."""
    return _train(tmp_path_factory, iterations=2000, leaves=127)


def _train(tmp_path_factory: pytest.TempPathFactory, iterations: int, leaves: int = 31) -> TinyModel:
    contract = DATASET.features
    df = DATASET.sample(6_000, seed=3)
    params = fixed_params.train(
        hist_gradient_boosting={"max_iter": iterations, "max_leaf_nodes": leaves, "min_samples_leaf": 5}
    )
    model = build_pipeline(contract, params, seed=0).fit(df[contract.names], df[DATASET.label])
    data = artifact.dumps(model)
    sha = artifact.sha256_bytes(data)
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.skops").write_bytes(data)
    meta = model_metadata.ModelMetadata(
        name="fraud-detector", artifact="model.skops", sha256=sha, size_bytes=len(data), format="skops",
        trusted_types=artifact.TRUSTED_TYPES,
        prediction_fingerprint=artifact.prediction_fingerprint(model, probe_frame(contract, 64)),
        estimator="hist_gradient_boosting", params={"train": {"probe_rows": 64}}, params_hash="0" * 64,
        data_md5="0" * 32 + ".dir", train_rows=len(df), train_positives=int(df[DATASET.label].sum()),
        features=contract, versions={}, git=model_metadata.GitInfo(None, False),
    )  # fmt: skip
    model_metadata.write(folder / "model.json", meta)
    return TinyModel(folder / "model.skops", sha, model, contract)


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
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection (to the admin port with `admin`): (status, lower-cased headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port if admin else self.port, timeout=30)
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

    def metrics(self) -> dict[str, float]:
        """Every sample of the admin port's /metrics: 'name{labels}' -> value."""
        _, _, data = self.request("GET", "/metrics", admin=True)
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
