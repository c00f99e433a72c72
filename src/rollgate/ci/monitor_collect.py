"""`rollgate monitor collect` (`make monitor-collect`): the window's data the monitor workflow judges.

ADOPT: this is the example's hook; replace the `monitor-collect` recipe with your own log export. Whatever
writes them, the monitor reads these files under `build/monitor/`:

- `log/predictions.jsonl`: the model server's prediction log of the recent weeks, sampled as the pods
  log it;
- `labels.parquet`: the labels known so far (`id`, `label`, `label_available_at`);
- `rows/<batch>.parquet`: your full labelled tables of those weeks, one per week, in the dataset's batch
  format: what a retraining pull request adds to `data/`;
- `collect.json`: `as_of` (ISO 8601, the time the run looks from), `maturity_days` (a week's labels are
  complete this long after its end) and `weeks`: [{`file` under `rows/`, `start`, `end`}].

The example's world goes on after its training data: the `WEEKS` weeks after the last one in `data/`
are generated (with `SHIFT`), scored by the environment's deployed model through the model server's own
loading, validation, predictor and log-line code, and labelled with the example's arrival delays; the
run looks from one week after the last of them, so the oldest weeks' labels have matured.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from rollgate.adapters import dvc_cli, gitlog
from rollgate.ci import monitor_models
from rollgate.contracts import atomic, paths
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.data.example import generate, predictions
from rollgate.data.example import labels as example_labels
from rollgate.monitoring import scored_log

WORK = Path("build/monitor")
LOG, LABELS, ROWS, COLLECTED = "log/predictions.jsonl", "labels.parquet", "rows", "collect.json"
WEEKS = 6
LOOK_DAYS = 7  # the run looks from this long after the last week's end


def _next_week(root: Path) -> int:
    """The example's week index after the last row of `data/` (pulled first)."""
    from rollgate.data.schema import DATASET

    dvc_cli.cli(root, "pull", "-q", str(paths.DATA_DVC))
    files = sorted((root / DATASET.batches).glob("*.parquet"))
    if not files:
        raise RollgateError(f"{DATASET.batches}: no batches after `dvc pull data.dvc`: nothing to follow on from")
    last = max(pq.read_table(f, columns=[DATASET.timestamp]).column(0).to_pandas().max() for f in files)
    return int((last.to_pydatetime().replace(tzinfo=None) - generate.FIRST_MONDAY).days // 7) + 1


def collect(root: Path, env: str, weekly: generate.GenerateOptions, sample: float = 1.0) -> str:
    """Write the example's window under `build/monitor/` for `env`'s deployed model; what it wrote.

    `weekly.start_week` is ignored: the weeks start after the training data.

    Raises:
        RollgateError: a shallow clone, no data, or a model that cannot be fetched.
    """
    gitlog.require_full_history(root, f"which model {env} runs")
    work = root / WORK
    shutil.rmtree(work, ignore_errors=True)  # a window is collected whole: nothing of an earlier one stays
    models = monitor_models.read(root, env)
    if models is None:
        atomic.write_text(work / COLLECTED, json.dumps({"as_of": None, "maturity_days": None, "weeks": []}))
        return f"monitor collect: {env} runs no model yet: nothing to collect"
    start = _next_week(root)
    weekly = generate.GenerateOptions(weekly.seed, weekly.weeks, start, weekly.shift, weekly.rows_per_week)
    model = monitor_models.write_model(root, models.deployed, work / "models/deployed.skops")
    served, lines = scored_log.server_lines(model, models.deployed.model.sha256, sample)
    options = predictions.PredictionsOptions(weekly, sample)
    logged = predictions.write(work / LOG, work / LABELS, options, served.features, lines)
    written = generate.write(work / ROWS, weekly)
    weeks = [
        {"file": p.name, "start": generate.week_start(w).isoformat(), "end": generate.week_start(w + 1).isoformat()}
        for w, p in zip(range(start, start + weekly.weeks), written, strict=True)
    ]
    as_of = generate.week_start(start + weekly.weeks) + timedelta(days=LOOK_DAYS)
    doc = {"as_of": as_of.isoformat(), "maturity_days": example_labels.LEGIT_HORIZON_DAYS, "weeks": weeks}
    atomic.write_text(work / COLLECTED, json.dumps(doc, indent=2) + "\n")
    return (
        f"monitor collect: weeks {start}-{start + weekly.weeks - 1} (shift {weekly.shift}) scored by "
        f"{models.deployed.model.sha256[:12]}: {logged} rows logged, as of {as_of:%Y-%m-%d} -> {WORK}/"
    )


def read(root: Path) -> dict[str, Any]:
    """`build/monitor/collect.json`, checked: as_of, maturity_days and the weeks of `rows/`.

    Raises:
        ContractError: a missing or malformed file, naming it and the field.
    """
    path = root / WORK / COLLECTED
    shown = str(WORK / COLLECTED)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{shown}: unreadable ({exc}): run `make monitor-collect` first") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("weeks"), list):
        raise ContractError(f"{shown}: needs as_of, maturity_days and weeks: [{{file, start, end}}]")
    for i, week in enumerate(doc["weeks"]):
        if not isinstance(week, dict) or not all(isinstance(week.get(k), str) for k in ("file", "start", "end")):
            raise ContractError(f"{shown}: weeks[{i}] needs file, start and end (strings)")
    if doc["weeks"] and not (isinstance(doc.get("as_of"), str) and isinstance(doc.get("maturity_days"), int | float)):
        raise ContractError(f"{shown}: as_of (ISO 8601) and maturity_days (a number) are required with weeks")
    return doc
