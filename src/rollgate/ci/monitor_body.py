"""The monitor's pull requests in words: titles and bodies (pure formatting over the judge's evidence).

A retraining pull request's body is the monitor's own `report.md`, after a head saying which weeks it
adds and why; a revert's says which rows, which metric and the interval of the difference. Both end
with the key's marker line and where the run's charts are.
"""

from __future__ import annotations

from typing import Any

from rollgate.ci.monitor_decide import MIN_POOLED_POSITIVES, Decision, Key


def _reasons(decision: Decision, limit: int = 10) -> list[str]:
    shown = [f"- {r}" for r in decision.reasons[:limit]]
    more = len(decision.reasons) - limit
    return shown + ([f"- … and {more} more (see the report)"] if more > 0 else [])


def _tail(key: Key, decision: Decision, run_url: str) -> list[str]:
    charts = f"The charts are the artifacts of [the monitor run]({run_url})." if run_url else ""
    notes = [f"_{n}_" for n in decision.notes]
    return ["", *notes, *([charts] if charts else []), "", key.marker]


def retrain_title(key: Key, weeks: list[str]) -> str:
    return f"monitor({key.env}): retrain on {len(weeks)} matured week(s) after drift of {key.sha256[:12]}"


def retrain(key: Key, decision: Decision, weeks: list[str], report_md: str, run_url: str = "") -> str:
    head = [
        f"The monitor of **{key.env}** (model `{key.sha256}`) alarms for **retraining**:",
        "",
        *_reasons(decision),
        "",
        f"This pull request adds the {len(weeks)} week(s) whose labels have matured to `data/` (`dvc add data`): "
        + ", ".join(f"`{w}`" for w in weeks)
        + ". Its own checks then train and gate as for any change; the monitor deploys nothing.",
        "",
        "---",
        "",
    ]
    return "\n".join([*head, report_md.rstrip(), *_tail(key, decision, run_url)])


def revert_title(key: Key, subject: str) -> str:
    return f'Revert "{subject}": worse than the previous model on matured rows in {key.env}'


def _number(value: Any) -> str:
    return f"{float(value):.4f}" if isinstance(value, int | float) else "-"


def revert(key: Key, decision: Decision, paired: dict[str, Any], why: str, run_url: str = "") -> str:
    low, high = paired.get("interval") or (None, None)
    weeks = paired.get("weeks") or []
    rows = [
        "| | |",
        "|---|---|",
        f"| rows | {paired.get('rows', 0):,} labelled rows of the matured weeks {', '.join(weeks)} "
        "(the full labelled tables, pooled; not the sampled log) |",
        f"| positives | {paired['positives']:,} (the comparison needs at least {MIN_POOLED_POSITIVES}) |",
        "| metric | ROC AUC, paired DeLong on the same rows |",
        f"| deployed `{key.sha256[:12]}` | {_number(paired.get('deployed'))} |",
        f"| previous `{str(paired.get('previous_sha256', ''))[:12]}` | {_number(paired.get('previous'))} |",
        f"| difference (deployed - previous) | {_number(paired.get('difference'))}, 95 % interval "
        f"[{_number(low)}, {_number(high)}], p(deployed worse) = {float(paired.get('p_worse', 1.0)):.2g} |",
    ]
    head = [
        f"On matured labels, the model **{key.env}** runs is significantly worse than the previous known-good "
        "one on the same rows:",
        "",
        *rows,
        "",
        *_reasons(decision),
        "",
        f"This reverts {why}, so that `manifests/{key.env}/` pins the previous model again. Merging it withdraws "
        f"`{key.sha256[:12]}` from {key.env}: promote refuses it again unless it is re-allowed "
        f"(`deploy-state/{key.env}/reallowed/`).",
    ]
    return "\n".join([*head, *_tail(key, decision, run_url)])
