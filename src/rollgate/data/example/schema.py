"""The example's data contract: card transactions, as a strict Pandera model.

Each check says which risk it guards. Column checks are row-level and become the serving contract
(`rollgate.data.contract`); the dataframe checks at the bottom are dataset-level and do not. Each
column's metadata declares its role (`rollgate.data.dataset`): the id, the timestamp, the label, or a
feature (a model input). An adopter writes a model like this one in `rollgate/data/schema.py`.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from rollgate.data.dataset import feature, role

BATCHES = "data/transactions"  # where the example's batches live (rollgate/data/schema.py names it)

# Allowed values and bounds; the example generator draws from them.
MERCHANT_CATEGORIES = (
    "grocery",
    "fuel",
    "restaurants",
    "travel",
    "electronics",
    "fashion",
    "digital_goods",
    "gambling",
    "utilities",
    "health",
)
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "BR", "IN", "NG", "SG")
CHANNELS = ("in_store", "online", "mobile_app")
MAX_AMOUNT = 25_000.0
MAX_DISTANCE_KM = 20_000.0


class Transactions(pa.DataFrameModel):
    """One row per card transaction."""

    # Duplicate ids mean a batch was loaded twice: double-counted fraud and leakage across the split.
    # "tx-<week>-<row>", zero-padded to at least 4 and 5 digits: the generator widens them past 9,999
    # weeks or 99,999 rows a week (`generate.transaction_id`); another shape is another export.
    transaction_id: Series[str] = pa.Field(unique=True, str_matches=r"^tx-\d{4,}-\d{5,}$", metadata=role("id"))
    # The split is by time: a missing or unparsable timestamp would put a row on the wrong side.
    timestamp: Series[pd.Timestamp] = pa.Field(metadata=role("timestamp"))
    # Non-positive or absurd amounts are upstream unit or parsing errors (cents read as units).
    amount: Series[float] = pa.Field(gt=0.0, le=MAX_AMOUNT, metadata=feature("amount in account currency"))
    # An unseen category would be silently encoded as "unknown": new merchant codes need a new model.
    merchant_category: Series[str] = pa.Field(isin=list(MERCHANT_CATEGORIES), metadata=feature("merchant category"))
    # A country outside the list is a new market or a code-format change (alpha-3, lower case).
    country: Series[str] = pa.Field(isin=list(COUNTRIES), metadata=feature("merchant country, ISO 3166-1 alpha-2"))
    # Channel drives the strongest interactions; a renamed channel would silently lose them.
    channel: Series[str] = pa.Field(isin=list(CHANNELS), metadata=feature("where the card was used"))
    # A non-boolean flag means the upstream export changed encoding ("Y"/"N", 0/1 strings).
    card_present: Series[bool] = pa.Field(metadata=feature("chip or swipe, not card-not-present"))
    # An hour outside 0-23 is a timezone or 1-24 encoding bug that would shift the night-time signal.
    hour_of_day: Series[int] = pa.Field(ge=0, le=23, metadata=feature("local hour of the transaction"))
    # Ages outside adult human range are data-entry defaults (0, 999) that would skew the model.
    customer_age: Series[int] = pa.Field(ge=18, le=120, metadata=feature("card holder age in years"))
    # Negative account age means a clock or join error between the account and transaction systems.
    account_age_days: Series[int] = pa.Field(ge=0, le=40_000, metadata=feature("days since account opened"))
    # Activity counts are non-negative and bounded; a huge count is a feature-pipeline bug.
    txn_count_24h: Series[int] = pa.Field(ge=0, le=1_000, metadata=feature("card transactions in the last 24 h"))
    # Same risk as the 24 h window; the dataframe check below ties the two windows together.
    txn_count_7d: Series[int] = pa.Field(ge=0, le=5_000, metadata=feature("card transactions in the last 7 days"))
    # The amount/average ratio is a key signal: a zero or absurd average would make it explode.
    avg_amount_30d: Series[float] = pa.Field(gt=0.0, le=MAX_AMOUNT, metadata=feature("mean amount, last 30 days"))
    # Distances beyond half the Earth's circumference are geocoding errors (lat/long swapped).
    distance_from_home_km: Series[float] = pa.Field(
        ge=0.0, le=MAX_DISTANCE_KM, metadata=feature("distance from the card holder's home")
    )
    # Labels other than 0/1 (e.g. -1 "pending") would be learned as a class.
    is_fraud: Series[int] = pa.Field(isin=[0, 1], metadata=role("label", "1 = fraud"))

    class Config:
        # Columns are non-nullable by default: a null is a failed join, never "unknown", and the
        # serving contract marks every such feature as required.
        strict = True  # an extra column means the upstream export changed: fail rather than ignore it
        coerce = False  # a wrong dtype is reported, never silently cast
        name = "transactions"

    @pa.dataframe_check(error="timestamps must not decrease within and across batches")
    def timestamps_ordered(cls, df: pd.DataFrame) -> bool:
        # A time-based split assumes batches are in time order; out-of-order rows leak the future.
        return bool(df["timestamp"].is_monotonic_increasing)

    @pa.dataframe_check(error="activity in 24 h cannot exceed activity in 7 days")
    def counts_consistent(cls, df: pd.DataFrame) -> pd.Series:
        # Inconsistent windows mean the feature job computed them from different snapshots.
        return df["txn_count_24h"] <= df["txn_count_7d"]
