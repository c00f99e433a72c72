"""Distribution shift of one dataset against another, per column: pure functions, no I/O.

PSI (population stability index) for every column — over the base's deciles for numbers, over the
union of categories otherwise — plus the two-sample Kolmogorov-Smirnov statistic for numbers.
Conventional reading of PSI: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 major shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

MODERATE, MAJOR = 0.1, 0.25
_FLOOR = 1e-4  # an empty bin would make PSI infinite: count it as a tiny share instead


@dataclass(frozen=True)
class ColumnShift:
    column: str
    kind: str  # "numeric" or "categorical"
    psi: float
    ks: float | None  # numeric columns only
    base: str  # a one-line description of the base distribution (mean, or top category)
    new: str

    @property
    def level(self) -> str:
        return "major" if self.psi > MAJOR else "moderate" if self.psi > MODERATE else "stable"


def _psi(base_share: np.ndarray, new_share: np.ndarray) -> float:
    b, n = np.clip(base_share, _FLOOR, None), np.clip(new_share, _FLOOR, None)
    return float(np.sum((n - b) * np.log(n / b)))


def _numeric(column: str, base: pd.Series, new: pd.Series, bins: int) -> ColumnShift:
    b, n = base.dropna().to_numpy(float), new.dropna().to_numpy(float)
    edges = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    share = [np.histogram(x, edges)[0] / max(len(x), 1) for x in (b, n)]
    ks = float(sps.ks_2samp(b, n).statistic) if len(b) and len(n) else float("nan")
    return ColumnShift(column, "numeric", _psi(*share), ks, f"mean {b.mean():.4g}", f"mean {n.mean():.4g}")


def _categorical(column: str, base: pd.Series, new: pd.Series) -> ColumnShift:
    b, n = base.astype(str).value_counts(normalize=True), new.astype(str).value_counts(normalize=True)
    cats = sorted(set(b.index) | set(n.index))
    share = [s.reindex(cats, fill_value=0.0).to_numpy(float) for s in (b, n)]
    top = [f"{s.index[0]} {s.iloc[0]:.1%}" if len(s) else "-" for s in (b, n)]
    return ColumnShift(column, "categorical", _psi(*share), None, top[0], top[1])


def shifts(base: pd.DataFrame, new: pd.DataFrame, columns: list[str], bins: int = 10) -> list[ColumnShift]:
    """Shift of `new` against `base` for each of `columns` present in both, largest PSI first."""
    out = []
    for column in columns:
        if column not in base.columns or column not in new.columns:
            continue
        a, b = base[column], new[column]
        numeric = pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a)
        out.append(_numeric(column, a, b, bins) if numeric else _categorical(column, a, b))
    return sorted(out, key=lambda s: -s.psi)
