"""Charts a person would rather look at than read: per feature, the reference's bin shares against the
current rows'; per window, the estimated and realized ROC AUC with their bands and the alarm line.
Each chart is a PNG (matplotlib's Agg canvas, no display) and a DVC plots file (a list of records)."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

from rollgate.monitor.baseline import FeatureReference, Reference


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _bin_labels(f: FeatureReference) -> list[str]:
    if f.kind == "categorical":
        return [*f.categories, "unseen"]
    edges = f.edges
    return [f"[{edges[i]:.3g}, {edges[i + 1]:.3g})" for i in range(len(edges) - 1)] + ["missing"]


def feature_records(reference: Reference, current: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per feature, one record per reference bin: its label, the reference's share and the current's."""
    out = {}
    for f in reference.features:
        bins = len(f.counts)
        now = np.bincount(f.codes(current), minlength=bins) / max(len(current), 1)
        ref = np.asarray(f.counts) / max(f.rows, 1)
        out[f.name] = [
            {"bin": i, "label": label, "reference": float(ref[i]), "current": float(now[i])}
            for i, label in enumerate(_bin_labels(f))
        ]
    return out


def performance_records(
    windows: list[dict[str, Any]], holdout: float | None, line: float | None
) -> list[dict[str, Any]]:
    """Per window: the label-free estimate and band, the realized AUC and interval (null when absent)."""
    out = []
    for w in windows:
        est, real = w["label_free"] or {}, w["performance"] or {}
        low, high = est.get("roc_auc_band", [None, None])
        rlow, rhigh = real.get("roc_auc_interval", [None, None])
        out.append({
            "window": w["window"], "estimated_auc": est.get("roc_auc"), "estimated_low": low, "estimated_high": high,
            "realized_auc": real.get("roc_auc"), "realized_low": rlow, "realized_high": rhigh,
            "labelled_rows": w["labelled_rows"], "holdout_auc": holdout, "alarm_auc": line,
        })  # fmt: skip
    return out


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def feature_png(name: str, records: list[dict[str, Any]]) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(records))
    ax.bar(x - 0.2, [r["reference"] for r in records], 0.4, label="reference")
    ax.bar(x + 0.2, [r["current"] for r in records], 0.4, label="current")
    ax.set_xticks(x, [r["label"] for r in records], rotation=45, ha="right", fontsize=7)
    ax.set(title=f"{name}: share of rows per reference bin", ylabel="share of rows")
    ax.legend()
    return _png(figure)


def _nan(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def performance_png(records: list[dict[str, Any]]) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(records))
    est, real = _nan([r["estimated_auc"] for r in records]), _nan([r["realized_auc"] for r in records])
    ax.fill_between(x, _nan([r["estimated_low"] for r in records]), _nan([r["estimated_high"] for r in records]),
                    alpha=0.25, label="estimated band")  # fmt: skip
    ax.plot(x, est, "o-", label="estimated (label-free)")
    low, high = _nan([r["realized_low"] for r in records]), _nan([r["realized_high"] for r in records])
    ax.errorbar(x, real, yerr=[real - low, high - real], fmt="s", capsize=3, label="realized")
    if records and records[0]["alarm_auc"] is not None:
        ax.axhline(records[0]["holdout_auc"], color="grey", linestyle=":", label="holdout")
        ax.axhline(records[0]["alarm_auc"], color="red", linestyle="--", label="alarm line")
    ax.set_xticks(x, [r["window"] for r in records], rotation=45, ha="right", fontsize=7)
    ax.set(title="ROC AUC per window", ylabel="ROC AUC")
    ax.legend(fontsize=7)
    return _png(figure)
