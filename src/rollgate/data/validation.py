"""Lazy validation of the raw data: every failure collected, located by file and row, summarised.

Pure: takes the loaded frame and where each row came from, returns a report. The validate stage
writes the report and fails; nothing here touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from rollgate.data import labels
from rollgate.data.schema import DATASET
from rollgate.params import ValidateParams


@dataclass(frozen=True)
class Failure:
    """One broken check: which column, which check, how many rows, and a few examples."""

    column: str
    check: str
    count: int
    examples: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class Report:
    rows: int
    files: int
    failures: tuple[Failure, ...] = field(default_factory=tuple)
    label_rate: float | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "files": self.files,
            "label_rate": self.label_rate,
            "failures": [f.to_dict() for f in self.failures],
        }

    def metrics(self, data_md5: str) -> dict[str, Any]:
        """`reports/validate.json`, the DVC metric written when validation passed."""
        return {
            "passed": True,
            "rows": self.rows,
            "files": self.files,
            "label_rate": self.label_rate,
            "data_md5": data_md5,
        }

    def summary(self) -> str:
        if self.passed:
            return f"validation passed: {self.rows} rows in {self.files} files, label rate {self.label_rate:.4f}"
        lines = [f"validation failed: {len(self.failures)} broken checks in {self.rows} rows ({self.files} files)"]
        for f in self.failures:
            where = ", ".join(_example(e) for e in f.examples)
            lines.append(f"  - {f.column}: {f.check}: {f.count} rows" + (f"; e.g. {where}" if where else ""))
        return "\n".join(lines)


def _example(e: dict[str, Any]) -> str:
    if "row" in e:
        return f"{e['file']} row {e['row']} ({e['value']!r})"
    return f"{e['file']}: {e['error']}" if {"file", "error"} <= e.keys() else str(e)


def _value(v: Any) -> Any:
    if isinstance(v, float | np.floating) and np.isnan(v):
        return None
    if isinstance(v, float | np.floating) and np.isinf(v):
        return str(float(v))  # "inf" or "-inf": JSON has no infinity, and the report must still be written
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


def _schema_failures(cases: pd.DataFrame, origin: pd.DataFrame, max_examples: int) -> list[Failure]:
    out = []
    files, rows = origin["file"].to_numpy(), origin["row"].to_numpy()
    cases = cases.assign(column=cases["column"].fillna("(dataset)").astype(str), check=cases["check"].astype(str))
    for (column, check), group in cases.groupby(["column", "check"], sort=True):
        examples = []
        for _, case in group.head(max_examples).iterrows():
            idx = case["index"]
            if idx is None or (isinstance(idx, float) and np.isnan(idx)):
                examples.append({"value": _value(case["failure_case"])})
                continue
            examples.append(
                {"file": str(files[int(idx)]), "row": int(rows[int(idx)]), "value": _value(case["failure_case"])}
            )
        out.append(Failure(str(column), str(check), len(group), tuple(examples)))
    return out


def _non_finite_failures(df: pd.DataFrame, origin: pd.DataFrame, max_examples: int) -> list[Failure]:
    """inf and -inf in any float column: a range check without an upper bound would let them through,
    and the model would learn from (or crash on) a value no real row has."""
    out = []
    files, rows = origin["file"].to_numpy(), origin["row"].to_numpy()
    for column in df.columns:
        if not pd.api.types.is_float_dtype(df[column]):
            continue
        values = df[column].to_numpy(dtype=np.float64)
        where = np.flatnonzero(np.isinf(values))
        if len(where):
            examples = tuple(
                {"file": str(files[i]), "row": int(rows[i]), "value": _value(values[i])} for i in where[:max_examples]
            )
            out.append(Failure(str(column), "finite (not inf or -inf)", len(where), examples))
    return out


def _batch_failures(values: pd.Series, origin: pd.DataFrame, params: ValidateParams) -> list[Failure]:
    """The batches whose label rate lies significantly beyond the band (`rollgate.data.labels`)."""
    refused = labels.batch_outliers(values, origin["file"].to_numpy(), params)
    if not refused:
        return []
    band = f"[{params.label_rate_min}, {params.label_rate_max}]"
    examples = tuple({"file": b.file, "error": b.describe(params)} for b in refused[: params.max_examples])
    return [Failure(DATASET.label, f"batch label rate in {band}", sum(b.rows for b in refused), examples)]


def _label_failures(
    df: pd.DataFrame, origin: pd.DataFrame, params: ValidateParams
) -> tuple[list[Failure], float | None]:
    label = DATASET.label
    if label not in df.columns or df.empty:
        return [], None
    values = df[label]
    # The pipeline learns a binary label: -1 "pending", 2 or text would be learned as classes.
    if not pd.api.types.is_bool_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        bad = ~numeric.isin([0, 1])
        if bad.any():
            examples = tuple({"value": _value(v)} for v in values[bad].unique()[: params.max_examples])
            return [Failure(label, "label is 0/1", int(bad.sum()), examples)], None
        values = numeric
    rate = float(values.mean())
    failures = []
    # One class means the labels were never joined (all 0) or filtered to positives only (all 1).
    if values.nunique(dropna=True) < 2:
        failures.append(Failure(label, "both classes present", len(df), ({"value": f"only {values.iloc[0]!r}"},)))
    # A rate outside the band means a broken labelling job, not a real change in the world.
    elif not params.label_rate_min <= rate <= params.label_rate_max:
        band = f"[{params.label_rate_min}, {params.label_rate_max}]"
        failures.append(Failure(label, f"label rate in {band}", len(df), ({"value": round(rate, 6)},)))
    if values.nunique(dropna=True) == 2:
        failures += _batch_failures(values, origin, params)
    return failures, rate


def validate(
    df: pd.DataFrame,
    origin: pd.DataFrame,
    params: ValidateParams,
    files: int,
    read_failures: tuple[Failure, ...] = (),
) -> Report:
    """Check `df` against the schema and the label checks; `origin` maps each row to (file, row)."""
    failures = list(read_failures)
    if df.empty and not read_failures:
        failures.append(Failure("(dataset)", "at least one row", 0, ({"value": "no rows in any batch"},)))
    elif not df.empty:
        try:
            DATASET.schema.validate(df, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failures += _schema_failures(exc.failure_cases, origin, params.max_examples)
        failures += _non_finite_failures(df, origin, params.max_examples)
    label_failures, rate = _label_failures(df, origin, params)
    return Report(rows=len(df), files=files, failures=tuple(failures + label_failures), label_rate=rate)
