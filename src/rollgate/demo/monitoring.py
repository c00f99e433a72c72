"""`make demo-monitor`: the monitor on the example's weeks after training, with a shift, explained.

The trained model (`models/`, else `make demo`'s) scores the example generator's next weeks as the
server would log them; `rollgate monitor drift` then judges that log against the training rows, week by
week (`rollgate data predictions --labels` also writes the rows' delayed labels; judging realized
performance in the demo waits for the evaluate stage's baseline, which holds the holdout's scores). The
columns it names (id, timestamp, label) come from the dataset definition, so the same run works on an
adopter's schema once their generator or their own log stands in for the example's.
"""

from __future__ import annotations

from pathlib import Path

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.data.example import generate, predictions
from rollgate.data.schema import DATASET
from rollgate.demo import trained
from rollgate.monitoring import run as monitor_run
from rollgate.monitoring import scored_log
from rollgate.monitoring.options import Options

OUT = Path(".demo/monitor")
FIRST_WEEK = 12  # the first week after the example's training weeks
WEEKS = 3


def run(root: Path, shift: str) -> int:
    """Write the log and the report under `root/.demo/monitor/`; the monitor's exit code (1: an alarm).

    Raises:
        RollgateError: no trained model or no training rows beside it, or an unknown shift.
    """
    if shift not in generate.SHIFTS:
        raise RollgateError(f"unknown shift {shift!r}: one of {', '.join(generate.SHIFTS)}")
    model = trained.locate(root)
    if model.note:
        print(f"  {model.note}")
    reference = model.folder.parent / paths.TRAIN_SET
    if not reference.is_file():
        raise RollgateError(f"{reference}: no training rows beside the model: run `make demo` or `dvc pull` first")
    out = root / OUT
    log = out / "predictions.jsonl"
    weekly = generate.GenerateOptions(weeks=WEEKS, start_week=FIRST_WEEK, shift=shift)
    served, lines = scored_log.server_lines(model.artifact, model.sha256, 1.0)
    rows = predictions.write(log, None, predictions.PredictionsOptions(weekly), served.features, lines)
    print(f"rollgate demo monitor: {rows} rows of weeks {FIRST_WEEK}-{FIRST_WEEK + WEEKS - 1} (shift {shift})")
    print(f"  scored by {model.sha256[:12]} and logged as the server logs them -> {log}")
    options = Options(
        "drift", reference, log, time_column=DATASET.timestamp, id_column=DATASET.id,
        label_column=DATASET.label, sha256=model.sha256, out=out / "report",
    )  # fmt: skip
    code = monitor_run.monitor(options)
    verdict = "an alarm" if code else "no alarm"
    print(f"  rollgate monitor drift against {reference}: {verdict}")
    print(f"  report: {options.out / 'report.md'}; charts: {options.out / 'charts'}/")
    return code
