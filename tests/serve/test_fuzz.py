"""schemathesis fuzzes every operation of /openapi.json (from the admin port) against the scoring port: never a 5xx."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.serve.conftest import BIN, Server

pytestmark = pytest.mark.serve


def test_openapi_fuzz_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    cmd = [
        str(BIN / "schemathesis"), "run", f"http://127.0.0.1:{server.admin_port}/openapi.json",
        "--url", f"http://127.0.0.1:{server.port}",
        "--checks", "not_a_server_error", "--max-examples", "50", "--generation-deterministic",
        "--no-color", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert server.proc.poll() is None
    assert "generated" in done.stdout and "Schema Error" not in done.stdout, done.stdout[-3000:]
