"""Argo Rollouts' analysis semantics: reading a metric (arguments, durations, refusals), judging one measurement,
a metric's phase over its measurements, the run's phase, when to measure next, and what the rollout does."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts.errors import ContractError
from rollgate.rehearse.argo import Metric, metric, parse_duration, resolve, resolve_metric
from rollgate.rehearse.conditions import parse
from rollgate.rehearse.measure import (
    Measurement,
    Phase,
    assess,
    assess_run,
    evaluate,
    measurement,
    next_due,
    rollout_outcome,
)

pytestmark = pytest.mark.unit

S, F, E, INC = Phase.SUCCESSFUL, Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE
TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "manifests").glob("*/*-analysistemplate.yaml"))
ARGS = {"namespace": "fraud-staging", "canary-hash": "abc123", "stable-hash": "def456"}
BASE = Metric("m", "up", "http://127.0.0.1:9090")


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "m", "provider": {"prometheus": {"address": "http://p:9090", "query": "up"}}}
    return {**doc, **over}


def _prom(**over: Any) -> dict[str, Any]:
    return {"prometheus": {"address": "http://p:9090", "query": "up", **over}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        *[("60s", 60), ("2m", 120), ("1h30m", 5400), ("500ms", 0.5), ("1.5s", 1.5), ("0", 0), ("-2m", -120)],
        *[("+1m", 60), ("1.s", 1), (".5h", 1800), ("250us", 0.00025), ("3µs", 3e-6), ("1h0m0.25s", 3600.25)],
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, "t") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "60", "1h30", "s", ".s", "1d", "1 s", "1e3s", "1msx", "-", "3000000h"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ContractError, match=r"^metrics\[0\]\.interval: "):
        parse_duration(text, "metrics[0].interval")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{args.x}}", "1"),
        ("{{ args.x }}", "1"),
        ("a{{args.x}}b{{args.long-name}}c", "a1bvalue c"),
        ("no tags, } or { alone", "no tags, } or { alone"),
        ("{{args.multi}}", "a\nb"),
    ],
)
def test_resolve(text: str, expected: str) -> None:
    assert resolve(text, {"x": "1", "long-name": "value ", "multi": "a\nb"}, "t") == expected


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("{{args.y}}", {"x": "1"}, "{{args.y}} does not resolve"),
        ("{{templates.a.podTemplateHash}}", {"x": "1"}, "does not resolve"),
        ("{{args.x", {"x": "1"}, "without a closing"),
        ("{{args.x\n}}", {"x": "1"}, "does not resolve"),  # JSON escapes the newline inside the tag
        ("{{args.x}}", {"x": "a\x00b"}, "control character"),
        ("{{args.x}}", {"x": "a\vb"}, "control character"),
    ],
)
def test_resolve_refuses(text: str, args: dict[str, str], message: str) -> None:
    with pytest.raises(ContractError, match=re.escape(message)):
        resolve(text, args, "t")


def test_resolve_metric_names_the_field_and_keeps_integers_as_strings() -> None:
    doc = _doc(count="{{args.n}}", interval="{{args.every}}", failureLimit=1)
    resolved = resolve_metric(doc, {"n": "3", "every": "30s"}, "t")
    assert (resolved["count"], resolved["interval"], resolved["failureLimit"]) == ("3", "30s", 1)
    assert (metric(resolved, "t").count, metric(resolved, "t").interval_s) == (3, 30.0)
    with pytest.raises(ContractError, match=re.escape("t.provider.prometheus.query: {{args.q}}")):
        resolve_metric(_doc(provider=_prom(query="{{args.q}}")), {}, "t")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.parent.name)
def test_the_real_templates_read(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())["spec"]
    args = {arg["name"]: arg.get("value", ARGS.get(arg["name"], "")) for arg in spec["args"]}
    metrics = [metric(resolve_metric(m, args, f"metrics[{i}]"), f"metrics[{i}]") for i, m in enumerate(spec["metrics"])]
    assert len(metrics) == len(spec["metrics"]) >= 1
    for m in metrics:
        assert (m.interval_s, m.count, m.failure_limit, m.timeout_s) == (60.0, 5, 1, 30.0)
        assert (m.inconclusive_limit, m.consecutive_error_limit, m.initial_delay_s) == (0, 4, 0.0)
        assert m.success and m.failure and "{{" not in m.query + m.success_text + m.failure_text
        assert 'rollouts_pod_template_hash="abc123"' in m.query
        assert (evaluate(m, []), evaluate(m, [math.nan]), evaluate(m, [0.0]), evaluate(m, [1e9])) == (INC, F, S, F)
        assert evaluate(m, 0.5) is E  # a scalar: len(result) does not compile


def test_defaults() -> None:
    m = metric(_doc(successCondition="result[0] < 1"), "t")
    assert (m.count, m.interval_s, m.timeout_s, m.failure_limit, m.consecutive_error_limit) == (1, None, 30, 0, 4)
    assert m.failure is None and m.success_text == "result[0] < 1"
    assert metric(_doc(count=0), "t").count == 1  # no interval: Argo's effective count is one measurement
    assert metric(_doc(provider=_prom(headers=[], authentication={}, insecure=True)), "t").query == "up"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"provider": {"web": {"url": "http://x"}}}, "t.provider.web: the rehearsal runs Prometheus queries only"),
        ({"provider": {}}, "t.provider: Argo needs exactly one provider"),
        ({"provider": _prom(rangeQuery={"start": "now()"})}, "t.provider.prometheus.rangeQuery"),
        ({"provider": _prom(headers=[{"key": "a", "value": "b"}])}, "t.provider.prometheus.headers"),
        ({"provider": _prom(authentication={"sigv4": {"region": "x"}})}, "t.provider.prometheus.authentication"),
        ({"provider": _prom(address=None)}, "t.provider.prometheus.address"),
        ({"provider": _prom(address="p:9090")}, "t.provider.prometheus.address"),
        ({"provider": _prom(query="")}, "t.provider.prometheus.query"),
        ({"provider": _prom(timeout="30s")}, "t.provider.prometheus.timeout"),
        ({"provider": _prom(timeout=0)}, "t.provider.prometheus.timeout"),
        ({"interval": "1m"}, "runs indefinitely"),
        ({"interval": "1m", "count": 0}, "runs indefinitely"),
        ({"count": 2}, "t.interval: Argo needs an interval when count > 1"),
        ({"count": -1}, "t.count"),
        ({"count": "five", "interval": "1m"}, "t.count: 'five' is not an integer"),
        ({"count": 1, "failureLimit": 2}, "t.count"),
        ({"count": 1, "inconclusiveLimit": 2}, "t.count"),
        ({"failureLimit": -2}, "failureLimit >= -1"),
        ({"failureLimit": -1}, "t.failureLimit: -1 needs a consecutiveSuccessLimit"),
        ({"consecutiveErrorLimit": -1}, "the other limits >= 0"),
        ({"interval": "0s", "count": 2}, "t.interval: '0s' is not a positive duration"),
        ({"initialDelay": "-1m"}, "t.initialDelay"),
        ({"interval": "1x", "count": 2}, "t.interval: '1x' is not a Go duration"),
        ({"interval": 60, "count": 2}, "t.interval: 60 is not a duration string"),
        ({"dryRun": True}, "t.dryRun: not reproduced"),
        ({"name": ""}, "t.name"),
        ({"successCondition": "result[0] matches 'x'"}, "t.successCondition: the operator 'matches'"),
    ],
)
def test_metric_refuses(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError, match=re.escape(field)):
        metric(_doc(**over), "t")


@pytest.mark.parametrize(
    ("success", "failure", "result", "phase"),
    [
        ("", "", [1.0], S),  # no condition: always Successful
        ("result[0] < 1", "", [0.5], S),
        ("result[0] < 1", "", [2.0], F),  # only success: not meeting it fails
        ("", "result[0] > 1", [2.0], F),
        ("", "result[0] > 1", [0.5], S),  # only failure: not meeting it succeeds
        ("result[0] < 1", "result[0] > 2", [1.5], INC),  # both, neither met
        ("result[0] < 3", "result[0] > 2", [2.5], F),  # both met: failure wins
        ("result[0] < 1", "", [], E),  # index out of range
        ("true", "result[0] > 1", [], E),  # an error in the failure condition too
    ],
)
def test_evaluate(success: str, failure: str, result: list[float], phase: Phase) -> None:
    m = replace(
        BASE, success=parse(success, "s") if success else None, failure=parse(failure, "f") if failure else None
    )
    assert evaluate(m, result) is phase


def test_measurement_keeps_the_error() -> None:
    m = replace(BASE, success=parse("result[0] < 1", "m.successCondition"))
    got = measurement(m, [], 12.0)
    assert (got.phase, got.at, got.value) == (E, 12.0, [])
    assert "m.successCondition: index out of range" in got.message
    with pytest.raises(ValueError, match="never Running"):
        Measurement(Phase.RUNNING, 0.0)


def _ms(*phases: Phase) -> list[Measurement]:
    return [Measurement(p, 60.0 * i) for i, p in enumerate(phases)]


FIVE = replace(BASE, interval_s=60.0, count=5, failure_limit=1)


@pytest.mark.parametrize(
    ("metric_", "phases", "terminating", "expected"),
    [
        (FIVE, [], False, Phase.PENDING),
        (FIVE, [], True, S),  # told to stop before measuring
        (FIVE, [S], False, Phase.RUNNING),
        (FIVE, [S, S, S, S, S], False, S),  # count reached
        (FIVE, [S, F, S, S, S], False, S),  # failed (1) is not > failureLimit (1)
        (FIVE, [S, F, F], False, F),  # failed (2) > failureLimit (1), before the count
        (FIVE, [INC], False, INC),  # inconclusiveLimit 0
        (replace(FIVE, inconclusive_limit=1), [INC, S], False, Phase.RUNNING),
        (FIVE, [F, F, INC], False, INC),  # inconclusive overrides failed
        (FIVE, [E, E, E, E], False, Phase.RUNNING),  # 4 consecutive errors: not > 4
        (FIVE, [E, E, E, E, E], False, E),
        (FIVE, [F, F, E, E, E, E, E], False, E),  # error overrides failed
        (FIVE, [E, E, S, E, E, E, E], False, Phase.RUNNING),  # a success resets the errors
        (FIVE, [S, E, S, E, S, S, S], False, S),  # errors do not count towards count
        (replace(FIVE, consecutive_error_limit=0), [S, E], False, E),
        (replace(FIVE, failure_limit=-1, consecutive_success_limit=2), [F, F, F, S, S], False, S),
        (replace(FIVE, failure_limit=-1, consecutive_success_limit=3), [F, F, S, S, F], False, F),
        (replace(FIVE, consecutive_success_limit=2), [S, INC], False, INC),
        (replace(FIVE, consecutive_success_limit=3, inconclusive_limit=5), [INC, S, INC, S, S], False, INC),
        (FIVE, [S, F], True, S),  # the run terminates: a running metric ends Successful
        (replace(BASE, interval_s=60.0, count=None), [S, S], False, Phase.RUNNING),  # indefinitely
        (BASE, [S], False, S),  # no interval, no count: one measurement
        (BASE, [E], False, Phase.RUNNING),  # ...retried after an error
    ],
)
def test_assess(metric_: Metric, phases: list[Phase], terminating: bool, expected: Phase) -> None:
    assert assess(metric_, _ms(*phases), terminating) is expected


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ({"a": S, "b": S}, S),
        ({"a": S, "b": Phase.RUNNING}, Phase.RUNNING),
        ({"a": S, "b": Phase.PENDING}, Phase.RUNNING),
        ({"a": F, "b": Phase.RUNNING}, F),  # a failed metric ends the run at once
        ({"a": INC, "b": Phase.PENDING}, INC),
        ({"a": S, "b": INC, "c": E}, E),
        ({"a": E, "b": F, "c": INC}, F),  # Failed is worst, then Error, then Inconclusive
    ],
)
def test_assess_run_worst_wins(phases: dict[str, Phase], expected: Phase) -> None:
    assert assess_run(phases) is expected


def test_assess_run_needs_a_metric() -> None:
    with pytest.raises(ValueError, match="at least one metric"):
        assess_run({})


@pytest.mark.parametrize(
    ("metric_", "measurements", "due"),
    [
        (FIVE, [], 100.0),
        (replace(FIVE, initial_delay_s=30.0), [], 130.0),
        (FIVE, [Measurement(S, 100.5)], 160.5),  # an interval after the last one finished
        (FIVE, [Measurement(E, 100.5)], 110.5),  # 10 s after an error
        (FIVE, [Measurement(S, 100.0 + 60 * i) for i in range(5)], None),  # count reached
        (FIVE, [Measurement(F, 100.0), Measurement(F, 160.0)], None),  # failed
        (BASE, [Measurement(S, 100.0)], None),
        (BASE, [Measurement(E, 100.0)], 110.0),
    ],
)
def test_next_due(metric_: Metric, measurements: list[Measurement], due: float | None) -> None:
    assert next_due(metric_, measurements, started_at=100.0) == due


@pytest.mark.parametrize(("phase", "outcome"), [(S, "promote"), (F, "abort"), (E, "abort"), (INC, "inconclusive")])
def test_rollout_outcome(phase: Phase, outcome: str) -> None:
    assert rollout_outcome(phase) == outcome


def test_rollout_outcome_needs_a_completed_run() -> None:
    with pytest.raises(ValueError, match="still Running"):
        rollout_outcome(Phase.RUNNING)
