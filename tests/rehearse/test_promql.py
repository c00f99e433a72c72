"""Which metric names a PromQL query reads: each rendered query reads exactly the contract's series it is
meant to, nothing else in a query (label values, strings, grouping lists, durations, numbers) is taken for
a metric, and a misspelt metric is flagged before a rehearsal starts anything."""

from __future__ import annotations

import pytest

from rollgate.contracts import metrics
from rollgate.manifests.deploy_config import environments
from rollgate.rehearse import plan, promql
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

REQUESTS, PREDICTIONS = metrics.REQUESTS.name, metrics.PREDICTIONS.name
SCORE = metrics.PREDICTION_SCORE.name
# metric -> the series its query reads (the evidence guard reads the canary's requests in every one)
EXPECTED = {
    "error-rate-delta": {REQUESTS},
    "p99-latency-ratio": {f"{metrics.REQUEST_DURATION.name}_bucket", REQUESTS},
    "input-rejection-delta": {metrics.INPUT_REJECTED.name, f"{metrics.BATCH_ROWS.name}_sum", REQUESTS},
    "positive-rate-ratio": {PREDICTIONS, REQUESTS},
    "mean-score-ratio": {f"{SCORE}_sum", f"{SCORE}_count", PREDICTIONS, REQUESTS},
    "score-distribution": {f"{SCORE}_bucket", f"{SCORE}_count", REQUESTS},
}


def _metrics(env: str) -> dict[str, str]:
    walked = plan.read(ROOT / "manifests" / env, plan.Hashes("c1", "s1"), defaults={"prometheus": "http://p:9"})
    analysis = next(s.analysis for s in walked.steps if s.analysis)
    return {m.name: m.query for m in analysis.metrics}


@pytest.mark.parametrize("env", environments(ROOT))
def test_each_rendered_query_reads_the_contract_series_it_means_to(env: str) -> None:
    queries = _metrics(env)
    assert {name: promql.names(query) for name, query in queries.items()} == EXPECTED
    assert all(not promql.unknown(query) for query in queries.values())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('rollgate_requests_total{code=~"5..",route="/v1/predict"}', {REQUESTS}),
        ('sum(x{label="rollgate_nope_total"})', {"x"}),  # a label value is no metric
        ('label_replace(x, "dst", \'not_a_metric\', `raw_string`, "(.*)")', {"x"}),
        ("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))", {"h_bucket"}),
        ("sum(rate(h_bucket[5m])) by (le, route)", {"h_bucket"}),
        ("a / on() group_left() b", {"a", "b"}),
        ("a * on(route) group_right(code) b", {"a", "b"}),
        ("a and ignoring(code) b unless c or d", {"a", "b", "c", "d"}),
        ("sum without (code) (c)", {"c"}),
        ("rate(x[1h30m]) * 1e3 + 0x1F - 1.5e-3 + .5", {"x"}),
        ("x offset 5m", {"x"}),
        ("x offset -1h30m > bool 2", {"x"}),
        ("max_over_time(x[10m:1m]) @ 1609746000", {"x"}),
        ("x @ start()", {"x"}),
        ("x > Inf or y < -Inf or z != NaN", {"x", "y", "z"}),
        ("atan2 atan2 atan2", set()),
        ("sum (rate (x[5m]))", {"x"}),
        ("http_5xx_total / rollgate_v2_requests_total", {"http_5xx_total", "rollgate_v2_requests_total"}),
        ("job:rollgate_requests:rate5m", {"job:rollgate_requests:rate5m"}),
        ("vector(0) + scalar(time())", set()),
    ],
)
def test_names_is_not_fooled(query: str, expected: set[str]) -> None:
    assert promql.names(query) == expected


def test_unknown_flags_a_misspelt_metric() -> None:
    good = _metrics("staging")["error-rate-delta"]
    misspelt = good.replace("rollgate_requests_total", "rollgate_request_total", 1)
    assert promql.unknown(good) == set() and promql.unknown(misspelt) == {"rollgate_request_total"}


def test_exported_holds_each_histograms_series_and_each_counter() -> None:
    exported = promql.exported()
    assert {REQUESTS, PREDICTIONS, metrics.MODEL_INFO.name} <= exported
    assert {f"{metrics.REQUEST_DURATION.name}_{s}" for s in ("bucket", "sum", "count")} <= exported
    assert metrics.REQUEST_DURATION.name not in exported  # a histogram has no series of its bare name
