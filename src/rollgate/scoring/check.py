"""A chunk of rows judged against the feature contract, a column at a time: the rules the model
server applies to each request's rows (`rollgate.serve.validation`), vectorized for tables.

Each refused row gets the first reason found, in the contract's order of features: `missing` (a required
feature has no value), `type` (not a number where one is needed), `range` (outside the stated bounds, or
not finite) or `category` (not one of the listed categories), with the feature's name. A column the
input does not have at all is not a row problem: the whole file is refused (see `batch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rollgate.contracts.features import FeatureContract, FeatureSpec


@dataclass(frozen=True)
class Checked:
    valid: np.ndarray  # bool per row
    reasons: np.ndarray  # per row: "" when valid, else "<reason>: <feature>"


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(the values as float64, True where a value was present but not a number)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(values), dtype=bool)
    coerced = pd.to_numeric(values, errors="coerce")
    not_number = coerced.isna().to_numpy() & values.notna().to_numpy()
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan), not_number


def _out_of_range(spec: FeatureSpec, x: np.ndarray) -> np.ndarray:
    bad: np.ndarray = ~np.isfinite(x)
    if spec.minimum is not None:
        bad |= (x <= spec.minimum) if spec.minimum_exclusive else (x < spec.minimum)
    if spec.maximum is not None:
        bad |= (x >= spec.maximum) if spec.maximum_exclusive else (x > spec.maximum)
    if spec.type in ("int", "bool"):
        bad |= np.isfinite(x) & (x != np.round(x))
    return bad


def _problems(spec: FeatureSpec, values: pd.Series) -> list[tuple[str, np.ndarray]]:
    """(reason, rows) pairs for one feature, in the order they are reported."""
    absent = values.isna().to_numpy()
    missing = absent if spec.required else np.zeros(len(values), dtype=bool)
    if spec.type == "category":
        allowed = spec.categories
        wrong = ~absent & (~values.astype("string").isin(allowed).to_numpy() if allowed is not None else False)
        return [("missing", missing), ("category", wrong)]
    x, not_number = _numbers(values)
    return [("missing", missing), ("type", not_number), ("range", ~absent & ~not_number & _out_of_range(spec, x))]


def check(frame: pd.DataFrame, contract: FeatureContract) -> Checked:
    """Which rows of `frame` (every feature a column) the contract admits, and why the others not."""
    reasons = np.full(len(frame), "", dtype=object)
    for spec in contract.features:
        for reason, rows in _problems(spec, frame[spec.name]):
            fresh = rows & (reasons == "")
            reasons[fresh] = f"{reason}: {spec.name}"
    return Checked(reasons == "", reasons)
