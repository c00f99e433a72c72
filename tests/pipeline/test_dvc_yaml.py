"""dvc.yaml agrees with the code: each stage lists exactly the rollgate modules it imports — the dataset
package `src/rollgate/data` as one folder, so an adopter's schema (and any module it adds there) is covered
without editing dvc.yaml — and its outputs are the paths the contracts module names."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import grimp
import pytest
import yaml

from rollgate.contracts import paths
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = ["validate", "prepare", "train", "evaluate", "gate"]
DATA = "src/rollgate/data"


def _stage(name: str) -> dict[str, Any]:
    """A stage's definition; the gate's is the `do` of its per-environment `foreach`."""
    stage = PIPELINE["stages"][name]
    return stage["do"] if "foreach" in stage else stage


def _module_file(module: str) -> str:
    rel = PurePosixPath("src", *module.split("."))
    return str(rel / "__init__.py") if (ROOT / rel).is_dir() else f"{rel}.py"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("rollgate")


def test_stages_in_order() -> None:
    assert list(PIPELINE["stages"]) == STAGES
    for name in STAGES[:-1]:
        assert PIPELINE["stages"][name]["cmd"] == f"rollgate {name}"
    assert _stage("gate")["cmd"] == "rollgate gate --env ${item}"


def test_one_gate_per_configured_environment() -> None:
    """The gate's foreach lists exactly the environments of configs/deploy/ (an adopter adding one must
    add it there too: this says so)."""
    assert PIPELINE["stages"]["gate"]["foreach"] == paths.environments(ROOT)


@pytest.mark.parametrize("stage", STAGES)
def test_code_deps_are_exactly_the_imported_modules(graph: grimp.ImportGraph, stage: str) -> None:
    module = f"rollgate.pipeline.{stage}"
    imported = {m for m in graph.find_upstream_modules(module) if m.startswith("rollgate.")} | {module}
    expected = {_module_file(m) for m in imported if not m.endswith("__init__")}
    expected -= {_module_file(m) for m in imported if (ROOT / "src" / m.replace(".", "/")).is_dir()}
    if any(e.startswith(f"{DATA}/") for e in expected):
        expected = {e for e in expected if not e.startswith(f"{DATA}/")} | {DATA}
    declared = {d for d in _stage(stage)["deps"] if d.endswith(".py") or d == DATA}
    assert declared == expected


def test_the_dataset_folder_dep_ignores_bytecode() -> None:
    ignored = (ROOT / ".dvcignore").read_text().split()
    assert "__pycache__/" in ignored and "*.pyc" in ignored


def _outs(stage: str) -> set[str]:
    entries = _stage(stage).get("outs", []) + _stage(stage).get("metrics", [])
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries}


def test_outputs_are_the_contract_paths() -> None:
    assert _outs("validate") == {str(paths.VALIDATE_METRICS)}
    assert _outs("prepare") == {str(paths.PREPARED_DIR)}
    assert _outs("train") == {str(paths.MODEL_ARTIFACT), str(paths.MODEL_METADATA)}
    assert _outs("evaluate") == {
        str(p)
        for p in (
            paths.EVALUATE_METRICS,
            paths.SEGMENT_METRICS,
            paths.PLOT_ROC,
            paths.PLOT_PR,
            paths.PLOT_CALIBRATION,
            paths.PLOT_CONFUSION,
            paths.BASELINE,
        )
    }
    assert _outs("gate") == {str(paths.gate_verdict("${item}"))}
    assert str(paths.VALIDATION_REPORT) not in str(PIPELINE), "the failure report must not be a DVC output"


def test_top_level_metrics_and_plots() -> None:
    assert set(PIPELINE["metrics"]) == {
        str(paths.VALIDATE_METRICS),
        str(paths.EVALUATE_METRICS),
        str(paths.SEGMENT_METRICS),
    }  # the gates' verdicts are metrics of their stages
    plotted = {next(iter(p)) for p in PIPELINE["plots"]}
    assert plotted == {str(p) for p in (paths.PLOT_ROC, paths.PLOT_PR, paths.PLOT_CALIBRATION, paths.PLOT_CONFUSION)}


def test_gate_depends_on_the_champion_record() -> None:
    """The champion is an input: DVC re-runs the gate when the release record changes, and only then."""
    assert str(paths.release_record("${item}")) in _stage("gate")["deps"]


def test_the_gate_is_never_replayed_from_the_run_cache() -> None:
    """Withdrawn digests come from git history, not from a DVC dependency: a persistent output keeps
    DVC from saving or restoring run-cache entries for the gate, so it always judges afresh."""
    (entry,) = _stage("gate")["metrics"]
    assert entry[str(paths.gate_verdict("${item}"))]["persist"] is True
