"""What a dataset definition is: a strict Pandera schema whose columns say their roles, and where the
batches live.

The one definition in use is `rollgate.data.schema.DATASET` (the file an adopter edits); every module
reads the id, timestamp and label columns, the features and the batch folder from it, never from
names of its own. A column's role is declared on the column (`metadata=role(...)` or
`metadata=feature(...)`): exactly one `id`, one `timestamp` and one `label`; `feature` columns are the
model's inputs and become the serving contract; columns without a role are checked but not used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import Literal

import pandas as pd
import pandera.pandas as pa

from rollgate.contracts.errors import ContractError
from rollgate.contracts.features import FeatureContract
from rollgate.data.contract import feature_contract
from rollgate.params import DatasetColumns

Role = Literal["id", "timestamp", "label", "feature"]
_SINGLE: tuple[Role, ...] = ("id", "timestamp", "label")

Sampler = Callable[[int, int], pd.DataFrame]


def role(kind: Role, description: str = "") -> dict[str, dict[str, str]]:
    """Column metadata declaring the column's role (`metadata=role("label")`)."""
    return {"rollgate": {"role": kind, "description": description}}


def feature(description: str) -> dict[str, dict[str, str]]:
    """Column metadata of a model input (`metadata=feature("amount in account currency")`)."""
    return role("feature", description)


def _roles(schema: pa.DataFrameSchema) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, column in schema.columns.items():
        kind = (column.metadata or {}).get("rollgate", {}).get("role")
        if kind is not None:
            found.setdefault(str(kind), []).append(str(name))
    return found


@dataclass(frozen=True)
class Dataset:
    """The dataset the pipeline reads. Build it with `Dataset.define`, which checks the roles."""

    schema: type[pa.DataFrameModel]
    batches: PurePosixPath  # folder of the batch files, relative to the repository root
    id: str
    timestamp: str
    label: str
    noun: str = "rows"  # what one row is, in words ("card transactions"): used in messages
    # "module:function" returning `rows` valid rows for a seed (tests and tools build data with it);
    # None: rows are drawn from the feature contract (`rollgate.data.sample`).
    sampler: str | None = None

    @classmethod
    def define(
        cls, schema: type[pa.DataFrameModel], *, batches: str, noun: str = "rows", sampler: str | None = None
    ) -> Dataset:
        """The definition of `schema`, with its single-role columns found from their metadata.

        Raises:
            ContractError: a role is missing or declared twice, or there are no features.
        """
        roles = _roles(schema.to_schema())
        where = f"{schema.__module__}.{schema.__name__}"
        for kind in _SINGLE:
            if len(roles.get(kind, [])) != 1:
                raise ContractError(
                    f"{where}: exactly one column needs metadata=role({kind!r}); found {roles.get(kind, [])}"
                )
        if not roles.get("feature"):
            raise ContractError(f"{where}: no column has metadata=feature(...): the model would have no inputs")
        path = PurePosixPath(batches)
        if path.is_absolute() or ".." in path.parts:
            raise ContractError(f"{where}: batches={batches!r} must be a folder inside the repository")
        return cls(schema, path, roles["id"][0], roles["timestamp"][0], roles["label"][0], noun, sampler)

    @cached_property
    def columns(self) -> list[str]:
        """Every column of the schema, in schema order."""
        return [str(c) for c in self.schema.to_schema().columns]

    @cached_property
    def features(self) -> FeatureContract:
        """The per-row serving contract: the feature columns, their types, ranges and categories."""
        return feature_contract(self.schema)

    @cached_property
    def params_columns(self) -> DatasetColumns:
        """What `params.load` checks the column names of params.yaml against."""
        schema = self.schema.to_schema()
        categorical = [
            str(name)
            for name, column in schema.columns.items()
            if str(column.dtype) == "bool" or "str" in str(column.dtype) or "category" in str(column.dtype)
        ]
        return DatasetColumns(
            f"{self.schema.__name__} (src/rollgate/data/schema.py)", tuple(self.columns), tuple(categorical)
        )

    def sample(self, rows: int, seed: int, label_rate: float = 0.25) -> pd.DataFrame:
        """`rows` rows valid for the schema, sorted by time: the sampler hook's, else drawn from the column
        checks with about `label_rate` positives (a hook keeps its own rate)."""
        if self.sampler is None:
            from rollgate.data import sample

            return sample.generic(self, rows, seed, label_rate)
        module, _, name = self.sampler.partition(":")
        hook: Sampler = getattr(importlib.import_module(module), name)
        return hook(rows, seed)
