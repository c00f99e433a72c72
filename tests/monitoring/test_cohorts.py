"""Each cohort judged once, when its labels have matured: `--maturity-days`, `--as-of` and `--judged`
(the previous run's report) over the generic tables, in process and as a user runs it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor import report
from rollgate.monitor.policy import DEFAULT_POLICY
from rollgate.monitoring import outputs, run
from rollgate.monitoring.options import Options
from tests.helpers import BIN

pytestmark = pytest.mark.integration
# current.csv holds ISO weeks 2026-W10 (ends 2026-03-09) and 2026-W11 (ends 2026-03-16)
COLUMNS = {"time_column": "ts", "score_column": "score", "label_column": "y"}


def _options(files: Path, **given: object) -> Options:
    fields: dict[str, object] = {"reference": files / "reference.parquet", "current": files / "current.csv"}
    return Options("performance", **(fields | COLUMNS | given))  # type: ignore[arg-type]


def _states(outcome: run.Outcome) -> dict[str, str]:
    return {r.window: r.cohort for r in outcome.results}


def _write(outcome: run.Outcome, out: Path) -> Path:
    outputs.write(out, outputs.render(outcome, DEFAULT_POLICY))
    return out / "report.json"


def test_a_window_is_judged_once_its_labels_are_mature_and_never_again(files: Path, tmp_path: Path) -> None:
    first = run.judge(_options(files, maturity_days=14, as_of="2026-03-25"))
    assert _states(first) == {"2026-W10": report.JUDGED, "2026-W11": report.WAITING}
    judged = {r.window: r.performance is not None for r in first.results}
    assert judged == {"2026-W10": True, "2026-W11": False}
    one_cohort = first.alphas.realized

    later = run.judge(_options(files, maturity_days=14, as_of="2026-04-05", judged=_write(first, tmp_path / "1")))
    assert _states(later) == {"2026-W10": report.JUDGED_BEFORE, "2026-W11": report.JUDGED}
    assert [r.window for r in later.results if r.performance is not None] == ["2026-W11"]
    assert later.alphas.realized == pytest.approx(one_cohort)  # the budget is split over this run's cohorts only

    carried = run.judge(_options(files, maturity_days=14, as_of="2026-05-01", judged=_write(later, tmp_path / "2")))
    assert set(_states(carried).values()) == {report.JUDGED_BEFORE}
    assert all(r.performance is None for r in carried.results)
    assert "realized" not in {f.name for r in carried.results for f in r.families}


def test_without_a_horizon_the_labels_given_are_taken_as_matured(files: Path) -> None:
    assert set(_states(run.judge(_options(files))).values()) == {report.JUDGED}
    drift = run.judge(replace(_options(files, maturity_days=14, as_of="2026-03-25"), command="drift"))
    assert set(_states(drift).values()) == {report.NOT_ASKED}


def test_another_models_report_carries_no_judgments(files: Path, tmp_path: Path) -> None:
    first = _write(run.judge(_options(files, sha256="ab" * 32)), tmp_path / "1")
    assert set(_states(run.judge(_options(files, sha256="cd" * 32, judged=first))).values()) == {report.JUDGED}
    assert set(_states(run.judge(_options(files, sha256="ab" * 32, judged=first))).values()) == {report.JUDGED_BEFORE}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"maturity_days": -1.0}, "--maturity-days -1.0: a number of days, 0 or more"),
        ({"maturity_days": 7.0, "as_of": "yesterday-ish"}, "--as-of 'yesterday-ish': not a time"),
        ({"maturity_days": 7.0, "window": "500", "time_column": None}, "--maturity-days needs times"),
    ],
)
def test_bad_maturity_options_are_refused(files: Path, given: dict[str, object], message: str) -> None:
    with pytest.raises(RollgateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run.judge(_options(files, **given))


def test_a_judged_file_that_is_no_report_exits_2_naming_it_and_writes_nothing(files: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "report.json"
    bogus.write_text(json.dumps({"windows": []}))
    out = tmp_path / "out"
    done = subprocess.run(
        [str(BIN / "rollgate"), "monitor", "performance", "--reference", str(files / "reference.parquet"),
         "--current", str(files / "current.csv"), "--time-column", "ts", "--score-column", "score",
         "--label-column", "y", "--maturity-days", "7", "--judged", str(bogus), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert str(bogus) in done.stderr and "monitor-report schema" in done.stderr
    assert not out.exists()
