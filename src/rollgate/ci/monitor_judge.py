"""`rollgate monitor judge` (`make monitor-judge`): the two monitor runs behind the workflow's decision.

1. **The window**: `rollgate monitor performance` on the collected prediction log and labels, against the
   deployed model's baseline, as of the collection's time with its maturity horizon, and with the
   previous run's report (`build/monitor-judged/report.json`, when the workflow restored one) as
   `--judged`, so each cohort is judged once. Its retrain alarms call for a retraining pull request.
2. **The revert comparison**: the full labelled tables of the weeks whose labels have matured (never the
   sampled log) and that no earlier comparison of this deployed model judged, pooled into one window
   and scored by the deployed model and by the previous known-good one, judged by `monitor performance
   --previous-score-column` (the paired DeLong test). It runs only with a previous model and at least
   `MIN_POOLED_POSITIVES` positives in those rows; weeks with fewer wait and are pooled again next run.
   Each week is judged once (the previous run's evidence, `build/monitor-judged/judge.json`, lists the
   weeks judged so far), so a matured week is not re-tested every week.

Writes `build/monitor/report/` and `build/monitor/revert/` (report.json, report.md, charts) and
`build/monitor/judge.json`, the evidence `rollgate monitor pr` decides on. Alarms are results: exit 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollgate.adapters import gitlog
from rollgate.ci import monitor_collect, monitor_models
from rollgate.ci.monitor_collect import WORK
from rollgate.ci.monitor_decide import MIN_POOLED_POSITIVES
from rollgate.contracts import atomic, jsonio, monitor_report
from rollgate.contracts.release import Release
from rollgate.data import batches
from rollgate.gate import stats
from rollgate.model import artifact
from rollgate.monitoring import read, run
from rollgate.monitoring.options import Options

JUDGED = Path("build/monitor-judged/report.json")  # the previous run's window report (the workflow's cache)
JUDGED_EVIDENCE = JUDGED.with_name("judge.json")  # the previous run's evidence: the weeks compared so far
EVIDENCE = "judge.json"
SCORE, PREVIOUS = "score", "previous_score"


def _window(root: Path, env: str, collected: dict[str, Any], baseline: Path, sha256: str) -> dict[str, Any]:
    work = root / WORK
    judged = root / JUDGED if (root / JUDGED).is_file() else None
    options = Options(
        "performance", baseline, work / monitor_collect.LOG, labels=work / monitor_collect.LABELS,
        score_column=read.LOG_SCORE, id_column="id", label_column="label", label_time_column="label_available_at",
        as_of=collected["as_of"], maturity_days=float(collected["maturity_days"]), judged=judged, sha256=sha256,
        out=work / "report",
    )  # fmt: skip
    run.monitor(options)
    return jsonio.read(options.out / "report.json", monitor_report.SCHEMA)


def compared_before(root: Path, sha256: str) -> list[str]:
    """The weeks an earlier run's revert comparison of the deployed model `sha256` judged."""
    path = root / JUDGED_EVIDENCE
    if not path.is_file():
        return []
    before = json.loads(path.read_text(encoding="utf-8"))
    return list(before.get("compared", [])) if before.get("model_sha256") == sha256 else []


def _matured(collected: dict[str, Any]) -> list[str]:
    as_of = pd.Timestamp(collected["as_of"])
    horizon = pd.Timedelta(days=float(collected["maturity_days"]))
    return [w["file"] for w in collected["weeks"] if pd.Timestamp(w["end"]) + horizon <= as_of]


def _scores(root: Path, record: Release, role: str, frame: pd.DataFrame) -> np.ndarray:
    path = monitor_models.write_model(root, record, root / WORK / f"models/{role}.skops")
    model = artifact.loads(path.read_bytes(), record.model.sha256, f"the {role} model")
    scores: np.ndarray = model.predict_proba(frame[list(record.features.names)])[:, 1]
    return scores


def _pooled(root: Path, files: list[str], label: str) -> pd.DataFrame:
    rows = root / WORK / monitor_collect.ROWS
    return pd.concat([batches.read_table(rows / f, [label], f"{WORK}/rows/{f}") for f in files], ignore_index=True)


def _paired(root: Path, models: monitor_models.Models, files: list[str], baseline: Path) -> dict[str, Any]:
    """The revert comparison's evidence (and its report under build/monitor/revert/ when it ran)."""
    from rollgate.data.schema import DATASET

    if models.previous is None:
        return {"positives": 0, "why_not": models.why_no_previous}
    if not files:
        return {"positives": 0, "why_not": "no matured week that an earlier comparison has not judged"}
    frame = _pooled(root, files, DATASET.label)
    y = frame[DATASET.label].to_numpy(dtype=np.int64)
    found: dict[str, Any] = {"positives": int(y.sum()), "rows": len(frame), "weeks": files, "why_not": ""}
    found["previous_sha256"] = models.previous.model.sha256
    if found["positives"] < MIN_POOLED_POSITIVES:
        return found
    frame[SCORE] = _scores(root, models.deployed, "deployed", frame)
    frame[PREVIOUS] = _scores(root, models.previous, "previous", frame)
    pooled = root / WORK / "pooled.parquet"
    with atomic.replacing(pooled) as tmp:
        frame.to_parquet(tmp, index=False)
    options = Options(
        "performance", baseline, pooled, score_column=SCORE, previous_score_column=PREVIOUS,
        label_column=DATASET.label, id_column=DATASET.id, time_column=DATASET.timestamp, window=str(len(frame)),
        sha256=models.deployed.model.sha256, out=root / WORK / "revert",
    )  # fmt: skip
    run.monitor(options)
    report = jsonio.read(options.out / "report.json", monitor_report.SCHEMA)
    d = stats.delong(y, frame[PREVIOUS].to_numpy(), frame[SCORE].to_numpy(), confidence=0.975)
    found |= {"metric": "roc_auc", "deployed": d.challenger, "previous": d.champion, "difference": d.difference,
              "interval": [d.lower, d.upper], "p_worse": d.p_worse,
              "alarms": [_alarm(a) for a in report["verdict"]["revert"]], "report": report["verdict"]}  # fmt: skip
    return found


def _alarm(alarm: dict[str, str]) -> str:
    return f"{alarm['window']} {alarm['family']}: {alarm['reason']}"


def judge(root: Path, env: str) -> str:
    """Run both comparisons for `env` and write the evidence; what was found.

    Raises:
        RollgateError: a shallow clone, no collection, a model or baseline that cannot be fetched, or bad
            input to the monitor (naming the file and column).
    """
    gitlog.require_full_history(root, f"which models {env} ran")
    collected = monitor_collect.read(root)
    models = monitor_models.read(root, env)
    evidence = root / WORK / EVIDENCE
    if models is None or not collected["weeks"]:
        atomic.write_text(evidence, json.dumps({"env": env, "model_sha256": None}) + "\n")
        return f"monitor judge: {env} runs no model, or nothing was collected: nothing to judge"
    sha256 = models.deployed.model.sha256
    baseline = monitor_models.write_baseline(root, models.deployed, root / WORK / "baseline.json")
    window = _window(root, env, collected, baseline, sha256)
    matured = _matured(collected)
    compared = compared_before(root, sha256)
    paired = _paired(root, models, [w for w in matured if w not in compared], baseline)
    if "report" in paired:  # judged: these weeks are never compared again for this model
        compared += paired["weeks"]
    verdicts = [window["verdict"], *([paired["report"]] if "report" in paired else [])]
    doc = {
        "env": env, "model_sha256": sha256, "as_of": collected["as_of"], "matured": matured, "compared": compared,
        "retrain": [_alarm(a) for v in verdicts for a in v["retrain"]], "paired": paired,
        "promotion": models.promotion.commit.sha if models.promotion else None,
    }  # fmt: skip
    atomic.write_text(evidence, json.dumps(doc, indent=2, default=float) + "\n")
    return (
        f"monitor judge ({env}, {sha256[:12]}): {len(doc['retrain'])} retrain alarm(s); "
        f"{len(matured)} matured week(s); revert comparison: "
        f"{paired.get('why_not') or str(paired['positives']) + ' pooled positives'} -> {WORK}/{EVIDENCE}"
    )
