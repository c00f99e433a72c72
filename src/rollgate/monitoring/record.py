"""The run's JSON record (`report.json`, schema `monitor-report` in `rollgate.contracts`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rollgate.monitor.jsonsafe import number
from rollgate.monitor.policy import Policy

if TYPE_CHECKING:
    from rollgate.monitoring.run import Outcome

SCHEMA_VERSION = 1


def actions(outcome: Outcome) -> list[str]:
    """What the run asks for: "revert" (the previous model is better), "retrain" (the world moved)."""
    v = outcome.verdict
    return (["revert"] if v.revert else []) + (["retrain"] if v.retrain else [])


def alarm_auc(outcome: Outcome, policy: Policy) -> float | None:
    """The ROC AUC below which a window's drop alarms (by effect): the holdout's less the moderate floor."""
    score = outcome.loaded.reference.score
    return number(score.roc_auc - policy.auc_drop.moderate) if score else None


def report(outcome: Outcome, policy: Policy) -> dict[str, Any]:
    o, loaded, reference = outcome.options, outcome.loaded, outcome.loaded.reference
    score = reference.score
    return {
        "schema_version": SCHEMA_VERSION,
        "command": o.command,
        "inputs": {
            "reference": str(o.reference),
            "current": str(o.current),
            "labels": str(o.labels) if o.labels else None,
            "judged": str(o.judged) if o.judged else None,
        },
        "maturity_days": o.maturity_days,
        "columns": {
            "features": [f.name for f in reference.features],
            "categorical": [f.name for f in reference.features if f.kind == "categorical"],
            "time": loaded.time,
            "id": o.id_column,
            "score": o.score_column,
            "label": loaded.label,
            "previous": o.previous_score_column,
        },
        "window": o.window,
        "model_sha256": loaded.digest,
        "budget": {"alpha": outcome.budget.alpha, "alphas": asdict(outcome.alphas)},
        "reference": {
            "rows": reference.rows,
            "weeks": list(reference.weeks),
            "roc_auc": number(score.roc_auc) if score else None,
            "alarm_auc": alarm_auc(outcome, policy),
        },
        "verdict": outcome.verdict.to_dict() | {"actions": actions(outcome)},
        "windows": [r.to_dict() for r in outcome.results],
    }
