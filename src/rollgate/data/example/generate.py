"""A deterministic synthetic card-transaction dataset with a known latent fraud probability.

Each weekly batch is a pure function of (seed, week, shift), so further weeks can be appended later
and any batch can be regenerated alone. Fraud is drawn from `fraud_probability`, a model with
interactions and thresholds: a tree ensemble can learn it, a linear model only approximately. The
gate's simulations call `fraud_probability` to draw scores whose quality is known by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import atomic
from rollgate.data.example.schema import CHANNELS, COUNTRIES, MAX_AMOUNT, MAX_DISTANCE_KM, MERCHANT_CATEGORIES

Shift = Literal["none", "amount_inflation", "online_surge", "fraud_wave"]
SHIFTS: tuple[Shift, ...] = ("none", "amount_inflation", "online_surge", "fraud_wave")

FIRST_MONDAY = datetime(2026, 1, 5)
ROWS_PER_WEEK = 9_000
DEFAULT_WEEKS = 12

# Typical ticket size (median, in the account's currency) for each category.
_MEDIAN_AMOUNT = np.array([45.0, 55.0, 38.0, 420.0, 310.0, 95.0, 22.0, 80.0, 120.0, 60.0])
_CATEGORY_WEIGHTS = np.array([0.22, 0.12, 0.16, 0.04, 0.06, 0.11, 0.12, 0.03, 0.07, 0.07])
_COUNTRY_WEIGHTS = np.array([0.40, 0.12, 0.09, 0.08, 0.05, 0.05, 0.04, 0.05, 0.04, 0.04, 0.02, 0.02])
_CHANNEL_WEIGHTS = np.array([0.55, 0.30, 0.15])
_SURGE_CHANNEL_WEIGHTS = np.array([0.30, 0.45, 0.25])  # shift "online_surge"


@dataclass(frozen=True)
class GenerateOptions:
    seed: int = 0
    weeks: int = DEFAULT_WEEKS
    start_week: int = 0
    shift: Shift = "none"
    rows_per_week: int = ROWS_PER_WEEK


def week_start(week: int) -> datetime:
    return FIRST_MONDAY + timedelta(weeks=week)


def batch_name(week: int) -> str:
    """File name of a weekly batch: its Monday, so names sort in time order."""
    return f"{week_start(week):%Y-%m-%d}.parquet"


def transaction_id(week: int, row: int) -> str:
    """A row's id: its week and its row in the week, zero-padded to 4 and 5 digits and wider when they
    grow (`rows_per_week` over 100,000); the schema's `transaction_id` pattern accepts every width."""
    return f"tx-{week:04d}-{row:05d}"


def fraud_logit(df: pd.DataFrame) -> np.ndarray:
    """The latent log-odds of fraud for each row (the ground truth the labels are drawn from)."""
    online = df["channel"].to_numpy() != "in_store"
    new_account = df["account_age_days"].to_numpy() < 45
    night = df["hour_of_day"].to_numpy() <= 5
    spike = df["amount"].to_numpy() / df["avg_amount_30d"].to_numpy() > 4.0
    far = df["distance_from_home_km"].to_numpy() > 800.0
    burst = df["txn_count_24h"].to_numpy() >= 8
    resale = np.isin(df["merchant_category"].to_numpy(), ("electronics", "digital_goods", "gambling"))
    present = df["card_present"].to_numpy()
    elderly = df["customer_age"].to_numpy() >= 72
    logit = np.full(len(df), -6.6)
    logit += 3.4 * (online & new_account)  # fresh accounts cashing out online
    logit += 2.8 * (spike & resale)  # sudden large resale-friendly purchases
    logit += 3.0 * (far & present)  # a cloned card used far from home
    logit += 2.2 * (online & night)  # automated testing of stolen cards at night
    logit += 2.4 * (burst & online)  # velocity attacks
    logit += 1.5 * (elderly & online & spike)  # scams of elderly customers
    logit += 0.8 * spike + 0.5 * resale + 0.4 * night
    return logit


def fraud_probability(df: pd.DataFrame) -> np.ndarray:
    """The latent probability of fraud for each row."""
    p: np.ndarray = 1.0 / (1.0 + np.exp(-fraud_logit(df)))
    return p


def generate_week(week: int, seed: int = 0, shift: Shift = "none", rows: int = ROWS_PER_WEEK) -> pd.DataFrame:
    """One weekly batch, a pure function of its arguments (rows sorted by timestamp)."""
    rng = np.random.default_rng([seed, week, SHIFTS.index(shift)])
    channel_w = _SURGE_CHANNEL_WEIGHTS if shift == "online_surge" else _CHANNEL_WEIGHTS
    channel = rng.choice(len(CHANNELS), size=rows, p=channel_w)
    category = rng.choice(len(MERCHANT_CATEGORIES), size=rows, p=_CATEGORY_WEIGHTS)
    country = rng.choice(len(COUNTRIES), size=rows, p=_COUNTRY_WEIGHTS)
    age = np.clip(np.round(rng.normal(44, 15, rows)), 18, 95).astype(np.int64)
    account_age = np.clip(np.round(rng.exponential(900, rows)), 0, 20_000).astype(np.int64)
    avg_30d = np.round(np.clip(rng.lognormal(np.log(70), 0.6, rows), 1.0, 5_000.0), 2)
    inflation = 1.3 if shift == "amount_inflation" else 1.0
    raw_amount = _MEDIAN_AMOUNT[category] * inflation * rng.lognormal(0.0, 0.9, rows)
    amount = np.round(np.clip(raw_amount, 0.5, MAX_AMOUNT), 2)
    count_7d = rng.poisson(9 + 4 * (channel == 1), rows).astype(np.int64)
    count_24h = np.minimum(rng.binomial(count_7d, 0.2) + rng.poisson(0.3, rows), 200).astype(np.int64)
    distance = np.round(np.clip(rng.lognormal(np.log(8), 1.6, rows), 0.0, MAX_DISTANCE_KM), 1)
    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, rows))
    timestamps = pd.Timestamp(week_start(week)) + pd.to_timedelta(seconds, unit="s")
    hour = np.asarray(timestamps.hour, dtype=np.int64)
    card_present = (channel == 0) & (rng.random(rows) < 0.97)
    df = pd.DataFrame(
        {
            "transaction_id": [transaction_id(week, i) for i in range(rows)],
            "timestamp": timestamps.astype("datetime64[us]"),
            "amount": amount,
            "merchant_category": pd.array(np.array(MERCHANT_CATEGORIES)[category], dtype="str"),
            "country": pd.array(np.array(COUNTRIES)[country], dtype="str"),
            "channel": pd.array(np.array(CHANNELS)[channel], dtype="str"),
            "card_present": card_present,
            "hour_of_day": hour,
            "customer_age": age,
            "account_age_days": account_age,
            "txn_count_24h": count_24h,
            "txn_count_7d": np.maximum(count_7d, count_24h),
            "avg_amount_30d": avg_30d,
            "distance_from_home_km": distance,
        }
    )
    logit = fraud_logit(df) + (1.2 if shift == "fraud_wave" else 0.0)
    p = 1.0 / (1.0 + np.exp(-logit))
    df["is_fraud"] = (rng.random(rows) < p).astype(np.int64)
    return df


def sample(rows: int, seed: int) -> pd.DataFrame:
    """`rows` example rows over four weeks: the example's sampler hook (the template's tests use it)."""
    weeks = 4
    per_week = -(-rows // weeks)
    frames = [generate_week(w, seed=seed, rows=per_week) for w in range(weeks)]
    return pd.concat(frames, ignore_index=True).head(rows)


def generate(options: GenerateOptions) -> dict[str, pd.DataFrame]:
    """The batches asked for, keyed by file name."""
    return {
        batch_name(w): generate_week(w, options.seed, options.shift, options.rows_per_week)
        for w in range(options.start_week, options.start_week + options.weeks)
    }


def write(target: Path, options: GenerateOptions) -> list[Path]:
    """Write the example's weekly batches into `target`; files of the same weeks are replaced byte for byte."""
    written = []
    for name, frame in generate(options).items():
        path = target / name
        with atomic.replacing(path) as tmp:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        written.append(path)
    rows = sum(pq.read_metadata(p).num_rows for p in written)
    print(
        f"data generate: {len(written)} weekly batches, {rows} rows (seed {options.seed}, shift {options.shift}) "
        f"-> {target}"
    )
    return written
