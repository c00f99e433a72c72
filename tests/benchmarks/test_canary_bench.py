"""The canary bench: its reference of each criterion equals Prometheus's own evaluation of the rendered
queries (`promtool test rules`) on synthetic windows, its judging follows Argo's limits, and a short run
tells a good canary from a dead one and ends with the machine-readable line."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from benchmarks.canary import reference, rollout, simulate, template, traffic

from rollgate.contracts import metrics, release
from rollgate.contracts.errors import RollgateError
from rollgate.manifests import render
from rollgate.manifests.deploy_config import load_deploy_config
from rollgate.serve.metrics import LATENCY_BUCKETS
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

PROMTOOL = shutil.which("promtool")
EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None
TEXTS = render.render_texts(load_deploy_config(ROOT, "prod"), EXAMPLE)
PLAN = template.plan(TEXTS)
QUERIES = {
    m["name"]: m["provider"]["prometheus"]["query"]
    for n, t in TEXTS.items()
    if n.endswith("-analysistemplate.yaml")
    for m in yaml.safe_load(t)["spec"]["metrics"]
}
ARGS = {**PLAN.args, "namespace": "ns", "canary-hash": "c", "stable-hash": "s"}
SCORE_EDGES, LATENCY_EDGES = [*map(str, metrics.SCORE_BUCKETS), "+Inf"], [*map(str, LATENCY_BUCKETS), "+Inf"]
MINUTES = 10  # series length; queries are evaluated at the end, over the last window
POOL = traffic.beta_mixture(np.random.default_rng(1))
LAST_LINE = (
    r"false_abort=[01]\.\d{4} false_abort_upper95=[01]\.\d{4} dead_detect=[01]\.\d{4} "
    r"shifted_detect=[01]\.\d{4} seeds=\d+"
)


def _query(name: str) -> str:
    return re.sub(r"\{\{args\.([a-z0-9-]+)\}\}", lambda m: str(ARGS[m.group(1)]), QUERIES[name])


def _window(kind: str, requests: float, seed: int) -> reference.Side:
    """A window's counts: the sum of its intervals drawn as the bench draws them."""
    rng, model = np.random.default_rng(seed), traffic.canary(kind, traffic.Model(POOL, 0.1))
    per_window = PLAN.window_s // 60
    return traffic.side(sum(traffic.interval(rng, model, requests / per_window) for _ in range(per_window)))


def _series(hash_: str, s: reference.Side) -> list[dict[str, str]]:
    """Counters rising at a constant rate, so that their increase over the last window is `s`."""
    per_minute = 60 / PLAN.window_s
    base = {"namespace": "ns", "rollouts_pod_template_hash": hash_}
    route = {**base, "route": "/v1/predict"}
    score, latency = metrics.PREDICTION_SCORE.name, metrics.REQUEST_DURATION.name + "_bucket"
    counters = [
        (metrics.REQUESTS.name, {**route, "code": "200"}, s.requests - s.errors),
        (metrics.REQUESTS.name, {**route, "code": "500"}, s.errors),
        (metrics.BATCH_ROWS.name + "_sum", base, s.rows),
        (metrics.INPUT_REJECTED.name, {**base, "reason": "range"}, s.rejected),
        (metrics.PREDICTIONS.name, {**base, "label": "1"}, s.positives),
        (metrics.PREDICTIONS.name, {**base, "label": "0"}, s.rows - s.positives),
        (score + "_sum", base, s.score_sum),
        (score + "_count", base, s.rows),
        *((score + "_bucket", {**base, "le": e}, float(n)) for e, n in zip(SCORE_EDGES, s.score_le, strict=True)),
        *((latency, {**route, "le": e}, float(n)) for e, n in zip(LATENCY_EDGES, s.latency_le, strict=True)),
    ]  # fmt: skip
    out = []
    for name, labels, count in counters:
        text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        out.append({"series": f"{name}{{{text}}}", "values": f"0+{count * per_minute!r}x{MINUTES}"})
    return out


def _case(name: str, value: float | None) -> dict[str, object]:
    if value is None:
        return {"expr": _query(name), "eval_time": f"{MINUTES}m", "exp_samples": []}
    expr = f"({_query(name)}) == bool +Inf" if value == math.inf else f"abs(({_query(name)}) - {value!r}) < bool 1e-6"
    return {"expr": expr, "eval_time": f"{MINUTES}m", "exp_samples": [{"labels": "{}", "value": 1}]}


@pytest.fixture
def promtool() -> str:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: run `make test-deps`")
        pytest.skip("needs promtool (make test-deps installs Debian's prometheus)")
    return PROMTOOL


WINDOWS = [
    pytest.param("good", 3_000, id="good, ratios judged"),
    pytest.param("good", 800, id="good, too few positives for the ratios"),
    pytest.param("good", 100, id="too few requests for anything"),
    pytest.param("dead", 3_000, id="dead"),
    pytest.param("shifted", 3_000, id="shifted"),
    pytest.param("slow", 1_000, id="slow"),
    pytest.param("erroring", 1_000, id="erroring"),
]


@pytest.mark.parametrize(("kind", "requests"), WINDOWS)
def test_the_reference_is_what_prometheus_computes(tmp_path: Path, promtool: str, kind: str, requests: int) -> None:
    canary, stable = _window(kind, requests, 1), _window("good", 12_000, 2)
    expected = reference.values(canary, stable, PLAN, LATENCY_BUCKETS)
    assert not any(v is not None and math.isnan(v) for v in expected.values())
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": _series("c", canary) + _series("s", stable),
        "promql_expr_test": [_case(name, value) for name, value in expected.items()]}]}  # fmt: skip
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run(
        [promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (str(expected) + done.stdout + done.stderr)[-4000:]


def test_the_plan_comes_from_the_rendered_manifests() -> None:
    names = [m.name for m in PLAN.metrics]
    assert names == list(QUERIES)
    assert PLAN.steps[0].name == "shadow" and PLAN.steps[0].stable_share == 1.0
    assert [s.name for s in PLAN.steps[1:]] == [
        f"{w}%" for w in load_deploy_config(ROOT, "prod").rollout.canary_weights[:-1]
    ]


@pytest.mark.parametrize(
    ("values", "phase"),
    [
        pytest.param([0.0, 9.0, 0.0, 0.0, 0.0], "successful", id="one failure within the limit"),
        pytest.param([9.0, 0.0, 9.0, 0.0, 0.0], "failed", id="two failures"),
        pytest.param([math.nan, math.nan, 0.0, 0.0, 0.0], "failed", id="NaN fails"),
        pytest.param([0.0, None, 9.0, 9.0, 0.0], "inconclusive", id="an empty result first"),
        pytest.param([9.0, 9.0, None, 0.0, 0.0], "failed", id="failed before the empty result"),
    ],
)
def test_a_metric_is_judged_by_its_limits(values: list[float | None], phase: str) -> None:
    metric = template.Metric("m", 1.0, count=5, failure_limit=1, inconclusive_limit=0, interval_s=60)
    assert rollout.judge(metric, values) == phase


def test_a_short_run_aborts_a_dead_canary_in_shadow_and_ends_with_the_machine_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    simulate.main(["--seeds", "5", "--holdout", str(tmp_path / "none.parquet")])  # no holdout: the beta mixture
    lines = capsys.readouterr().out.splitlines()
    assert "beta mixture" in lines[0]
    assert re.match(LAST_LINE, lines[-1]), lines[-1]
    fields = dict(f.split("=") for f in lines[-1].split())
    assert fields["dead_detect"] == "1.0000" and fields["false_abort"] == "0.0000" and fields["seeds"] == "5"


def test_an_environment_without_a_release_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match="no release record"):
        template.load(tmp_path, "prod")


def test_a_what_if_replaces_a_rendered_argument_and_an_unknown_one_is_refused() -> None:
    tried = template.plan(TEXTS, {"max-p99-ratio": "1.5"})
    assert {m.name: m.threshold for m in tried.metrics}["p99-latency-ratio"] == 1.5
    with pytest.raises(RollgateError, match="no-such-arg"):
        template.plan(TEXTS, {"no-such-arg": "1"})
