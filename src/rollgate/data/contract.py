"""Derive the per-row feature contract from the Pandera schema, so the two can never drift apart."""

from __future__ import annotations

from typing import Any

import pandera.pandas as pa

from rollgate.contracts.features import FeatureContract, FeatureSpec, FeatureType

_BOUNDS = {
    "greater_than": "minimum",
    "greater_than_or_equal_to": "minimum",
    "less_than": "maximum",
    "less_than_or_equal_to": "maximum",
}


def _type_of(column: pa.Column) -> FeatureType:
    dtype = str(column.dtype)
    if dtype == "bool":
        return "bool"
    if dtype.startswith("int"):
        return "int"
    if dtype.startswith("float"):
        return "float"
    if "str" in dtype:
        return "category"
    raise TypeError(f"column {column.name!r}: no feature type for dtype {dtype}")


def _spec(name: str, column: pa.Column) -> FeatureSpec:
    bounds: dict[str, Any] = {}
    categories: tuple[str, ...] | None = None
    for check in column.checks:
        if check.name == "in_range":
            stats = check.statistics
            bounds.update(minimum=float(stats["min_value"]), maximum=float(stats["max_value"]))
            bounds.update(
                minimum_exclusive=not stats.get("include_min", True),
                maximum_exclusive=not stats.get("include_max", True),
            )
        elif check.name in _BOUNDS:
            side = _BOUNDS[check.name]
            bounds[side] = float(next(iter(check.statistics.values())))
            bounds[f"{side}_exclusive"] = check.name in ("greater_than", "less_than")
        elif check.name == "isin":
            categories = tuple(str(v) for v in check.statistics["allowed_values"])
    meta = (column.metadata or {}).get("rollgate", {})
    return FeatureSpec(
        name=name,
        type=_type_of(column),
        required=not column.nullable,
        minimum=bounds.get("minimum"),
        maximum=bounds.get("maximum"),
        categories=categories,
        description=meta.get("description", ""),
        minimum_exclusive=bounds.get("minimum_exclusive", False),
        maximum_exclusive=bounds.get("maximum_exclusive", False),
    )


def feature_contract(model: type[pa.DataFrameModel]) -> FeatureContract:
    """The contract of every column whose metadata marks it as a model feature, in schema order, with
    the column marked as the id (if any) as the pass-through id field."""
    schema = model.to_schema()
    roles = {name: (col.metadata or {}).get("rollgate", {}).get("role") for name, col in schema.columns.items()}
    features = tuple(_spec(name, schema.columns[name]) for name, kind in roles.items() if kind == "feature")
    return FeatureContract(features, next((str(name) for name, kind in roles.items() if kind == "id"), None))
