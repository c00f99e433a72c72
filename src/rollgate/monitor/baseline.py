"""The reference live data is judged against (`reports/baseline.json`), and its JSON form.

`Reference.to_dict()` gives (every number finite; the open ends of numeric edges are the strings
"-inf" and "+inf"; lists line up with `counts`):

    {"version": 1, "rows": int, "weeks": [str], "week_rows": [int],
     "features": {name: {
        "kind": "numeric" | "categorical",
        "counts": [int],        # rows per bin: numeric intervals then "missing"; categories then "unseen"
        "shares": [float],      # counts / rows (written for readers; `from_dict` uses counts)
        "edges": ["-inf", float, ..., "+inf"],   # numeric only: bin i is [edges[i], edges[i+1])
        "grid": [float], "grid_cdf": [float],    # numeric only: KS sketch, the reference CDF at each point
        "categories": [str],                     # categorical only, in bin order ("unseen" follows)
        "weekly": {"psi": [float], "chi2": [float], "df": [int], "ks": [float],   # ks: numeric only
                   "chi2_excess": float, "ks_excess": float, "homogeneity_p": float}}},
     "sample": {name: [int]},   # bin codes of a seeded subsample of training rows (domain classifier)
     "score": null | {"edges": [...], "counts": [int], "shares": [float], "grid": [float],
        "grid_cdf": [float], "threshold": float, "flagged": int,
        "calibration": {"x": [float], "y": [float]},
        "metrics": {"rows": int, "positives": int, "positive_rate": float, "flag_rate": float,
                    "roc_auc": float, "roc_auc_se": float, "average_precision": float}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.monitor import binning
from rollgate.monitor.jsonsafe import edges_in, edges_out, floats, ints
from rollgate.monitor.scores import ScoreReference

VERSION = 1


@dataclass(frozen=True)
class WeekSpread:
    """Each training week against all the other training weeks, per statistic, and the excess variance
    per effective row they show beyond i.i.d. sampling (τ², see `reference.week_spread`)."""

    psi: tuple[float, ...] = ()
    chi2: tuple[float, ...] = ()
    df: tuple[int, ...] = ()
    ks: tuple[float, ...] = ()
    chi2_excess: float = 0.0
    ks_excess: float = 0.0
    homogeneity_p: float = 1.0  # the weeks x bins χ² test that all weeks share the same bin shares

    def chi2_dispersion(self, effective: float) -> float:
        """φ for a χ² test at `effective` rows: 1 + τ²·n·m/(n+m)."""
        return 1.0 + self.chi2_excess * effective

    def ks_dispersion(self, effective: float) -> float:
        return 1.0 + self.ks_excess * effective

    def to_dict(self) -> dict[str, Any]:
        return {
            "psi": list(self.psi),
            "chi2": list(self.chi2),
            "df": list(self.df),
            "ks": list(self.ks),
            "chi2_excess": self.chi2_excess,
            "ks_excess": self.ks_excess,
            "homogeneity_p": self.homogeneity_p,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WeekSpread:
        return cls(
            floats(raw["psi"]),
            floats(raw["chi2"]),
            ints(raw["df"]),
            floats(raw["ks"]),
            float(raw["chi2_excess"]),
            float(raw["ks_excess"]),
            float(raw["homogeneity_p"]),
        )


@dataclass(frozen=True)
class FeatureReference:
    """One feature's reference bins and counts; numeric features also carry edges and a KS sketch."""

    name: str
    kind: str  # "numeric" or "categorical"
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    grid: tuple[float, ...] = ()
    grid_cdf: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    spread: WeekSpread = field(default_factory=WeekSpread)

    @property
    def rows(self) -> int:
        return sum(self.counts)

    @property
    def present(self) -> int:
        """Rows behind the KS sketch: numeric rows not missing."""
        return self.rows - self.counts[-1] if self.kind == "numeric" else self.rows

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """This feature's bin code for each row of `frame`."""
        if self.kind == "numeric":
            return binning.numeric_codes(binning.numeric_values(frame[self.name]), np.array(self.edges))
        return binning.categorical_codes(frame[self.name], self.categories)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "counts": list(self.counts)}
        out["shares"] = [c / max(self.rows, 1) for c in self.counts]
        if self.kind == "numeric":
            out |= {"edges": edges_out(self.edges), "grid": list(self.grid), "grid_cdf": list(self.grid_cdf)}
        else:
            out["categories"] = list(self.categories)
        return out | {"weekly": self.spread.to_dict()}

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> FeatureReference:
        kind = raw["kind"]
        if kind not in ("numeric", "categorical"):
            raise RollgateError(f"baseline: feature {name!r} has kind {kind!r} (numeric or categorical)")
        numeric = kind == "numeric"
        return cls(
            name,
            kind,
            ints(raw["counts"]),
            edges_in(raw["edges"]) if numeric else (),
            floats(raw["grid"]) if numeric else (),
            floats(raw["grid_cdf"]) if numeric else (),
            () if numeric else tuple(str(c) for c in raw["categories"]),
            WeekSpread.from_dict(raw["weekly"]),
        )


@dataclass(frozen=True)
class Reference:
    """Everything a window is judged against: per-feature bins, the training weeks' spread, a binned
    sample of training rows for the domain classifier, and (when a holdout was given) the scores'."""

    features: tuple[FeatureReference, ...]
    weeks: tuple[str, ...]
    week_rows: tuple[int, ...]
    sample: tuple[tuple[int, ...], ...]  # per feature, in `features` order: bin codes of the sampled rows
    score: ScoreReference | None = None

    @property
    def rows(self) -> int:
        return sum(self.week_rows)

    def feature(self, name: str) -> FeatureReference:
        for f in self.features:
            if f.name == name:
                return f
        raise RollgateError(f"baseline: no feature {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "rows": self.rows,
            "weeks": list(self.weeks),
            "week_rows": list(self.week_rows),
            "features": {f.name: f.to_dict() for f in self.features},
            "sample": {f.name: list(codes) for f, codes in zip(self.features, self.sample, strict=True)},
            "score": self.score.to_dict() if self.score else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reference:
        """The reference from its JSON form; a malformed one is a `RollgateError` naming what is wrong."""
        try:
            if raw["version"] != VERSION:
                raise RollgateError(f"baseline: version {raw['version']!r}, this rollgate reads {VERSION}")
            features = tuple(FeatureReference.from_dict(n, f) for n, f in raw["features"].items())
            sample = tuple(ints(raw["sample"][f.name]) for f in features)
            score = ScoreReference.from_dict(raw["score"]) if raw["score"] is not None else None
            return cls(features, tuple(str(w) for w in raw["weeks"]), ints(raw["week_rows"]), sample, score)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RollgateError(f"baseline: malformed ({type(e).__name__}: {e})") from e
