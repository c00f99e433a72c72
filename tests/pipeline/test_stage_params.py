"""Each DVC stage declares exactly the params keys it reads: every stage runs in-process on a tiny
project with `params.load` returning a recorder of the attributes the stage (and the core it calls)
reads, and the recorded keys must be what dvc.yaml declares — nothing read undeclared (a change DVC
would not re-run for), nothing declared unread (a change that re-runs for nothing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from rollgate import params as params_
from rollgate.pipeline import evaluate, gate, prepare, train, validate
from tests.helpers import ROOT, Project, copy_project, reproduce

pytestmark = pytest.mark.integration

PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())
RUNS: dict[str, Callable[[Path], Any]] = {
    "validate": validate.run,
    "prepare": prepare.run,
    "train": train.run,  # tracked: the MLflow experiment's name is a params key too
    "evaluate": evaluate.run,
    "gate": lambda root: gate.run(root, "prod"),
}


def _key(model: BaseModel, name: str) -> str:
    field = type(model).model_fields[name]
    return field.alias or name


def _leaves(model: BaseModel, prefix: str) -> set[str]:
    out: set[str] = set()
    for name in type(model).model_fields:
        value, key = getattr(model, name), f"{prefix}{_key(model, name)}"
        out |= _leaves(value, f"{key}.") if isinstance(value, BaseModel) else {key}
    return out


class Recorder:
    """Stands in for a params section and records the dotted key of every field read through it; a
    method of the section (`model_dump`, ...) reads every field below it."""

    def __init__(self, model: BaseModel, prefix: str, seen: set[str]) -> None:
        self._model, self._prefix, self._seen = model, prefix, seen

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._model, name)
        if name not in type(self._model).model_fields:
            self._seen |= _leaves(self._model, self._prefix)
            return value
        key = f"{self._prefix}{_key(self._model, name)}"
        if isinstance(value, BaseModel):
            return Recorder(value, f"{key}.", self._seen)
        self._seen.add(key)
        return value


def _covered(key: str, declared: list[str]) -> bool:
    return any(key == d or key.startswith(f"{d}.") for d in declared)


@pytest.fixture(scope="module")
def workspace(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return reproduce(copy_project(seed_project, tmp_path_factory.mktemp("params")))


@pytest.mark.parametrize("stage", list(RUNS))
def test_each_stage_reads_exactly_the_params_it_declares(
    stage: str, workspace: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[str] = set()
    real = params_.load

    def recording(path: Path, columns: Any = None) -> Any:
        return Recorder(real(path, columns), "", seen)

    monkeypatch.setattr(params_, "load", recording)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", workspace.env["MLFLOW_TRACKING_URI"])
    RUNS[stage](workspace.path)
    definition = PIPELINE["stages"][stage]
    declared = definition.get("do", definition)["params"]  # the gate's: its per-environment `do`
    assert seen, f"{stage} read no params at all"
    assert sorted(k for k in seen if not _covered(k, declared)) == [], f"{stage} reads params dvc.yaml does not declare"
    assert [d for d in declared if not any(_covered(k, [d]) for k in seen)] == [], (
        f"{stage} declares params it never reads"
    )


def test_the_recorder_sees_nested_reads_and_methods() -> None:
    seen: set[str] = set()
    params = Recorder(params_.load(ROOT / "params.yaml"), "", seen)
    assert params.gate.segments.min_size >= 10
    assert params.validate_.max_examples >= 1
    params.shared.model_dump()
    assert seen == {"gate.segments.min_size", "validate.max_examples", "shared.seed", "shared.model_name"}
