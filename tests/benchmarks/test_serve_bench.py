"""The serving benchmark's pure parts: reading wrk, the requests each server gets, scores, the last line.

The benchmark itself (`make bench-serve`) starts real servers and measures them; no timing is asserted here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from benchmarks.serve import bodies, load, report

from rollgate.contracts.features import FeatureContract, FeatureSpec

pytestmark = pytest.mark.unit

CONTRACT = FeatureContract(
    (
        FeatureSpec("amount", "float", minimum=0.0),
        FeatureSpec("channel", "category", categories=("web", "pos")),
        FeatureSpec("card_present", "bool"),
        FeatureSpec("hour", "int", minimum=0, maximum=23),
    )
)
ROWS = [
    {"amount": 12.5, "channel": "web", "card_present": False, "hour": 3},
    {"amount": 0.25, "channel": "pos", "card_present": True, "hour": 23},
]
# wrk 4.1's --latency report, with the NON2XX line of the benchmark's Lua `done` hook.
WRK_OUT = """Running 10s test @ http://127.0.0.1:8080
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.55ms    1.54ms   8.57ms   84.27%
    Req/Sec     1.60k   332.32     2.16k    72.73%
  Latency Distribution
     50%  761.00us
     75%    2.06ms
     90%    3.92ms
     99%    1.07s
  17470 requests in 10.00s, 8.70MB read
Requests/sec:   1747.12
Transfer/sec:    806.80KB
NON2XX 3
"""
LAST_LINE = (
    r"throughput_ratio=\d+\.\d\d mlserver_ratio=\d+\.\d\d p99_ms=\d+\.\d\d batch_ratio=\d+\.\d\d "
    r"healthz_p99_ms=\d+\.\d\d"
)


def test_wrk_report_is_read_in_milliseconds() -> None:
    assert load.parse(WRK_OUT) == load.Load(rps=1747.12, p50=0.761, p99=1070.0, non2xx=3)


def test_wrk_report_without_the_lua_hook_is_an_error() -> None:
    with pytest.raises(SystemExit, match="could not read wrk's report"):
        load.parse(WRK_OUT.replace("NON2XX 3\n", ""))


def test_lua_script_posts_the_body_and_counts_non_2xx(tmp_path: Path) -> None:
    body = json.dumps({"instances": ROWS})
    script = load.lua(tmp_path / "one.lua", "/v1/predict", body).read_text()
    assert 'wrk.path = "/v1/predict"' in script
    assert f"wrk.body = {json.dumps(body)}" in script
    assert "summary.errors.status" in script


def test_v2_body_has_one_typed_input_per_feature_in_contract_order() -> None:
    body = bodies.v2_body(ROWS, CONTRACT)
    assert body["parameters"] == {"content_type": "pd"}
    assert body["outputs"] == [{"name": "predict_proba"}]
    assert [(i["name"], i["datatype"], i["shape"]) for i in body["inputs"]] == [
        ("amount", "FP64", [2]),
        ("channel", "BYTES", [2]),
        ("card_present", "BOOL", [2]),
        ("hour", "INT64", [2]),
    ]
    assert [i["data"] for i in body["inputs"]] == [[12.5, 0.25], ["web", "pos"], [False, True], [3, 23]]


def test_every_server_gets_the_same_rows() -> None:
    reqs = bodies.requests(ROWS, CONTRACT)
    assert json.loads(reqs["rollgate"].batch)["instances"] == ROWS
    assert json.loads(reqs["mlflow"].batch)["dataframe_records"] == ROWS
    assert json.loads(reqs["rollgate"].one)["instances"] == ROWS[:1]
    assert json.loads(reqs["mlserver"].one) == bodies.v2_body(ROWS[:1], CONTRACT)
    assert reqs["mlserver"].path == f"/v2/models/{bodies.MLSERVER_MODEL}/infer"


def test_mlserver_scores_are_the_positive_class_column() -> None:
    answer = {"outputs": [{"name": "predict_proba", "shape": [2, 2], "datatype": "FP64", "data": [0.9, 0.1, 0.3, 0.7]}]}
    assert bodies.mlserver_scores(answer) == [0.1, 0.7]


def test_mlserver_answer_of_another_shape_is_an_error() -> None:
    answer = {"outputs": [{"name": "predict_proba", "shape": [2], "data": [0.1, 0.7]}]}
    with pytest.raises(SystemExit, match="not \\[rows, 2\\]"):
        bodies.mlserver_scores(answer)


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        ([0.1, 0.7], None),
        ([0.1 + 1e-12, 0.7], None),
        ([0.1, 0.71], pytest.approx(0.01)),
        ([0.1], float("inf")),
    ],
)
def test_scores_compare_row_by_row(theirs: list[float], expected: object) -> None:
    assert bodies.same_scores([0.1, 0.7], theirs) == expected


def test_probe_percentiles() -> None:
    probes = load.Probes([float(ms) for ms in range(1, 101)], failures=0)
    assert probes.p50 == 50.5
    assert probes.p99 == pytest.approx(99.01)


def _figures() -> report.Figures:
    one = {
        "rollgate": load.Load(8000.0, 0.9, 2.5, 0),
        "mlflow": load.Load(200.0, 40.0, 90.0, 0),
        "mlserver": load.Load(800.0, 9.0, 20.0, 0),
    }
    batch = {"rollgate": 90_000.0, "mlflow": 20_000.0, "in-process baseline": 100_000.0}
    probes = load.Probes([1.0, 2.0, 3.0], failures=1)
    return report.Figures(1, one, batch, 80_000.0, probes, "admin")


def test_ratios_and_the_last_line() -> None:
    figures = _figures()
    assert figures.ratios == {"throughput_ratio": 40.0, "mlserver_ratio": 10.0, "batch_ratio": 0.9}
    line = report.last_line(figures)
    assert re.fullmatch(LAST_LINE, line), line
    assert line.startswith("throughput_ratio=40.00 mlserver_ratio=10.00 p99_ms=2.50 batch_ratio=0.90 ")


def test_table_names_every_server_and_the_probed_port() -> None:
    text = report.table(_figures())
    for name in ("rollgate serve", "mlflow models serve", "MLServer (batching)", "in-process baseline"):
        assert name in text
    assert "rollgate's admin port" in text
    assert "failed 1" in text
