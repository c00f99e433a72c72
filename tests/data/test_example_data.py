"""The committed example data: regenerating it reproduces data.dvc, and it passes its own contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgate.adapters.dvc import dir_md5 as dvc_dir_md5
from rollgate.adapters.dvc import recorded_md5_of as recorded_md5
from rollgate.data.example import generate
from rollgate.data.example.generate import GenerateOptions
from tests.helpers import ROOT

pytestmark = [pytest.mark.data, pytest.mark.example]  # the shipped example's columns


def test_regenerating_with_the_same_seed_reproduces_data_dvc(tmp_path: Path) -> None:
    out = tmp_path / "data"
    generate.write(out / "transactions", GenerateOptions())
    assert dvc_dir_md5(out) == recorded_md5(ROOT / "data.dvc")


def test_other_seed_or_shift_changes_the_data(tmp_path: Path) -> None:
    a = generate.write(tmp_path / "a", GenerateOptions(seed=1, weeks=1))[0].read_bytes()
    b = generate.write(tmp_path / "b", GenerateOptions(seed=0, weeks=1, shift="amount_inflation"))[0]
    c = generate.write(tmp_path / "c", GenerateOptions(seed=0, weeks=1))[0].read_bytes()
    assert len({a, b.read_bytes(), c}) == 3


def test_further_weeks_append_without_touching_earlier_ones(tmp_path: Path) -> None:
    first = generate.write(tmp_path / "d", GenerateOptions(weeks=2))
    before = [p.read_bytes() for p in first]
    more = generate.write(tmp_path / "d", GenerateOptions(weeks=1, start_week=2))
    assert [p.read_bytes() for p in first] == before
    assert more[0].name == "2026-01-19.parquet"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [p.name for p in [*first, *more]]
