"""`make repro` (`rollgate repro`) in a real project: DVC's refusal reaches the user with the file it
names and what to do, a failing stage is reported with DVC's reason, and a refused run changes nothing."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from rollgate.contracts import paths
from tests.helpers import BIN, ROOT, Project, state

pytestmark = pytest.mark.integration

MODEL = str(paths.MODEL_ARTIFACT)


def _make_repro(project: Project) -> subprocess.CompletedProcess[str]:
    """The Makefile's own `repro` recipe in the project, with this checkout's tools (`install` skipped)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return project.run("make", "-s", "-f", str(ROOT / "Makefile"), "-o", "install", "repro", f"BIN={BIN}", check=False)


def test_a_hand_edited_output_is_named_with_the_remedy(reproduced: Project) -> None:
    model = reproduced.path / MODEL
    before = state(reproduced)  # dvc.lock, the DVC cache, the MLflow store
    model.unlink()  # DVC outputs may be read-only links into the cache
    model.write_bytes(b"edited by hand")
    try:
        done = _make_repro(reproduced)
        assert done.returncode != 0
        assert "Can't remove the following unsaved files" in done.stderr, done.stderr  # DVC's own words
        assert f"{MODEL} changed by hand" in done.stderr
        assert f"run `dvc checkout --force {MODEL}`" in done.stderr and "`make repro` again" in done.stderr
        assert "Traceback" not in done.stderr
        assert state(reproduced) == before
        assert model.read_bytes() == b"edited by hand"  # the user's change is theirs to keep or drop
    finally:
        reproduced.dvc("checkout", "-q", "--force", MODEL)  # the remedy the message names
    again = _make_repro(reproduced)
    assert again.returncode == 0, again.stderr
    assert state(reproduced) == before


def test_a_failing_stage_is_reported_with_dvcs_reason(reproduced: Project) -> None:
    params = reproduced.path / paths.PARAMS
    saved = params.read_bytes()
    raw = yaml.safe_load(saved)
    raw["train"]["no_such_knob"] = 1
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        before = state(reproduced)
        done = _make_repro(reproduced)
        assert done.returncode != 0
        assert "no_such_knob" in done.stderr  # the stage's own error, shown as it ran
        assert "`dvc repro --single-item dvc.yaml` failed (failed to reproduce 'train'" in done.stderr, done.stderr
        assert "then `make repro`" in done.stderr
        assert state(reproduced) == before
    finally:
        params.write_bytes(saved)
