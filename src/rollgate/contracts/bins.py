"""The baseline's bins as the release record carries them (`baseline` in `release.json`), and how a
value falls into one: what the server counts every scored row into (`rollgate_feature_bin_total`) and
what the alert rules compare with, bound to the baseline file by its sha256.

A numeric feature's bins are the intervals [e_i, e_{i+1}) between its inner edges (the ends are open),
labelled "0", "1", ..., then "missing"; a categorical feature's are its reference categories, then
"unseen" (a missing value is the category `MISSING` when the reference kept it, else unseen). The
monitor (`rollgate.monitor.binning`) bins by the same rule, so the server's counts and the monitor's
agree row for row.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rollgate.contracts import metrics
from rollgate.contracts.errors import ContractError

MISSING = "<missing>"  # how a missing categorical value is counted: a category like any other


@dataclass(frozen=True)
class FeatureBins:
    name: str
    kind: str  # "numeric" or "categorical"
    shares: tuple[float, ...]  # the reference's share of rows in each bin, in `labels` order
    edges: tuple[float, ...] = ()  # numeric: the inner edges, ascending
    categories: tuple[str, ...] = ()  # categorical
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.categories)})

    @property
    def labels(self) -> tuple[str, ...]:
        if self.kind == "numeric":
            return (*(str(i) for i in range(len(self.edges) + 1)), metrics.MISSING_BIN)
        return (*self.categories, metrics.UNSEEN_BIN)

    def code(self, value: Any) -> int:
        """The bin index of one value as the server received it (a number, a string or None)."""
        if self.kind == "numeric":
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return len(self.edges) + 1
            return bisect.bisect_right(self.edges, float(value))
        return self._index.get(MISSING if value is None else str(value), len(self.categories))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "shares": list(self.shares)}
        if self.kind == "numeric":
            out["edges"] = list(self.edges)
        else:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureBins:
        numeric = raw["kind"] == "numeric"
        edges = tuple(float(e) for e in raw.get("edges", ())) if numeric else ()
        categories = () if numeric else tuple(str(c) for c in raw["categories"])
        bins = cls(raw["name"], raw["kind"], tuple(float(s) for s in raw["shares"]), edges, categories)
        if len(bins.shares) != len(bins.labels):
            raise ContractError(
                f"baseline bins of {bins.name!r}: {len(bins.shares)} shares for {len(bins.labels)} bins"
            )
        return bins


@dataclass(frozen=True)
class ServedBaseline:
    """The part of the baseline the server and the alert rules need, and the baseline file's digest."""

    sha256: str
    features: tuple[FeatureBins, ...]
    score_le: tuple[float, ...] = ()  # the server's score histogram bounds (`rollgate_prediction_score`)
    score_cdf: tuple[float, ...] = ()  # the holdout's share of scores at or below each bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "features": [f.to_dict() for f in self.features],
            "score": {"le": list(self.score_le), "cdf": list(self.score_cdf)},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServedBaseline:
        score = raw["score"]
        return cls(
            raw["sha256"],
            tuple(FeatureBins.from_dict(f) for f in raw["features"]),
            tuple(float(v) for v in score["le"]),
            tuple(float(v) for v in score["cdf"]),
        )

    def check_features(self, names: Sequence[str], source: str) -> None:
        """Refuse bins that are not exactly the model's features, in its order."""
        binned = [f.name for f in self.features]
        if binned != list(names):
            raise ContractError(f"{source}: baseline bins are for features {binned}, the model takes {list(names)}")
