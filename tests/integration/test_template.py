"""The template as committed: a fresh clone works offline from the embedded DVC remote, and its
dvc.lock matches its code, params and data (a no-op `dvc repro` on main runs nothing).

This checks HEAD, as CI does: commit before expecting local changes to count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, Project, tool_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base = tmp_path_factory.mktemp("template")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(base / "clone")], check=True, capture_output=True)
    return Project(base / "clone", tool_env(base))


def test_fresh_clone_pulls_everything_from_the_embedded_remote(clone: Project) -> None:
    config = (clone.path / ".dvc/config").read_text()
    assert "url = ../dvc-remote" in config and (clone.path / "dvc-remote").is_dir()
    clone.dvc("pull", "-q")
    assert len(list((clone.path / "data/transactions").glob("*.parquet"))) == 12
    assert (clone.path / "models/model.skops").is_file()


def test_committed_lock_is_up_to_date(clone: Project) -> None:
    clone.dvc("pull", "-q")
    assert clone.dvc("status", "--json").stdout.strip() == "{}"
    done = clone.dvc("repro", "--single-item", "dvc.yaml")
    assert "Running stage" not in done.stdout
    assert clone.git("status", "--porcelain").stdout == ""


def test_make_help_lists_the_targets() -> None:
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    for target in ("demo", "test", "test-fast", "repro", "ui", "lint", "types", "lock"):
        assert f" {target} " in done.stdout, done.stdout


def test_cli_entry_points_agree() -> None:
    for cmd in ([str(BIN / "rollgate"), "--help"], [str(BIN / "python"), "-m", "rollgate", "--help"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(ROOT))
        assert "validate" in done.stdout and "data" in done.stdout
