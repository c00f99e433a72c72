"""Where the benchmark's weeks come from: a `World`, and the example generator as one.

A world hands out weeks of rows — the model's input columns, a 0/1 label column and, per row, the
time its label arrives — plus the training weeks the reference and the model are built from and a
labelled holdout. An adopter's backtest is another `World` over their own history (see `bench`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from rollgate.data.example import generate, labels
from rollgate.data.example.schema import CHANNELS, COUNTRIES, MERCHANT_CATEGORIES

LABEL, ARRIVES = "label", "label_available_at"


@dataclass(frozen=True)
class Week:
    """One week of rows: inputs, `label` (0/1) and `label_available_at`; `start` its Monday."""

    index: int
    start: pd.Timestamp
    frame: pd.DataFrame


class World(Protocol):
    @property
    def numeric(self) -> tuple[str, ...]: ...
    @property
    def categorical(self) -> tuple[str, ...]: ...
    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """Every category the model may meet, per categorical column."""

    @property
    def shifts(self) -> tuple[str, ...]:
        """The shifts it can simulate ("none" first)."""

    @property
    def maturity(self) -> timedelta:
        """A cohort's labels are trusted this long after its week ends."""

    def week(self, index: int, seed: int, shift: str = "none", rows: int | None = None) -> Week: ...


@dataclass(frozen=True)
class ExampleWorld:
    """The example's card transactions (`generate_week`) with chargeback delays (`label_arrivals`)."""

    numeric: tuple[str, ...] = (
        "amount", "card_present", "hour_of_day", "customer_age", "account_age_days", "txn_count_24h",
        "txn_count_7d", "avg_amount_30d", "distance_from_home_km",
    )  # fmt: skip
    categorical: tuple[str, ...] = ("merchant_category", "country", "channel")
    shifts: tuple[str, ...] = generate.SHIFTS
    maturity: timedelta = timedelta(days=labels.LEGIT_HORIZON_DAYS)
    rows: int = generate.ROWS_PER_WEEK

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        return {"merchant_category": MERCHANT_CATEGORIES, "country": COUNTRIES, "channel": CHANNELS}

    def week(self, index: int, seed: int, shift: str = "none", rows: int | None = None) -> Week:
        frame = generate.generate_week(index, seed=seed, shift=generate.SHIFTS[self.shifts.index(shift)],
                                       rows=rows or self.rows)  # fmt: skip
        arrivals = labels.label_arrivals(frame, seed=seed * 10_007 + index)
        frame = frame.drop(columns="is_fraud").assign(
            card_present=frame["card_present"].astype(np.int64),
            **{LABEL: arrivals["label"].to_numpy(), ARRIVES: arrivals["label_available_at"].to_numpy()},
        )
        return Week(index, pd.Timestamp(generate.week_start(index)), frame)


def labels_known(week: Week, as_of: pd.Timestamp) -> np.ndarray:
    """The week's labels as they stand at `as_of`: 0/1 where arrived, NaN where not yet."""
    arrived = week.frame[ARRIVES].to_numpy() <= as_of.to_datetime64()
    return np.where(arrived, week.frame[LABEL].to_numpy(dtype=np.float64), np.nan)
