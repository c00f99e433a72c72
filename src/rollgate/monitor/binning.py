"""Rows to bin codes: the reference's bins applied to any data, the same way at build and at monitor time.

Numeric bins are left-closed intervals between the reference's edges, `[e_i, e_i+1)`, open at both
ends (-inf, +inf); missing values get a bin of their own after the last interval. Categorical bins are
the reference's categories in order, then "unseen": any value not in the list (a category new since
training, or one too rare to keep). Missing categorical values are the category `MISSING`. The same
rule, value by value, is `rollgate.contracts.bins` (what the server counts rows into).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from rollgate.contracts import bins

MISSING = bins.MISSING  # how a missing categorical value is counted: a category like any other
QUANTILE_METHOD: Final = "inverted_cdf"  # edges and KS grid points are observed values, so discrete data stays exact


def numeric_values(series: pd.Series) -> np.ndarray:
    """A column as float64 (missing values as NaN)."""
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)


def decile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Unique inner quantiles of the non-missing values, with -inf and +inf as the open ends."""
    present = values[~np.isnan(values)]
    inner = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1], method=QUANTILE_METHOD) if len(present) else []
    return np.concatenate([[-np.inf], np.unique(inner), [np.inf]])


def numeric_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index per value: 0 .. len(edges) - 2 for the intervals, len(edges) - 1 for missing."""
    codes = np.searchsorted(edges[1:-1], values, side="right")
    codes[np.isnan(values)] = len(edges) - 1
    return codes


def ks_grid(values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """A quantile sketch of the non-missing values: unique quantiles at `points` + 1 levels and the exact
    empirical CDF at each (share of values at or below it)."""
    present = np.sort(values[~np.isnan(values)])
    grid = np.unique(np.quantile(present, np.linspace(0, 1, points + 1), method=QUANTILE_METHOD))
    return grid, np.searchsorted(present, grid, side="right") / len(present)


def grid_positions(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per non-missing value, how many grid points lie strictly below it (0 .. len(grid))."""
    positions: np.ndarray = np.searchsorted(grid, values[~np.isnan(values)], side="left")
    return positions


def category_strings(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as (the distinct values as strings, a code per row into them; -1 for missing)."""
    as_category = series.astype("category")
    names = np.array([str(c) for c in as_category.cat.categories], dtype=object)
    return names, as_category.cat.codes.to_numpy()


def categorical_codes(series: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Bin index per value: the position in `categories`, len(categories) for unseen values."""
    index = {c: i for i, c in enumerate(categories)}
    unseen = len(categories)
    names, codes = category_strings(series)
    # one entry per distinct value, and a last one that code -1 (missing) picks up
    lookup = np.array([index.get(n, unseen) for n in names] + [index.get(MISSING, unseen)], dtype=np.int64)
    coded: np.ndarray = lookup[codes]
    return coded


def top_categories(series: pd.Series, limit: int) -> tuple[str, ...]:
    """The `limit` most frequent values as strings (ties by name), missing counted as `MISSING`."""
    names, codes = category_strings(series)
    counts = np.bincount(codes + 1, minlength=len(names) + 1)
    labelled = [(MISSING if i == 0 else str(names[i - 1]), int(n)) for i, n in enumerate(counts) if n > 0]
    labelled.sort(key=lambda pair: (-pair[1], pair[0]))
    return tuple(name for name, _ in labelled[:limit])


def counts(codes: np.ndarray, bins: int) -> np.ndarray:
    """Rows per bin."""
    return np.bincount(codes, minlength=bins).astype(np.int64)
