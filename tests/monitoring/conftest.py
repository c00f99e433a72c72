"""Fixtures of the monitor command's tests: a reference table of four weeks and current tables of two."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.monitoring import world

START = "2026-03-02"  # a Monday: the current rows make the ISO weeks 2026-W10 and 2026-W11


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reference.parquet (4 weeks, 4,000 rows), current.csv (i.i.d., 2 weeks, 2,000 rows) and
    shifted.parquet (f1 moved by half a standard deviation)."""
    folder = tmp_path_factory.mktemp("monitor")
    world.table(4000, "2026-01-05", days=28, seed=1).to_parquet(folder / "reference.parquet")
    world.table(2000, START, seed=2).to_csv(folder / "current.csv", index=False)
    world.table(2000, START, shift=0.5, seed=3).to_parquet(folder / "shifted.parquet")
    return folder
