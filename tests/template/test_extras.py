"""Each packaging extra installs what its part imports: the import graph of the part (every module it
reaches, lazy imports included) names no third-party distribution outside the base install and the extra."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions

import grimp
import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.unit

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PARTS = {
    "serve": ("rollgate.serve",),
    "pipeline": ("rollgate.pipeline", "rollgate.report"),
    "delivery": ("rollgate.delivery", "rollgate.manifests"),
    "rehearse": ("rollgate.rehearse",),
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("rollgate", include_external_packages=True)


def _imported(graph: grimp.ImportGraph, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level third-party module -> the distributions that provide it, for what `packages` reach."""
    reached = set(packages)
    for package in packages:
        reached |= graph.find_descendants(package)
    for module in list(reached):
        reached |= graph.find_upstream_modules(module)
    external = {m.split(".")[0] for m in reached if not m.startswith("rollgate")}
    owners = packages_distributions()
    return {top: {_name(d) for d in owners.get(top, [top])} for top in external - set(sys.stdlib_module_names)}


def test_every_part_is_listed() -> None:
    assert set(PARTS) <= set(PROJECT["optional-dependencies"])


@pytest.mark.parametrize("extra", list(PARTS))
def test_the_extra_installs_what_its_part_imports(graph: grimp.ImportGraph, extra: str) -> None:
    declared = {_name(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"][extra]}
    missing = sorted(top for top, owners in _imported(graph, PARTS[extra]).items() if not owners & declared)
    assert not missing, f"[{extra}] imports {missing}, which neither the base install nor the extra lists"


def test_the_server_stays_light(graph: grimp.ImportGraph) -> None:
    """`.[serve]` alone must run `rollgate serve`: no tracking, DVC, validation or templating."""
    assert not set(_imported(graph, PARTS["serve"])) & {"mlflow", "dvc", "pandera", "jinja2", "pydantic"}
