"""Rehearsals that must come out right, on real servers, nginx and Prometheus (short windows): a good
challenger is promoted through every step; bad ones are aborted by the analysis metric their fault moves
— shifted scores during the shadow step, before any user traffic reaches them — or as not ready; no
traffic is inconclusive, never a pass. The good one runs in `make test`, the rest in `make test-e2e`."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.manifests import render
from rollgate.rehearse import run, sides
from tests.rehearse.conftest import challenger, faults

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("rehearsal_tools"), pytest.mark.xdist_group("load")]

ENV = "staging"
QUICK = {"interval": "3s"}  # windows of 6 s, pauses of 6 s: the production queries, shorter


def _rehearse(root: Path, tmp: Path, **options: Any) -> tuple[run.timeline.Timeline, float]:
    started = time.monotonic()
    t = run.rehearse(root, run.Options(env=ENV, out=tmp / "out", **{**QUICK, **options}), say=lambda _: None)
    return t, time.monotonic() - started


def _report(t: run.timeline.Timeline, took: float) -> str:
    return f"{t.verdict} in {took:.0f} s: {t.reason}; decided by {t.decided_by}"


def test_a_good_challenger_is_promoted_through_every_step(project: Path, tmp_path: Path) -> None:
    t, took = _rehearse(project, tmp_path)
    print(_report(t, took))
    assert t.verdict == "promote", t.reason
    analysed = [s for s in t.steps if s.phase]
    assert [s.stage for s in analysed] == ["shadow", "5%", "25%"] and all(s.phase == "Successful" for s in analysed)
    assert t.steps[-1].kind == "full"
    assert t.traffic.get("canary 200", 0) > 0 and t.traffic.get("stable 422", 0) > 0  # invalid rows were sent
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "timeline.json" in written and {f"{m}.png" for m in t.thresholds} <= set(written)
    assert run.exit_code(t) == 0


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("shift", "metrics"),
    [(2.0, {"positive-rate-ratio", "mean-score-ratio", "score-distribution"}),  # scores shifted up
     (-60.0, {"positive-rate-ratio", "mean-score-ratio", "score-distribution"})],  # dead: scores everything 0
    ids=["shifted", "dead"],
)  # fmt: skip
def test_a_challenger_with_wrong_scores_is_aborted_in_the_shadow_step(
    project: Path, tmp_path: Path, shift: float, metrics: set[str]
) -> None:
    bad = challenger(project, tmp_path / "model", shift)
    t, took = _rehearse(project, tmp_path, challenger=bad.path, sha256=bad.sha256)
    print(_report(t, took))
    assert t.verdict == "abort" and t.decided_by is not None, t.reason
    assert t.decided_by["stage"] == "shadow" and t.decided_by["metric"] in metrics, t.decided_by
    assert t.decided_by["threshold"] is not None and t.decided_by["value"] is not None
    assert t.traffic.get("canary 200", 0) == 0  # no caller ever got the canary's answer
    assert run.exit_code(t) == 3


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("fault", "metric"),
    [("slow=0.25", "p99-latency-ratio"), ("errors=0.5", "error-rate-delta")],
    ids=["slow", "errors"],
)
def test_a_slow_or_failing_challenger_is_aborted_on_its_metric(
    project: Path, tmp_path: Path, fault: str, metric: str
) -> None:
    t, took = _rehearse(project, tmp_path, canary_env=faults(fault))
    print(_report(t, took))
    assert t.verdict == "abort" and t.decided_by is not None and t.decided_by["metric"] == metric, t.reason


@pytest.mark.e2e
def test_a_canary_whose_args_stop_it_is_aborted_as_not_ready(project: Path, tmp_path: Path) -> None:
    stable = sides.stable(project, ENV)
    folder = tmp_path / "canary"
    record = replace(stable.release, promoted_at="2026-01-01T00:00:00Z")
    render.render(project, ENV, record, folder)
    path = next(folder.glob("*-rollout.yaml"))
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["args"].append("--no-such-option")
    path.write_text(yaml.safe_dump(doc))
    t, took = _rehearse(project, tmp_path, canary_manifests=folder, ready_timeout_s=60.0)
    print(_report(t, took))
    assert t.verdict == "abort" and t.decided_by is not None and t.decided_by["metric"] == "readiness", t.reason
    assert "--no-such-option" in t.reason


@pytest.mark.e2e
def test_no_traffic_is_inconclusive_never_a_pass(project: Path, tmp_path: Path) -> None:
    t, took = _rehearse(project, tmp_path, rate=0.0)
    print(_report(t, took))
    assert t.verdict == "inconclusive" and run.exit_code(t) == 4, t.reason
    assert all(m["value"] is None for m in t.measurements)
