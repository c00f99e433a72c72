"""Bad input to `rollgate monitor`: exit 2, one line naming the file and the column, and the report an
earlier run wrote left exactly as it was. Run in-process (`rollgate.cli.main`) on tables in tmp_path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate import cli
from rollgate.monitor.reference import Holdout, build_reference
from tests.monitoring import world
from tests.monitoring.conftest import START

pytestmark = pytest.mark.unit
SCORED = ["--time-column", "ts", "--score-column", "score", "--label-column", "y"]


@pytest.fixture(scope="module")
def earlier(files: Path) -> tuple[Path, bytes]:
    """An output folder holding a good run's report, and that report's bytes."""
    out = files / "earlier"
    code = cli.main(["monitor", "drift", "--reference", str(files / "reference.parquet"),
                     "--current", str(files / "current.csv"), "--time-column", "ts", "--features", "f1,cat",
                     "--out", str(out)])  # fmt: skip
    assert code == 0
    return out, (out / "report.json").read_bytes()


def _current(folder: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    path = folder / name
    frame = change(world.table(1000, START, seed=5))
    frame.to_csv(path, index=False) if name.endswith(".csv") else frame.to_parquet(path)
    return path


def _log(folder: Path, digest: str = world.DIGEST) -> Path:
    path = folder / "predictions.jsonl"
    world.write_log(path, world.table(1000, START, seed=6), digest)
    return path


def _baseline(folder: Path, files: Path, digest: str) -> Path:
    frame = pd.read_parquet(files / "reference.parquet")
    holdout = Holdout(frame["score"].to_numpy(), frame["y"].to_numpy())
    reference = build_reference(frame, ["w1"] * len(frame), numeric=["f1", "f2"], categorical=["cat"], holdout=holdout)
    path = folder / "baseline.json"
    path.write_text(json.dumps(reference.to_dict() | {"model_sha256": digest}))
    return path


def _gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in weeks 2026-W10 and 2026-W12, none in 2026-W11."""
    late = frame["ts"] >= pd.Timestamp(START) + pd.Timedelta(days=7)
    return frame.assign(ts=frame["ts"].where(~late, frame["ts"] + pd.Timedelta(days=7)))


CASES: list[tuple[str, Callable[[Path, Path], list[str]], str]] = [
    ("a current table missing a feature",
     lambda d, f: ["drift", "--current", str(_current(d, "c.csv", lambda t: t.drop(columns="f2"))), *SCORED],
     r"c\.csv: column 'f2' missing"),
    ("a current table missing the score column",
     lambda d, f: ["performance", "--current", str(_current(d, "c.parquet", lambda t: t.drop(columns="score"))),
                   *SCORED], r"c\.parquet: column 'score' missing"),
    ("labels whose ids match no prediction",
     lambda d, f: ["performance", "--current", str(_current(d, "c.csv", lambda t: t)), "--labels",
                   str(_current(d, "l.csv", lambda t: t.assign(id="other-" + t["id"]))), *SCORED],
     r"l\.csv: no id in column 'id' matches a row of .*c\.csv"),
    ("a window with no rows",
     lambda d, f: ["drift", "--current", str(_current(d, "c.csv", _gap)), *SCORED],
     r"c\.csv: window 2026-W11 has no rows \(column 'ts'\)"),
    ("a reference without the score column",
     lambda d, f: ["drift", "--current", str(_current(d, "c.csv", lambda t: t)), *SCORED,
                   "--reference", str(_current(d, "r.parquet", lambda t: t.drop(columns="score")))],
     r"r\.parquet: column 'score' missing"),
    ("a reference without the time column",
     lambda d, f: ["drift", "--current", str(_current(d, "c.csv", lambda t: t)), *SCORED,
                   "--reference", str(_current(d, "r.csv", lambda t: t.drop(columns="ts")))],
     r"r\.csv: column 'ts' missing"),
    ("non-finite scores",
     lambda d, f: ["drift", "--current", str(_current(d, "c.csv", lambda t: t.assign(
         score=np.where(t.index == 7, np.inf, t["score"])))), *SCORED],
     r"c\.csv: column 'score' has 1 non-finite scores"),
    ("a prediction log from another model than --sha256",
     lambda d, f: ["drift", "--current", str(_log(d)), *SCORED, "--sha256", "cd" * 32],
     rf"predictions\.jsonl: column 'sha256' holds model digest {world.DIGEST}, expected {'cd' * 32}"),
    ("a prediction log from another model than the baseline's",
     lambda d, f: ["drift", "--current", str(_log(d)), "--score-column", "score",
                   "--reference", str(_baseline(d, f, "ef" * 32))],
     rf"predictions\.jsonl: column 'sha256' holds model digest {world.DIGEST}, expected {'ef' * 32}"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "argv", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_file_and_column_and_writes_nothing(  # noqa: PLR0917 (parameters and fixtures)
    case: str,
    argv: Callable[[Path, Path], list[str]],
    message: str,
    files: Path,
    earlier: tuple[Path, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = earlier
    args = argv(tmp_path, files)
    command, rest = args[0], args[1:]
    reference = [] if "--reference" in rest else ["--reference", str(files / "reference.parquet")]
    code = cli.main(["monitor", command, *reference, *rest, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("rollgate monitor: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), f"{case}: {err}"
    assert (out / "report.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["charts", "plots", "report.json", "report.md"]


def test_a_baseline_with_the_log_s_digest_is_a_reference(files: Path, tmp_path: Path) -> None:
    baseline, log = _baseline(tmp_path, files, world.DIGEST), _log(tmp_path)
    code = cli.main(["monitor", "drift", "--reference", str(baseline), "--current", str(log),
                     "--score-column", "score", "--out", str(tmp_path / "o")])  # fmt: skip
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert code == 0 and report["model_sha256"] == world.DIGEST and report["columns"]["time"] == "ts"


def test_row_windows_need_no_time_column(files: Path, tmp_path: Path) -> None:
    current = world.table(1000, START, seed=7).drop(columns="ts")
    current.to_parquet(tmp_path / "c.parquet")
    code = cli.main(["monitor", "drift", "--reference", str(files / "reference.parquet"), "--features", "f1,f2,cat",
                     "--current", str(tmp_path / "c.parquet"), "--window", "400",
                     "--out", str(tmp_path / "o")])  # fmt: skip
    windows = json.loads((tmp_path / "o" / "report.json").read_text())["windows"]
    assert code == 0 and [(w["window"], w["rows"], w["start"]) for w in windows] == [
        ("rows-0000", 400, None), ("rows-0001", 400, None), ("rows-0002", 200, None)]  # fmt: skip
