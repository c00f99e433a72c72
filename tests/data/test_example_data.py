"""The committed example data: regenerating it reproduces data.dvc, and it passes its own contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgate.data.generate import GenerateOptions
from rollgate.pipeline import generate
from rollgate.pipeline.dataset import dvc_dir_md5, recorded_md5
from tests.conftest import ROOT

pytestmark = pytest.mark.data


def test_regenerating_with_the_same_seed_reproduces_data_dvc(tmp_path: Path) -> None:
    out = tmp_path / "data"
    generate.run(tmp_path, GenerateOptions(), out / "transactions")
    assert dvc_dir_md5(out) == recorded_md5(ROOT / "data.dvc")


def test_other_seed_or_shift_changes_the_data(tmp_path: Path) -> None:
    a = generate.run(tmp_path, GenerateOptions(seed=1, weeks=1), tmp_path / "a")[0].read_bytes()
    b = generate.run(tmp_path, GenerateOptions(seed=0, weeks=1, shift="amount_inflation"), tmp_path / "b")[0]
    c = generate.run(tmp_path, GenerateOptions(seed=0, weeks=1), tmp_path / "c")[0].read_bytes()
    assert len({a, b.read_bytes(), c}) == 3


def test_further_weeks_append_without_touching_earlier_ones(tmp_path: Path) -> None:
    first = generate.run(tmp_path, GenerateOptions(weeks=2), tmp_path / "d")
    before = [p.read_bytes() for p in first]
    more = generate.run(tmp_path, GenerateOptions(weeks=1, start_week=2), tmp_path / "d")
    assert [p.read_bytes() for p in first] == before
    assert more[0].name == "2026-01-19.parquet"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [p.name for p in [*first, *more]]
