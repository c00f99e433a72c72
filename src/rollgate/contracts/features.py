"""The per-row feature contract: what a client must send for one prediction.

Derived from the training schema (`rollgate.data.contract`), stored in the model metadata and the
release record, and enforced row by row by the model server. Dataset-level checks (uniqueness,
ordering, label rate) are deliberately not part of it: one row cannot break them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rollgate.contracts.errors import ContractError

FeatureType = Literal["float", "int", "bool", "category"]
FEATURE_TYPES: tuple[FeatureType, ...] = ("float", "int", "bool", "category")


@dataclass(frozen=True)
class FeatureSpec:
    """One input field: its type, allowed range or categories, and whether it must be sent."""

    name: str
    type: FeatureType
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    description: str = ""
    # True when the bound itself is not allowed (amount > 0, not >= 0).
    minimum_exclusive: bool = False
    maximum_exclusive: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.minimum is not None:
            out["minimum"] = self.minimum
            out["minimum_exclusive"] = self.minimum_exclusive
        if self.maximum is not None:
            out["maximum"] = self.maximum
            out["maximum_exclusive"] = self.maximum_exclusive
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        if raw.get("type") not in FEATURE_TYPES:
            raise ContractError(f"feature {raw.get('name')!r}: type must be one of {FEATURE_TYPES}")
        cats = raw.get("categories")
        return cls(
            name=raw["name"],
            type=raw["type"],
            required=bool(raw.get("required", True)),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            categories=tuple(cats) if cats is not None else None,
            description=raw.get("description", ""),
            minimum_exclusive=bool(raw.get("minimum_exclusive", False)),
            maximum_exclusive=bool(raw.get("maximum_exclusive", False)),
        )


@dataclass(frozen=True)
class FeatureContract:
    """The ordered list of input fields a model accepts, and the field that carries a row's id."""

    features: tuple[FeatureSpec, ...] = field(default_factory=tuple)
    # The request field holding each row's pass-through id (the dataset's id column). The server
    # echoes it in answers and writes it to the prediction log, so that labels arriving days later
    # can be joined. It is never a model input. None: rows carry no id (records written before it).
    id_field: str | None = None

    def __post_init__(self) -> None:
        if self.id_field is not None and self.id_field in self.names:
            raise ContractError(f"id field {self.id_field!r} is also a feature: an id is never a model input")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def __getitem__(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.features]

    @classmethod
    def from_list(cls, raw: list[dict[str, Any]], id_field: str | None = None) -> FeatureContract:
        """The contract from a record's `features` list and its `id_field` (absent in older records)."""
        return cls(tuple(FeatureSpec.from_dict(r) for r in raw), id_field)
