"""The template as committed: a fresh clone works offline from the embedded DVC remote, and its
dvc.lock matches its code, params and data (a no-op `dvc repro` on main runs nothing).

This checks HEAD, as CI does: commit before expecting local changes to count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rollgate.contracts import model_metadata, paths, release
from rollgate.data.schema import DATASET
from rollgate.manifests import deploy_config as config
from tests.helpers import BIN, ROOT, Project, tool_env

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
    assert list((clone.path / DATASET.batches).glob("*.parquet")), f"{DATASET.batches} has no batches"
    assert (clone.path / "models/model.skops").is_file()


def test_committed_lock_is_up_to_date(clone: Project) -> None:
    clone.dvc("pull", "-q")
    assert clone.dvc("status", "--json").stdout.strip() == "{}"
    done = clone.dvc("repro", "--single-item", "dvc.yaml")
    assert "Running stage" not in done.stdout
    assert clone.git("status", "--porcelain").stdout == ""


@pytest.mark.example  # an adopted template starts from no model (`rollgate adopt`)
@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_environment_ships_the_example_champion(clone: Project, env: str) -> None:
    """main pins the model its dvc.lock produces, in every environment, and that model's bytes are
    in the shipped DVC remote (a fresh clone can serve exactly what the manifests pin)."""
    assert env in config.environments(clone.path)
    clone.dvc("pull", "-q")
    pinned = release.read(clone.path / paths.release_record(env))
    assert pinned is not None, f"manifests/{env} pins no model"
    assert pinned.model.sha256 == model_metadata.read(clone.path / paths.MODEL_METADATA).sha256
    cached = clone.path / "dvc-remote/files/md5" / pinned.model.dvc_md5[:2] / pinned.model.dvc_md5[2:]
    assert cached.is_file(), f"{cached} is not in the shipped remote"
    rendered = {p.name for p in (clone.path / "manifests" / env).iterdir()}
    assert {"kustomization.yaml", "release.json", f"{pinned.model.name}-rollout.yaml"} <= rendered


@pytest.mark.requires_schemas
def test_shipped_manifests_pass_check_manifests(clone: Project, schemas: Path) -> None:
    done = clone.rollgate("check-manifests", "--schemas", str(schemas))
    assert "current" in done.stdout and "valid" in done.stdout, done.stdout


@pytest.mark.example  # an adopter's history is anchored by `rollgate adopt`
def test_main_since_its_trust_anchor_passes_check_changes(clone: Project) -> None:
    """Every change to manifests/<env>/ since main's trust anchor is allowed (the example's history was
    re-anchored with `rollgate re-anchor`, docs/delivery.md)."""
    for env in config.environments(clone.path):
        anchored = clone.git("log", "--first-parent", "--format=%H", "-1", "--", f"deploy-state/{env}/adopted.json")
        assert anchored.stdout.strip(), f"main has no trust anchor for {env}: run `rollgate re-anchor`"
        done = clone.rollgate("check-changes", "--base", f"{anchored.stdout.strip()}~1", check=False)
        assert done.returncode == 0, done.stderr


def test_make_help_lists_the_targets() -> None:
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    for target in (
        "demo",
        "test",
        "test-fast",
        "repro",
        "ui",
        "lint",
        "types",
        "lock",
        "manifests",
        "promote",
        "rollback",
        "check-changes",
    ):
        assert f" {target} " in done.stdout, done.stdout


def test_cli_entry_points_agree() -> None:
    for cmd in ([str(BIN / "rollgate"), "--help"], [str(BIN / "python"), "-m", "rollgate", "--help"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(ROOT))
        assert "validate" in done.stdout and "data" in done.stdout
