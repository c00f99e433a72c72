"""The example generator: each weekly batch is a pure function of (week, seed, shift), passes the data
contract, and has a plausible label rate driven by a known fraud probability."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.data import example
from rollgate.data.example.generate import (
    SHIFTS,
    GenerateOptions,
    Shift,
    fraud_probability,
    generate,
    generate_week,
    transaction_id,
    week_start,
)
from rollgate.data.example.schema import Transactions

pytestmark = [pytest.mark.unit, pytest.mark.example]  # the shipped example's columns

ROWS = 1_000


@pytest.fixture(scope="module")
def default_weeks() -> pd.DataFrame:
    """The twelve default weeks, concatenated (about 0.3 s)."""
    return pd.concat(generate(GenerateOptions()).values(), ignore_index=True)


def _rate(options: GenerateOptions) -> float:
    return float(pd.concat(generate(options).values())["is_fraud"].mean())


# --- determinism ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", SHIFTS)
def test_a_week_is_a_pure_function_of_its_arguments(shift: Shift) -> None:
    pd.testing.assert_frame_equal(
        generate_week(3, seed=7, shift=shift, rows=ROWS), generate_week(3, seed=7, shift=shift, rows=ROWS)
    )


@pytest.mark.parametrize(
    ("other_seed", "other_week"),
    [(1, 0), (0, 1)],
    ids=["seed", "week"],
)
def test_weeks_differ_across_seeds_and_weeks(other_seed: int, other_week: int) -> None:
    base = generate_week(0, seed=0, rows=ROWS)
    other = generate_week(other_week, seed=other_seed, rows=ROWS)

    assert not np.array_equal(base["amount"].to_numpy(), other["amount"].to_numpy())


def test_generate_names_batches_by_their_monday() -> None:
    batches = generate(GenerateOptions(weeks=3, start_week=2, rows_per_week=10))

    assert list(batches) == ["2026-01-19.parquet", "2026-01-26.parquet", "2026-02-02.parquet"]
    pd.testing.assert_frame_equal(batches["2026-01-26.parquet"], generate_week(3, rows=10))


# --- shape of the data ------------------------------------------------------------------------------


def test_ids_are_unique_across_weeks() -> None:
    ids = pd.concat([generate_week(w, rows=ROWS)["transaction_id"] for w in range(4)])

    assert ids.is_unique
    assert all(re.fullmatch(r"tx-\d{4}-\d{5}", i) for i in ids)


@pytest.mark.parametrize(
    ("week", "row", "expected"),
    [
        (0, 0, "tx-0000-00000"),
        (3, 99_999, "tx-0003-99999"),
        (3, 100_000, "tx-0003-100000"),  # `--rows-per-week 900000` reaches six digits
        (3, 899_999, "tx-0003-899999"),
        (3, 12_345_678, "tx-0003-12345678"),
        (9_999, 1, "tx-9999-00001"),
        (10_000, 1, "tx-10000-00001"),
    ],
)
def test_the_schema_accepts_every_id_the_generator_writes(week: int, row: int, expected: str) -> None:
    ids = pd.DataFrame({"transaction_id": [transaction_id(week, row)]})

    assert ids["transaction_id"].iloc[0] == expected  # the widths of the shipped data, unchanged below the limits
    Transactions.to_schema().columns["transaction_id"].validate(ids)


def test_a_week_of_more_than_99999_rows_passes_the_schema() -> None:
    frame = generate_week(0, rows=100_001)  # about 0.2 s

    assert frame["transaction_id"].iloc[-1] == "tx-0000-100000"
    Transactions.validate(frame)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"start_week": -1}, "--start-week -1: give at least 0"),
        ({"weeks": 0}, "--weeks 0: give at least 1"),
        ({"rows_per_week": 0}, "--rows-per-week 0: give at least 1"),
    ],
)
def test_generate_refuses_what_would_write_bad_batches(tmp_path: Path, option: dict[str, int], message: str) -> None:
    given: dict[str, int | None] = {"weeks": 1, "start_week": 0, "rows_per_week": 10, **option}
    with pytest.raises(RollgateError, match=re.escape(message)):
        example.write_batches(tmp_path, tmp_path, shift="none", seed=0, **given)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("week", [0, 5, 51])
def test_timestamps_are_sorted_and_within_the_week(week: int) -> None:
    stamps = generate_week(week, rows=ROWS)["timestamp"]

    assert stamps.is_monotonic_increasing
    assert stamps.min() >= pd.Timestamp(week_start(week))
    assert stamps.max() < pd.Timestamp(week_start(week + 1))


@pytest.mark.parametrize("shift", SHIFTS)
def test_every_shift_passes_the_row_level_schema(shift: Shift) -> None:
    frame = generate_week(1, shift=shift, rows=2_000)

    Transactions.validate(frame)


# --- labels -----------------------------------------------------------------------------------------


def test_label_rate_over_the_default_weeks_is_plausible(default_weeks: pd.DataFrame) -> None:
    assert 0.008 <= default_weeks["is_fraud"].mean() <= 0.02


def test_fraud_probability_is_a_probability(default_weeks: pd.DataFrame) -> None:
    p = fraud_probability(default_weeks)

    assert p.shape == (len(default_weeks),)
    assert ((p > 0.0) & (p < 1.0)).all()


def test_fraud_probability_tracks_the_labels(default_weeks: pd.DataFrame) -> None:
    p = fraud_probability(default_weeks)
    positive = default_weeks["is_fraud"].to_numpy() == 1

    assert p[positive].mean() > 3 * p[~positive].mean()


def test_fraud_wave_raises_the_label_rate() -> None:
    calm = _rate(GenerateOptions(weeks=4))
    wave = _rate(GenerateOptions(weeks=4, shift="fraud_wave"))

    assert wave > 1.5 * calm


@pytest.mark.parametrize(
    ("shift", "statistic"),
    [
        ("amount_inflation", lambda df: df["amount"].median()),
        ("online_surge", lambda df: (df["channel"] != "in_store").mean()),
    ],
)
def test_feature_shifts_move_their_feature(shift: Shift, statistic: Callable[[pd.DataFrame], float]) -> None:
    calm = pd.concat(generate(GenerateOptions(weeks=2)).values())
    shifted = pd.concat(generate(GenerateOptions(weeks=2, shift=shift)).values())

    assert statistic(shifted) > 1.15 * statistic(calm)
