"""Bins and distances against closed forms and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rollgate.monitor import binning, distance

pytestmark = pytest.mark.unit


def test_numeric_bins_are_left_closed_with_open_ends_and_a_missing_bin() -> None:
    edges = np.array([-np.inf, 1.0, 2.0, np.inf])
    codes = binning.numeric_codes(np.array([-5.0, 1.0, 1.5, 2.0, 9.0, np.nan]), edges)
    assert codes.tolist() == [0, 1, 1, 2, 2, 3]


def test_decile_edges_are_unique_and_open() -> None:
    edges = binning.decile_edges(np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 20 + [np.nan] * 5), 10)
    assert edges[0] == -np.inf and edges[-1] == np.inf
    assert edges[1:-1].tolist() == [0.0, 1.0, 2.0]


def test_categories_unseen_and_missing() -> None:
    series = pd.Series(["a", "b", None, "zz", "a", "b", "a"])
    assert binning.top_categories(series, 2) == ("a", "b")  # by count; "zz" and missing once each
    assert binning.top_categories(series, 3) == ("a", "b", binning.MISSING)  # ties by name: "<" sorts first
    codes = binning.categorical_codes(series, ("a", "b", binning.MISSING))
    assert codes.tolist() == [0, 1, 2, 3, 0, 1, 0]  # "zz" is unseen: the bin after the categories
    assert binning.categorical_codes(series, ("a", "b")).tolist() == [0, 1, 2, 2, 0, 1, 0]  # missing: unseen


def test_psi_of_known_shares_and_the_empty_bin_floor() -> None:
    ref, cur = np.array([50, 50]), np.array([80, 20])
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert distance.psi(ref, cur) == pytest.approx(expected)
    floored = (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5)
    assert distance.psi(ref, np.array([0, 100])) == pytest.approx(floored)


def test_chi2_matches_scipy_contingency_when_no_bin_is_sparse() -> None:
    ref, cur = np.array([300, 200, 500]), np.array([40, 20, 60])
    statistic, df = distance.chi2_homogeneity(ref, cur)
    table = sps.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert statistic == pytest.approx(table.statistic) and df == table.dof


def test_chi2_pools_sparse_bins_so_one_rare_row_is_no_evidence() -> None:
    # a category with 0.1 % of the reference seen once in 20 rows would add χ² ≈ 19 on its own
    ref, cur = np.array([6000, 3990, 10]), np.array([12, 7, 1])
    statistic, df = distance.chi2_homogeneity(ref, cur)
    assert df == 1 and distance.chi2_p(statistic, df) > 0.5


def test_ks_on_the_grid_equals_scipy_when_the_grid_holds_every_value() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.integers(0, 40, 5000).astype(float), rng.integers(2, 40, 700).astype(float)
    grid, grid_cdf = binning.ks_grid(ref, 1000)
    positions = binning.grid_positions(cur, grid)
    cdf = np.cumsum(np.bincount(positions, minlength=len(grid) + 1))[: len(grid)] / len(cur)
    d = distance.ks_distance(cdf, grid_cdf)
    exact = sps.ks_2samp(ref, cur, method="asymp")
    assert d == pytest.approx(exact.statistic)
    assert distance.ks_p(d, len(cur), len(ref)) == pytest.approx(exact.pvalue)


def test_ks_on_the_grid_is_within_a_grid_step_of_the_exact_distance() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=20000), rng.normal(0.05, 1.0, 3000)
    grid, grid_cdf = binning.ks_grid(ref, 1000)
    positions = binning.grid_positions(cur, grid)
    cdf = np.cumsum(np.bincount(positions, minlength=len(grid) + 1))[: len(grid)] / len(cur)
    d, exact = distance.ks_distance(cdf, grid_cdf), sps.ks_2samp(ref, cur).statistic
    assert exact - 0.002 <= d <= exact + 1e-12


def test_dispersion_widens_the_null() -> None:
    assert distance.chi2_p(30.0, 9, 2.0) > distance.chi2_p(30.0, 9)
    assert distance.ks_p(0.05, 900, 9000, 2.0) > distance.ks_p(0.05, 900, 9000)


@pytest.mark.parametrize(
    ("x", "n", "y", "m", "ratio"),
    [(20, 100, 10, 100, 2.0), (10, 100, 20, 100, 2.0), (0, 100, 0, 100, 1.0), (0, 100, 1, 100, 3.0)],
)
def test_folded_rate_ratio(x: int, n: int, y: int, m: int, ratio: float) -> None:
    assert distance.folded_rate_ratio(x, n, y, m) == pytest.approx(ratio)
