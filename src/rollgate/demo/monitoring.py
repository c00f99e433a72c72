"""`make demo-monitor`: the monitor on the example's weeks after training, with a shift, explained.

The trained model (`models/`, else `make demo`'s) scores the example generator's next six weeks as the
server would log them, and their labels arrive as a card issuer's do (frauds after days to months,
legitimate rows after the example's maturity horizon). `rollgate monitor performance` then judges that
log against the model's baseline (`reports/baseline.json`, written by the evaluate stage), one week
at a time, looking from one week after the last: every week gets drift tests and a label-free
estimate of its ROC AUC, and the weeks whose labels have matured get their realized AUC too, so the
chart shows the estimate first and the realized value once it is known. The columns it names come from
the log and the example's label files, so the same run works on an adopter's log and labels.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.data.example import generate, predictions
from rollgate.data.example import labels as example_labels
from rollgate.demo import trained
from rollgate.monitoring import read, scored_log
from rollgate.monitoring import run as monitor_run
from rollgate.monitoring.options import Options

OUT = Path(".demo/monitor")
FIRST_WEEK = 12  # the first week after the example's training weeks
WEEKS = 6
LOOK_DAYS = 7  # the run looks from this long after the last week's end


def _auc(part: dict[str, Any] | None, band: str) -> str:
    if not part or part.get("roc_auc") is None:
        return "-"
    low, high = part[band]
    return f"{part['roc_auc']:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else "-"


def _weeks(report: Path) -> list[str]:
    """One line per week: its label-free estimate, and its realized AUC once its labels matured."""
    lines = []
    for w in json.loads(report.read_text())["windows"]:
        realized = _auc(w["performance"], "roc_auc_interval") if w["cohort"] == "judged" else "labels maturing"
        alarms = ", ".join(sorted({a["family"] for a in w["alarms"]})) or "no alarm"
        lines.append(
            f"    {w['window']}: estimated AUC {_auc(w['label_free'], 'roc_auc_band')}, realized {realized}; {alarms}"
        )
    return lines


def run(root: Path, shift: str) -> int:
    """Write the log, its labels and the report under `root/.demo/monitor/`; the monitor's exit code
    (1: an alarm).

    Raises:
        RollgateError: no trained model or no baseline beside it, or an unknown shift.
    """
    if shift not in generate.SHIFTS:
        raise RollgateError(f"unknown shift {shift!r}: one of {', '.join(generate.SHIFTS)}")
    model = trained.locate(root)
    if model.note:
        print(f"  {model.note}")
    baseline = model.folder.parent / paths.BASELINE
    if not baseline.is_file():
        raise RollgateError(
            f"{baseline}: no baseline beside the model: run `make demo`, `make repro` or `dvc pull` first"
        )
    out = root / OUT
    log, labels = out / "predictions.jsonl", out / "labels.parquet"
    weekly = generate.GenerateOptions(weeks=WEEKS, start_week=FIRST_WEEK, shift=shift)
    served, lines = scored_log.server_lines(model.artifact, model.sha256, 1.0)
    rows = predictions.write(log, labels, predictions.PredictionsOptions(weekly), served.features, lines)
    last = FIRST_WEEK + WEEKS - 1
    print(f"rollgate demo monitor: {rows} rows of weeks {FIRST_WEEK}-{last} (shift {shift})")
    print(f"  scored by {model.sha256[:12]} and logged as the server logs them -> {log}; their labels -> {labels}")
    as_of = generate.week_start(last + 1) + timedelta(days=LOOK_DAYS)
    ids, label, arrived = example_labels.LABEL_COLUMNS
    options = Options(
        "performance", baseline, log, labels=labels, score_column=read.LOG_SCORE, id_column=ids,
        label_column=label, label_time_column=arrived, as_of=as_of.isoformat(),
        maturity_days=example_labels.LEGIT_HORIZON_DAYS, sha256=model.sha256, out=out / "report",
    )  # fmt: skip
    code = monitor_run.monitor(options)
    verdict = "an alarm" if code else "no alarm"
    print(f"  rollgate monitor performance against {baseline}, as of {as_of:%Y-%m-%d}: {verdict}")
    print("\n".join(_weeks(options.out / "report.json")))
    charts = options.out / "charts"
    print(f"  report: {options.out / 'report.md'}; charts: {charts}/ (performance.png: estimated, then realized)")
    return code
