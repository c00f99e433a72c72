"""MLServer, the strongest peer: its scikit-learn runtime with adaptive batching, in its own virtualenv.

MLServer's dependencies conflict with ours, so it lives in a virtualenv cached outside the repository,
keyed by MLServer's and scikit-learn's versions (the pickled model needs the same scikit-learn and
numpy), made on first use. Inference runs in the HTTP process (`parallel_workers: 0`) when the others
run one worker; with N workers it gets an inference pool of N processes, its nearest equivalent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.serve.bodies import MLSERVER_MODEL
from benchmarks.serve.servers import Launch, free_port

VERSION = "1.7.1"
# The batching that measured best for single-row load here (FACTS.md: 820 req/s).
MAX_BATCH_SIZE, MAX_BATCH_TIME = 64, 0.002


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rollgate" / "bench"


def virtualenv(sklearn: str, numpy: str) -> Path:
    """MLServer's virtualenv for these versions, created on first use (a half-made or older one is redone)."""
    root = cache_dir() / f"mlserver-{VERSION}-sklearn-{sklearn}-numpy-{numpy}"
    # uvloop 0.22 raises in asyncio.get_event_loop(), which MLServer 1.7.1's inference-pool workers call.
    pins = [f"mlserver=={VERSION}", f"mlserver-sklearn=={VERSION}", f"scikit-learn=={sklearn}", f"numpy=={numpy}",
            "uvloop<0.22"]  # fmt: skip
    done = root / ".complete"
    if done.exists() and done.read_text().split() == pins:
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"MLServer {VERSION}: creating its virtualenv in {root} (first use, about a minute)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    cmd = [str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins]
    done_pip = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done_pip.returncode != 0:
        tail = "\n".join((done_pip.stdout + done_pip.stderr).splitlines()[-20:])
        raise SystemExit(f"could not install MLServer {VERSION} into {root}:\n{tail}")
    done.write_text(" ".join(pins) + "\n")
    return root


def launch(model: Any, folder: Path, workers: int) -> Launch:
    """Export `model` with joblib into `folder` with MLServer's settings, and say how to start it."""
    import joblib  # type: ignore[import-untyped]
    import numpy
    import sklearn

    venv = virtualenv(sklearn.__version__, numpy.__version__)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    port = free_port()
    settings = {"host": "127.0.0.1", "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
                "parallel_workers": 0 if workers == 1 else workers, "debug": False}  # fmt: skip
    model_settings = {
        "name": MLSERVER_MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "max_batch_size": MAX_BATCH_SIZE,
        "max_batch_time": MAX_BATCH_TIME,
        "parameters": {"uri": "./model.joblib"},
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "model-settings.json").write_text(json.dumps(model_settings))
    argv = [str(venv / "bin" / "mlserver"), "start", str(folder)]
    return Launch("mlserver", argv, port, f"/v2/models/{MLSERVER_MODEL}/ready", cwd=folder)
