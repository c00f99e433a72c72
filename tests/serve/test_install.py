"""`pip install .[serve]` in a clean virtualenv gives a working server without DVC, MLflow or Pandera."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from tests.serve.conftest import ROOT_DIR, Server, TinyModel, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.serve]


def test_serve_extra_alone_serves(tmp_path: Path, tiny_model: TinyModel) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{ROOT_DIR}[serve]"], check=True, timeout=600, capture_output=True)
    for absent in ("dvc", "mlflow", "pandera"):
        probe = subprocess.run([str(python), "-c", f"import {absent}"], capture_output=True, check=False)
        assert probe.returncode != 0, f"{absent} was installed by .[serve]"
    port, admin_port = free_ports(2)
    cmd = [str(env_dir / "bin" / "rollgate"), "serve", "--model", str(tiny_model.path), "--sha256", tiny_model.sha256]
    cmd += ["--port", str(port), "--admin-port", str(admin_port)]
    proc = subprocess.Popen(cmd, text=True, env={**os.environ, "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin"})
    server = Server(proc, port, admin_port, tmp_path / "unused.log")
    try:
        server.wait_ready()
        status, answer = server.json("POST", "/v1/predict", {"instances": tiny_model.rows(3)})
        assert status == 200
        assert [p["score"] for p in answer["predictions"]] == pytest.approx(tiny_model.scores(tiny_model.rows(3)))
    finally:
        assert server.stop() == 0
