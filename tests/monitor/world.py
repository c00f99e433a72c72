"""A small synthetic world for the monitor's tests: four numeric features (two of them correlated), a
categorical channel, a label whose log-odds rise with x1, the amount and the web channel, and a
monotone but miscalibrated model score (the holdout's isotonic map has something to fix)."""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = ["amount", "x1", "x2", "count"]
CATEGORICAL = ["channel"]
CHANNELS = ["web", "pos", "app"]


def rows(
    rng: np.random.Generator, n: int, *, amount: float = 1.0, rho: float = 0.8, new_category: float = 0.0
) -> pd.DataFrame:
    """n rows; `amount` scales every amount, `rho` is corr(x1, x2), `new_category` the share of a
    channel never seen in training."""
    x1 = rng.normal(size=n)
    x2 = rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=n)
    channel = rng.choice(CHANNELS, n, p=[0.5, 0.3, 0.2]).astype(object)
    channel[rng.random(n) < new_category] = "kiosk"
    amount_values = rng.lognormal(3.5, 1.2, n) * amount
    return pd.DataFrame({"amount": amount_values, "x1": x1, "x2": x2, "count": rng.poisson(3, n), "channel": channel})


def log_odds(frame: pd.DataFrame) -> np.ndarray:
    web = (frame["channel"] == "web").to_numpy()
    return np.asarray(-4.5 + 1.2 * frame["x1"] + 0.3 * np.log(frame["amount"]) + 0.8 * web, dtype=float)


def labels(rng: np.random.Generator, frame: pd.DataFrame, concept: float = 0.0) -> np.ndarray:
    """Labels drawn from the true log-odds, shifted by `concept` (concept drift: inputs unchanged)."""
    return (rng.random(len(frame)) < 1 / (1 + np.exp(-(log_odds(frame) + concept)))).astype(int)


def score(frame: pd.DataFrame, noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """The model: monotone in the true log-odds but squashed (miscalibrated); `noise` makes it worse."""
    z = 0.6 * log_odds(frame) - 1.0
    if noise and rng is not None:
        z = z + rng.normal(0, noise, len(frame))
    return np.asarray(1 / (1 + np.exp(-z)))


def training(rng: np.random.Generator, weeks: int, week_rows: int) -> pd.DataFrame:
    frame = rows(rng, weeks * week_rows)
    frame["week"] = np.repeat([f"2026-W{w + 1:02d}" for w in range(weeks)], week_rows)
    return frame


def window_frame(
    rng: np.random.Generator, n: int, *, concept: float = 0.0, noise: float = 0.0, **shift: float
) -> pd.DataFrame:
    """A scored, labelled window; `previous` is the known-good model's score, `score` the deployed one's."""
    frame = rows(rng, n, **shift)
    frame["previous"] = score(frame)
    frame["score"] = score(frame, noise, rng)
    frame["label"] = labels(rng, frame, concept)
    return frame
