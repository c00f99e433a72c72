"""Build the reference (the baseline) from training rows split into weeks, and a model's holdout scores.

Per numeric feature: decile edges over all training rows, counts per bin, and a KS sketch. Per
categorical feature: the most frequent categories (at most `max_categories`), counts, and an "unseen"
bin that also holds the training rows of the categories not kept. See `binning` for the bins.

How much the weeks differ from each other is measured too (see `spread`), so that monitoring can
widen its nulls by real week-to-week variation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.monitor import binning
from rollgate.monitor.baseline import FeatureReference, Reference
from rollgate.monitor.policy import DEFAULT_SETTINGS, ReferenceSettings
from rollgate.monitor.scores import score_reference
from rollgate.monitor.spread import ks_spread, week_spread

__all__ = ["Holdout", "ReferenceSettings", "build_reference"]


@dataclass(frozen=True)
class Holdout:
    """A model's scores and labels (0/1) on its holdout, and its operating threshold (flag when ≥)."""

    scores: np.ndarray = field(compare=False)
    labels: np.ndarray = field(compare=False)
    threshold: float = 0.5


def _numeric(name: str, values: np.ndarray, weeks: np.ndarray, n_weeks: int, s: ReferenceSettings) -> FeatureReference:
    if np.isnan(values).all():
        raise RollgateError(f"training rows: numeric feature {name!r} has no values")
    if np.isinf(values).any():
        raise RollgateError(f"training rows: numeric feature {name!r} has infinite values")
    edges = binning.decile_edges(values, s.bins)
    codes = binning.numeric_codes(values, edges)
    grid, grid_cdf = binning.ks_grid(values, s.ks_points)
    spread = week_spread(codes, weeks, n_weeks, len(edges), s)
    if n_weeks >= 2:
        ks, excess = ks_spread(binning.grid_positions(values, grid), weeks[~np.isnan(values)], n_weeks, len(grid))
        excess = excess if spread.homogeneity_p < s.heterogeneity_alpha else 0.0
        spread = replace(spread, ks=tuple(ks), ks_excess=excess)
    return FeatureReference(
        name,
        "numeric",
        tuple(int(c) for c in binning.counts(codes, len(edges))),
        tuple(float(e) for e in edges),
        tuple(float(g) for g in grid),
        tuple(float(c) for c in grid_cdf),
        spread=spread,
    )


def _categorical(
    name: str, series: pd.Series, weeks: np.ndarray, n_weeks: int, s: ReferenceSettings
) -> FeatureReference:
    categories = binning.top_categories(series, s.max_categories)
    codes = binning.categorical_codes(series, categories)
    bins = len(categories) + 1
    counts = tuple(int(c) for c in binning.counts(codes, bins))
    return FeatureReference(
        name, "categorical", counts, categories=categories, spread=week_spread(codes, weeks, n_weeks, bins, s)
    )


def _week_codes(training: pd.DataFrame, weeks: str | Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    given = training[weeks] if isinstance(weeks, str) else list(weeks)
    if len(given) != len(training):
        raise RollgateError(f"training rows: every row needs a week label ({len(given)} for {len(training)} rows)")
    labels = pd.Series(given, index=training.index)
    if labels.isna().any():
        raise RollgateError("training rows: every row needs a week label (one per row, none missing)")
    codes, names = pd.factorize(labels.astype(str), sort=True)
    return codes.astype(np.int64), [str(n) for n in names]


def build_reference(
    training: pd.DataFrame,
    weeks: str | Sequence[Any] | np.ndarray,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    holdout: Holdout | None = None,
    settings: ReferenceSettings = DEFAULT_SETTINGS,
) -> Reference:
    """The reference of `numeric` and `categorical` features over `training`, split into weeks by the
    column named `weeks` or by one label per row; with a holdout, the scores' reference too."""
    if training.empty:
        raise RollgateError("training rows: none given")
    if isinstance(weeks, str) and weeks not in training.columns:
        raise RollgateError(f"training rows: no week column {weeks!r}")
    for column in [*numeric, *categorical]:
        if column not in training.columns:
            raise RollgateError(f"training rows: no column {column!r}")
    week, names = _week_codes(training, weeks)
    n_weeks = len(names)
    features = [_numeric(c, binning.numeric_values(training[c]), week, n_weeks, settings) for c in numeric]
    features += [_categorical(c, training[c], week, n_weeks, settings) for c in categorical]
    rng = np.random.default_rng(settings.seed)
    rows = np.sort(rng.choice(len(training), min(settings.sample_rows, len(training)), replace=False))
    sample = tuple(tuple(int(v) for v in f.codes(training.iloc[rows])) for f in features)
    week_rows = tuple(int(n) for n in np.bincount(week, minlength=n_weeks))
    score = None
    if holdout is not None:
        score = score_reference(holdout.scores, holdout.labels, holdout.threshold, settings.ks_points)
    return Reference(tuple(features), tuple(names), week_rows, sample, score)
