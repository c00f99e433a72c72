"""When each example row's label becomes known: chargebacks arrive late, legitimate rows mature.

A card issuer learns of fraud when the card holder disputes the charge, days to months after it, and
calls a transaction legitimate only once the dispute window it trusts has passed without one:

- **Fraud** (`is_fraud` 1): the label arrives after a lognormal delay with a median of
  `FRAUD_MEDIAN_DAYS` (10 days) and log-scale sigma `FRAUD_SIGMA` (0.8), so about 8 % of frauds
  arrive after 30 days and 1 % after 64 days, the long tail of statements read late. Delays are
  capped at `FRAUD_MAX_DAYS` (120 days, the card networks' usual dispute limit; the cap binds for
  about 0.1 % of frauds).
- **Legitimate** (`is_fraud` 0): confirmed after the fixed maturity horizon `LEGIT_HORIZON_DAYS`
  (30 days) without a dispute.

So a window looked at before 30 days have passed holds only frauds, and one looked at soon after holds
all its legitimate rows but not yet its late frauds: the bias the monitor's maturity rule waits out.
Arrival times are rounded up to the second, so no label arrives before its transaction.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

FRAUD_MEDIAN_DAYS = 10.0
FRAUD_SIGMA = 0.8
FRAUD_MAX_DAYS = 120.0
LEGIT_HORIZON_DAYS = 30.0
LABEL_COLUMNS = ("id", "label", "label_available_at")
_DAY_S = 86_400.0
_STREAM = 1_001  # keeps the delay draws apart from the generator's own streams ([seed, week, shift])


def arrival_delays(labels: np.ndarray, seed: int) -> np.ndarray:
    """Each label's arrival delay in days, a pure function of the labels and the seed."""
    rng = np.random.default_rng([seed, _STREAM])
    fraud = np.asarray(labels) == 1
    drawn = rng.lognormal(np.log(FRAUD_MEDIAN_DAYS), FRAUD_SIGMA, len(fraud))
    return np.where(fraud, np.minimum(drawn, FRAUD_MAX_DAYS), LEGIT_HORIZON_DAYS)


def label_arrivals(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The labels of generated rows with the time each one arrives: `id, label, label_available_at`.

    Args:
        rows: the generator's rows (`transaction_id`, `timestamp`, `is_fraud`).
        seed: the delays' seed; the same rows and seed always give the same table.
    """
    delay_s = np.ceil(arrival_delays(rows["is_fraud"].to_numpy(), seed) * _DAY_S)
    arrives = rows["timestamp"].to_numpy(dtype="datetime64[us]") + np.maximum(delay_s, 1).astype("timedelta64[s]")
    return pd.DataFrame(
        {
            "id": rows["transaction_id"].to_numpy(dtype=object),
            "label": rows["is_fraud"].to_numpy(dtype=np.int64),
            "label_available_at": arrives.astype("datetime64[us]"),
        }
    )


def labels_as_of(labels: pd.DataFrame, as_of: datetime | pd.Timestamp) -> pd.DataFrame:
    """The labels that have arrived by `as_of` (inclusive), in their original order."""
    arrived = labels["label_available_at"] <= pd.Timestamp(as_of)
    return labels.loc[arrived].reset_index(drop=True)
