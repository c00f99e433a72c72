"""The rendered AnalysisTemplate's queries, evaluated by Prometheus's own engine (`promtool test rules`) on
the window metrics of a canary and stable: a dead or constant-score canary fails, a good one passes, and
too few positives is inconclusive (an empty result), never a pass or an abort."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import metrics, release
from rollgate.manifests import render
from rollgate.manifests.deploy_config import load_deploy_config
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

PROMTOOL = shutil.which("promtool")
EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None
MINUTES = 10  # series length; queries are evaluated at the end
# A fraud-like model: most scores near 0, 1.5 % positives. Share of scores in each bucket (then +Inf).
GOOD_SHARES = {0.001: 0.40, 0.002: 0.25, 0.005: 0.15, 0.01: 0.08, 0.02: 0.05, 0.05: 0.03, 0.1: 0.015, 0.5: 0.01}


def _template() -> dict[str, Any]:
    cfg = load_deploy_config(ROOT, "prod")
    texts = render.render_texts(cfg, EXAMPLE)
    (name,) = [n for n in texts if n.endswith("-analysistemplate.yaml")]
    doc: dict[str, Any] = yaml.safe_load(texts[name])
    return doc


TEMPLATE = _template()
ARGS = {a["name"]: a.get("value") for a in TEMPLATE["spec"]["args"]}
ARGS.update({"namespace": "ns", "canary-hash": "c", "stable-hash": "s", "window": "120s"})
CRITERIA = {m["name"]: m for m in TEMPLATE["spec"]["metrics"]}


def _query(name: str) -> str:
    query: str = CRITERIA[name]["provider"]["prometheus"]["query"]
    return re.sub(r"\{\{args\.([a-z0-9-]+)\}\}", lambda match: str(ARGS[match.group(1)]), query)


def _threshold(name: str) -> str:
    arg = re.search(r"result\[0\] <= \{\{args\.([a-z0-9-]+)\}\}", CRITERIA[name]["successCondition"])
    assert arg is not None
    return str(ARGS[arg.group(1)])


def _counter(name: str, labels: dict[str, str], per_minute: float) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{text}}}", "values": f"0+{per_minute:g}x{MINUTES}"}


def _side(
    hash_: str, rows: float, *, shares: dict[float, float], positive_rate: float, mean: float, errors: float = 0.0
) -> list[dict[str, str]]:
    """One side's series: `rows` single-row requests a minute, their scores spread over `shares`."""
    base = {"namespace": "ns", "rollouts_pod_template_hash": hash_}
    route = {**base, "route": "/v1/predict"}
    out = [
        _counter(metrics.REQUESTS.name, {**route, "code": "200"}, rows * (1 - errors)),
        _counter(metrics.REQUESTS.name, {**route, "code": "500"}, rows * errors),
        _counter(metrics.BATCH_ROWS.name + "_sum", base, rows),
        _counter(metrics.PREDICTIONS.name, {**base, "label": "1"}, rows * positive_rate),
        _counter(metrics.PREDICTIONS.name, {**base, "label": "0"}, rows * (1 - positive_rate)),
        _counter(metrics.PREDICTION_SCORE.name + "_sum", base, rows * mean),
        _counter(metrics.PREDICTION_SCORE.name + "_count", base, rows),
    ]
    cumulative = 0.0
    for edge in metrics.SCORE_BUCKETS:
        cumulative += shares.get(edge, 0.0)
        out.append(_counter(metrics.PREDICTION_SCORE.name + "_bucket", {**base, "le": str(edge)}, rows * cumulative))
    out.append(_counter(metrics.PREDICTION_SCORE.name + "_bucket", {**base, "le": "+Inf"}, rows))
    for edge, share in (("0.005", 0.995), ("0.01", 1.0), ("+Inf", 1.0)):
        out.append(_counter(metrics.REQUEST_DURATION.name + "_bucket", {**route, "le": edge}, rows * share))
    return out


def _good(hash_: str, rows: float) -> list[dict[str, str]]:
    return _side(hash_, rows, shares=GOOD_SHARES, positive_rate=0.015, mean=0.0095)


def _evaluate(tmp_path: Path, series: list[dict[str, str]], cases: list[tuple[str, str]]) -> None:
    """Each (expression, expected) holds at the end: expected "pass"/"fail" (the criterion's threshold
    compared with `> bool`) or "empty" (inconclusive)."""
    tests = []
    for name, expected in cases:
        if expected == "empty":
            tests.append({"expr": _query(name), "eval_time": f"{MINUTES}m", "exp_samples": []})
        else:
            expr = f"({_query(name)}) > bool {_threshold(name)}"
            value = 1 if expected == "fail" else 0
            tests.append({"expr": expr, "eval_time": f"{MINUTES}m", "exp_samples": [{"labels": "{}", "value": value}]})
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}  # fmt: skip
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


@pytest.fixture(autouse=True)
def _needs_promtool() -> None:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: run `make test-deps`")
        pytest.skip("needs promtool (make test-deps installs Debian's prometheus)")


ALL = list(CRITERIA)
MODEL_AWARE = ["positive-rate-ratio", "mean-score-ratio", "score-distribution"]


def test_every_criterion_has_a_threshold_argument_with_a_value() -> None:
    assert set(ALL) >= set(MODEL_AWARE)
    for name in ALL:
        float(_threshold(name))


def test_a_good_canary_passes_every_criterion(tmp_path: Path) -> None:
    _evaluate(tmp_path, _good("c", 3_000) + _good("s", 12_000), [(name, "pass") for name in ALL])


@pytest.mark.parametrize(
    ("shares", "positive_rate", "mean", "passes"),
    [
        pytest.param({0.001: 1.0}, 0.0, 0.0, [], id="answers 0 for everything"),
        # Its mean is stable's by construction: only the positive rate and the distribution can see it.
        pytest.param({0.01: 1.0}, 0.0, 0.0095, ["mean-score-ratio"], id="answers stable's mean for everything"),
        pytest.param({0.999: 0.0}, 1.0, 1.0, [], id="answers 1 for everything"),
    ],
)
def test_a_constant_score_canary_fails_the_model_aware_criteria(
    tmp_path: Path, shares: dict[float, float], positive_rate: float, mean: float, passes: list[str]
) -> None:
    canary = _side("c", 3_000, shares=shares, positive_rate=positive_rate, mean=mean)
    cases = [(name, "pass" if name in passes else "fail") for name in MODEL_AWARE]
    cases += [("error-rate-delta", "pass"), ("p99-latency-ratio", "pass")]
    _evaluate(tmp_path, canary + _good("s", 12_000), cases)


def test_an_erroring_canary_fails_the_error_rate(tmp_path: Path) -> None:
    canary = _side("c", 3_000, shares=GOOD_SHARES, positive_rate=0.015, mean=0.0095, errors=0.05)
    _evaluate(tmp_path, canary + _good("s", 12_000), [("error-rate-delta", "fail")])


def test_too_few_expected_positives_is_inconclusive_for_the_ratios(tmp_path: Path) -> None:
    # 400 rows a minute, 800 in the 2-minute window: 12 positives expected at 1.5 %, under 30.
    canary = _side("c", 400, shares={0.001: 1.0}, positive_rate=0.0, mean=0.0)  # even a dead one: too little
    _evaluate(tmp_path, canary + _good("s", 12_000), [("positive-rate-ratio", "empty"), ("mean-score-ratio", "empty")])


def test_too_few_requests_is_inconclusive_for_every_criterion(tmp_path: Path) -> None:
    canary = _good("c", 50)  # 100 requests in the window, under min-requests (200)
    _evaluate(tmp_path, canary + _good("s", 12_000), [(name, "empty") for name in ALL])
