"""`report.md`: the run as a pull-request or issue body — the verdict first, then the windows, then
what alarmed in each window (for a drifted feature: its test, statistic, p-value, effect and rows)."""

from __future__ import annotations

from typing import Any

_FAMILIES = ("drift", "domain", "prediction", "label_free", "realized", "positives", "paired")


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _family(window: dict[str, Any], name: str) -> str:
    family = window["families"].get(name)
    if family is None:
        return "-"
    if not family["judged"]:
        return "not judged"
    return "**alarm**" if family["alarm"] else "ok"


def _auc(part: dict[str, Any] | None, band: str) -> str:
    if not part or part.get("roc_auc") is None:
        return "-"
    low, high = part[band]
    return f"{part['roc_auc']:.3f} [{_num(low)}, {_num(high)}]"


def _headline(record: dict[str, Any]) -> list[str]:
    v = record["verdict"]
    head = f"## Monitor: alarm — {' and '.join(v['actions'])}" if v["alarm"] else "## Monitor: no alarm"
    inputs = record["inputs"]
    lines = [head, "", f"Reference `{inputs['reference']}` ({record['reference']['rows']} rows); "
             f"current `{inputs['current']}`" + (f", labels `{inputs['labels']}`" if inputs["labels"] else "")
             + f"; {len(record['windows'])} window(s) by `{record['window']}`; false-alarm budget "
             f"{record['budget']['alpha']:g} for the run.", ""]  # fmt: skip
    for kind, why in (("revert", "the previous model does better"), ("retrain", "the world moved")):
        if v[kind]:
            lines += [f"**{kind.capitalize()}** ({why}):", "", *_alarm_lines(v[kind]), ""]
    return lines


def _alarm_lines(alarms: list[dict[str, Any]]) -> list[str]:
    """One line per window: each family that alarmed, with the subjects that did (a feature, `score`)."""
    by_window: dict[str, dict[str, list[str]]] = {}
    for a in alarms:
        subject = a["reason"].split(":", 1)[0]
        subjects = by_window.setdefault(a["window"], {}).setdefault(a["family"], [])
        subjects += [] if subject in subjects else [subject]
    return [
        f"- `{window}`: "
        + "; ".join(f"{family} ({', '.join(f'`{s}`' for s in subjects)})" for family, subjects in families.items())
        for window, families in by_window.items()
    ]


_COHORT = {"judged_before": " (judged before)", "waiting": " (maturing)"}


def _windows(record: dict[str, Any]) -> list[str]:
    names = [f for f in _FAMILIES if any(f in w["families"] for w in record["windows"])]
    lines = ["| window | rows | labelled | " + " | ".join(names) + " | estimated AUC | realized AUC |"]
    lines.append("|" + "---|" * (len(names) + 5))
    for w in record["windows"]:
        labelled = str(w["labelled_rows"]) + _COHORT.get(w["cohort"], "")
        cells = [f"`{w['window']}`", str(w["rows"]), labelled, *(_family(w, n) for n in names)]
        cells += [_auc(w["label_free"], "roc_auc_band"), _auc(w["performance"], "roc_auc_interval")]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _alarms(window: dict[str, Any]) -> list[str]:
    rows = [(name, f) for name, family in window["families"].items() for f in family["findings"] if f["alarm"]]
    if not rows:
        return []
    head = "| family | subject | test | statistic | p-value | Holm | effect | rows |"
    lines = [f"### `{window['window']}`", "", head, "|---|---|---|---|---|---|---|---|"]
    for name, f in rows:
        effect = f"{f['effect']} {_num(f['effect_value'])} ({f['level']})"
        cells = [name, f"`{f['subject']}`", f["test"], _num(f["statistic"]), _num(f["p_value"]),
                 _num(f["p_adjusted"]), effect, f"{f['rows']} vs {f['reference_rows']}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def render(record: dict[str, Any]) -> str:
    """The Markdown summary of a `report.json` record."""
    lines = [*_headline(record), "### Windows", "", *_windows(record)]
    for window in record["windows"]:
        lines += _alarms(window)
    return "\n".join(lines).rstrip() + "\n"
