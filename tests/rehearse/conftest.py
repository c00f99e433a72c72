"""Scenario fixtures: the rehearsal's tools present (or a skip, a failure under CI=true), and challengers
made from the trained model — real artifacts whose every score is shifted, or that score everything ~0."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from rollgate.contracts import model_metadata, paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.probe import probe_frame
from rollgate.model import artifact
from rollgate.rehearse import processes
from tests.helpers import BIN, ROOT

FAULTS = Path(__file__).parent / "faults"  # holds the test-only sitecustomize


def require(*tools: str) -> None:
    """Skip (with the rehearsal's own message: the Debian package, `make test-deps`) when one of `tools`
    is missing, as the rehearsal finds them; fail instead under CI=true."""
    for name in tools:
        try:
            processes.tool(name, name)
        except RollgateError as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(str(exc))
            pytest.skip(str(exc))


@pytest.fixture(scope="session")
def rehearsal_tools() -> None:
    require("nginx", "prometheus")


# The pipeline's outputs a rehearsal reads: the challenger, its threshold and the replayed holdout rows.
OUTPUTS = (paths.MODEL_ARTIFACT, paths.MODEL_METADATA, paths.EVALUATE_METRICS, paths.HOLDOUT_SET)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, rehearsal_tools: None) -> Path:
    """A clone of this repository's HEAD with the pipeline's outputs pulled from the embedded DVC remote
    (through this checkout's cache): what the rehearsals run on, on a fresh clone too, whatever the work
    tree holds, and never written into it."""
    dest = tmp_path_factory.mktemp("rehearse") / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    dvc = str(BIN / "dvc")
    subprocess.run([dvc, "cache", "dir", "--local", str(ROOT / ".dvc" / "cache")], cwd=dest, check=True)
    subprocess.run([dvc, "pull", "-q", *map(str, OUTPUTS)], cwd=dest, check=True)
    return dest


def faults(spec: str) -> dict[str, str]:
    """The canary env that switches a test-only fault on (tests/rehearse/faults/sitecustomize.py)."""
    return {"PYTHONPATH": str(FAULTS), "ROLLGATE_TEST_FAULTS": spec, "ROLLGATE_TESTING": "1"}


@dataclass(frozen=True)
class Challenger:
    path: Path
    sha256: str


def challenger(root: Path, folder: Path, shift: float) -> Challenger:
    """The trained model with `shift` added to its log-odds (the gradient boosting's baseline), saved as a
    real artifact with its metadata beside it."""
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes())
    changed = copy.deepcopy(model)
    estimator = changed[-1]
    estimator._baseline_prediction = estimator._baseline_prediction + shift
    data = artifact.dumps(changed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.skops"
    path.write_bytes(data)
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    probe = probe_frame(meta.features, 64)
    sha = hashlib.sha256(data).hexdigest()
    model_metadata.write(
        path.with_suffix(".json"),
        replace(
            meta,
            sha256=sha,
            size_bytes=len(data),
            prediction_fingerprint=artifact.prediction_fingerprint(changed, probe),
        ),
    )
    return Challenger(path, sha)
