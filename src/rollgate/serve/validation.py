"""Rows against the per-row feature contract: one error per field and row, fast when all is well.

The fast path checks whole columns with C-speed builtins (`set(map(type, ...))`, `min`, `max`); only
when a column fails does the slow path walk it row by row to say exactly which rows and why. Rows
come back as columns (name -> list), the shape the predictor and the micro-batcher want.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.serve import ids as ids_

Columns = dict[str, list[Any]]
_MISSING = object()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
SHOWN_CHARS = 40  # a client value or field name echoed in an error: never more than this
SHOWN_CATEGORIES = 10
_ALLOWED_TYPES: dict[str, frozenset[type]] = {
    "float": frozenset({int, float}),
    "int": frozenset({int}),
    "bool": frozenset({bool}),
    "category": frozenset({str}),
}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str  # missing | type | range | category | unknown_field | not_an_object | id
    message: str


@dataclass
class Checked:
    columns: Columns
    rows: int
    errors: list[RowError] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)  # unknown field name -> rows that sent it
    ids: list[Any] | None = None  # each row's pass-through id (None where a row sent none); None: no row did


def shown(value: Any) -> str:
    """A client value as an error message may quote it: bounded, whatever the client sent."""
    text = value if isinstance(value, str) else repr(value)  # numbers are at most 64-bit: orjson refuses more
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _categories(spec: FeatureSpec) -> str:
    names = list(spec.categories or ())
    more = f" and {len(names) - SHOWN_CATEGORIES} more" if len(names) > SHOWN_CATEGORIES else ""
    return f"{names[:SHOWN_CATEGORIES]}{more}"


def _value_error(spec: FeatureSpec, value: Any) -> tuple[str, str] | None:  # noqa: PLR0911 (one return per rule)
    """(reason, message) when `value` breaks `spec`, else None."""
    kind = spec.type
    if kind == "int" and type(value) is float and value.is_integer():
        value = int(value)  # 3.0 is an integer that went through a float-only serializer
    if type(value) not in _ALLOWED_TYPES[kind]:
        return "type", f"expected {kind}, got {type(value).__name__ if value is not None else 'null'}"
    if kind == "category":
        if value not in (spec.categories or ()):
            return "category", f"{shown(value)!r} is not one of {_categories(spec)}"
        return None
    if kind == "bool":
        return None
    if not math.isfinite(value):
        return "range", f"{shown(value)} is not a finite number"
    if kind == "int" and not _INT64_MIN <= value <= _INT64_MAX:
        return "range", f"{shown(value)} does not fit a 64-bit integer"
    low, high = spec.minimum, spec.maximum
    if low is not None and (value < low or (spec.minimum_exclusive and value == low)):
        return "range", f"{shown(value)} is below the minimum {low}{' (exclusive)' if spec.minimum_exclusive else ''}"
    if high is not None and (value > high or (spec.maximum_exclusive and value == high)):
        return "range", f"{shown(value)} is above the maximum {high}{' (exclusive)' if spec.maximum_exclusive else ''}"
    return None


def _column_ok(spec: FeatureSpec, values: list[Any]) -> bool:  # noqa: PLR0911 (one return per rule)
    """True when every value of a column passes, checked without a Python-level loop."""
    if not values:
        return True
    if not set(map(type, values)) <= _ALLOWED_TYPES[spec.type]:
        return False
    if spec.type == "category":
        return set(values) <= set(spec.categories or ())
    if spec.type == "bool":
        return True
    low, high = min(values), max(values)
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    if spec.type == "int" and not (low >= _INT64_MIN and high <= _INT64_MAX):
        return False
    if spec.minimum is not None and (low < spec.minimum or (spec.minimum_exclusive and low == spec.minimum)):
        return False
    return spec.maximum is None or not (high > spec.maximum or (spec.maximum_exclusive and high == spec.maximum))


class Validator:
    """Checks rows (a list of JSON objects) against a feature contract."""

    def __init__(self, contract: FeatureContract, strict: bool = False) -> None:
        self.specs = contract.features
        self.names = contract.names
        self.strict = strict
        self.id_field = contract.id_field  # passed through, never checked as a feature: only its type and size
        self._known = frozenset([*self.names, *([self.id_field] if self.id_field else [])])
        self._get = itemgetter(*self.names)

    def check(self, rows: list[Any]) -> Checked:
        try:
            tuples = list(map(self._get, rows))  # KeyError or TypeError: some row is not complete
        except (KeyError, TypeError, IndexError):
            return self._slow(rows)
        if len(self.names) == 1:
            tuples = [(t,) for t in tuples]
        columns = {name: list(values) for name, values in zip(self.names, zip(*tuples, strict=True), strict=True)}
        checked = Checked(columns, len(rows))
        extra = sum(map(len, rows)) - len(rows) * len(self.names)  # 0: no row sent an id or an unknown field
        if extra and extra != self._ids(rows, checked):
            self._unknown(rows, checked)
        for spec in self.specs:
            if not _column_ok(spec, columns[spec.name]):
                self._column_errors(spec, columns[spec.name], checked)
        return checked

    def _ids(self, rows: list[dict[str, Any]], checked: Checked) -> int:
        """Each row's pass-through id into `checked`, refusing bad ones; how many rows sent one."""
        if self.id_field is None:
            return 0
        ids = ids_.take(rows, self.id_field)
        present = len(ids) - ids.count(None)
        if present:
            checked.ids = ids
            if not ids_.all_ok(ids):
                for i, value in enumerate(ids):
                    if (problem := ids_.problem(value)) is not None:
                        checked.errors.append(RowError(i, self.id_field, "id", problem))
        return present

    def _unknown(self, rows: list[dict[str, Any]], checked: Checked) -> None:
        for i, row in enumerate(rows):
            for name in row.keys() - self._known:
                checked.ignored[shown(name)] += 1
                if self.strict:
                    checked.errors.append(RowError(i, shown(name), "unknown_field", "not a field of the contract"))

    def _column_errors(self, spec: FeatureSpec, values: list[Any], checked: Checked) -> None:
        for i, value in enumerate(values):
            if value is _MISSING or (value is None and not spec.required):
                values[i] = None  # a missing required field was reported as such; an optional one is null
                continue
            problem = _value_error(spec, value)
            if problem is not None:
                checked.errors.append(RowError(i, spec.name, *problem))
            elif type(value) is float and spec.type == "int":
                values[i] = int(value)

    def _slow(self, rows: list[Any]) -> Checked:
        checked = Checked({name: [] for name in self.names}, len(rows))
        objects = []
        for i, given in enumerate(rows):
            row = given if isinstance(given, dict) else {}
            if not isinstance(given, dict):
                checked.errors.append(RowError(i, "", "not_an_object", "each row must be a JSON object"))
            objects.append(row)
            for spec in self.specs:
                value = row.get(spec.name, _MISSING)
                if value is _MISSING and spec.required:
                    checked.errors.append(RowError(i, spec.name, "missing", "required field is missing"))
                checked.columns[spec.name].append(value)
        self._unknown(objects, checked)
        self._ids(objects, checked)
        for spec in self.specs:
            values = checked.columns[spec.name]
            if not _column_ok(spec, values):
                self._column_errors(spec, values, checked)
        checked.errors.sort(key=lambda e: e.row)
        return checked
