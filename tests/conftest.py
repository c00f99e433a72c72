"""Fixtures only (helpers live in `tests/helpers.py`): tiny real projects, copied from one seed per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rollgate.data import example
from tests.helpers import ROOT, Project, copy_project, make_project, reproduce

# The throwaway OpenPGP keys' fixtures (`made`, `key`), for every test of promotion-commit signatures.
pytest_plugins = ["tests.gpg_keys"]

KINDS = ("unit", "data", "model", "integration", "serve")


@pytest.fixture(scope="session")
def seed_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project, built once per session (per xdist worker): never change it, copy it."""
    return make_project(tmp_path_factory.mktemp("seed"))


@pytest.fixture
def project(seed_project: Project, tmp_path: Path) -> Project:
    """A fresh copy of the seed project for one test."""
    return copy_project(seed_project, tmp_path)


@pytest.fixture(scope="session")
def reproduced_seed(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The seed with its pipeline run once and committed, once per session (per xdist worker): never
    change it, copy it."""
    return reproduce(copy_project(seed_project, tmp_path_factory.mktemp("reproduced-seed")))


@pytest.fixture(scope="module")
def reproduced(reproduced_seed: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the reproduced seed (its own work tree, cache, origin, remote and MLflow store), shared by
    a module's tests."""
    return copy_project(reproduced_seed, tmp_path_factory.mktemp("reproduced"))


@pytest.fixture(scope="session")
def promoted_prod(reproduced_seed: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the reproduced seed whose model was promoted to prod (pushed to its origin), built once
    per worker for the modules of the "promoted" group: never change it, copy or clone it."""
    project = copy_project(reproduced_seed, tmp_path_factory.mktemp("promoted"))
    project.rollgate("promote", "--env", "prod")
    return project


@pytest.fixture(scope="session")
def schemas() -> Path:
    """The strict JSON Schemas of the custom resources: `../shared/schemas` beside the checkout, else the
    `.schemas/` that `make schemas` writes. Missing, a `requires_schemas` test skips on a developer's
    machine and fails under `make test` (ROLLGATE_REQUIRE_SCHEMAS=1) and in CI."""
    for candidate in (ROOT.parent / "shared" / "schemas", ROOT / ".schemas"):
        if candidate.is_dir() and any(candidate.glob("*/*.json")):
            return candidate
    why = "no strict schemas: ../shared/schemas is not beside the checkout and `make schemas` has not run"
    if os.environ.get("ROLLGATE_REQUIRE_SCHEMAS") or os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


# Each module runs on one xdist worker (its module fixtures are built once); so do the modules that
# share the session's delivery story, and the load-sensitive server tests (never beside each other).
STORY = ("test_model_store.py", "test_preview.py", "test_promote.py", "test_rollback.py", "test_trust.py")
PROMOTED = ("tests/ci/test_classify.py", "tests/ci/test_aborted.py", "tests/workflows/test_rollback.py",
            "tests/ci/test_monitor_pr.py", "tests/workflows/test_monitor.py")  # fmt: skip
GROUPS = (
    {f"tests/delivery/{name}": "story" for name in STORY}
    | dict.fromkeys(PROMOTED, "promoted")  # they share `promoted_prod`
    | {"tests/serve/test_load.py": "serial"}
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class Shared(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            group = next((g for prefix, g in GROUPS.items() if nodeid.startswith(prefix)), None)
            return group or str(super()._split_scope(nodeid))

    return Shared(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test says what kind it is; one without a kind marker is a collection error."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(k) for k in KINDS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a kind marker ({', '.join(KINDS)}): {', '.join(unmarked[:10])}")
    unwired = [
        item.nodeid
        for item in items
        if item.get_closest_marker("requires_schemas") and "schemas" not in getattr(item, "fixturenames", ())
    ]
    if unwired:
        raise pytest.UsageError(f"requires_schemas tests must use the `schemas` fixture: {', '.join(unwired[:10])}")
    if not example.is_active():
        skip = pytest.mark.skip(reason="tests the shipped example; the active dataset is another (data/schema.py)")
        for item in items:
            if item.get_closest_marker("example"):
                item.add_marker(skip)
