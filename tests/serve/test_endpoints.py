"""Every endpoint of a real server process, and the answers matching the model called in-process."""

from __future__ import annotations

import pytest

from rollgate.contracts import metrics as contract
from tests.serve.conftest import Server, TinyModel

pytestmark = pytest.mark.serve


def test_health_ready_model_openapi(server: Server, tiny_model: TinyModel) -> None:
    for admin in (False, True):  # the probes answer on both ports
        assert server.json("GET", "/healthz", admin=admin) == (200, {"status": "ok"})
        assert server.json("GET", "/readyz", admin=admin) == (200, {"ready": True, "draining": False})
    status, record = server.json("GET", "/v1/model", admin=True)
    assert status == 200
    assert (record["sha256"], record["name"], record["threshold"]) == (tiny_model.sha256, "fraud-detector", 0.5)
    assert record["predictor"] == "forest"
    assert [f["name"] for f in record["features"]] == tiny_model.contract.names
    assert record["id_field"] == tiny_model.contract.id_field
    status, doc = server.json("GET", "/openapi.json", admin=True)
    assert status == 200
    assert {"/v1/predict", "/invocations", "/healthz", "/readyz", "/metrics", "/v1/model"} <= set(doc["paths"])
    properties = doc["components"]["schemas"]["Row"]["properties"]
    assert set(properties) == {*tiny_model.contract.names, tiny_model.contract.id_field}  # the id: passed through
    for spec in tiny_model.contract.features:
        if spec.minimum is not None:
            key = "exclusiveMinimum" if spec.minimum_exclusive else "minimum"
            assert properties[spec.name][key] == spec.minimum


@pytest.mark.parametrize("path", ["/metrics", "/v1/model", "/openapi.json"])
def test_the_scoring_port_serves_only_scoring_and_probes(server: Server, path: str) -> None:
    assert server.request("GET", path)[0] == 404
    assert server.request("GET", path, admin=True)[0] == 200


@pytest.mark.parametrize("path", ["/v1/predict", "/invocations"])
def test_the_admin_port_does_not_score(server: Server, tiny_model: TinyModel, path: str) -> None:
    body = {"instances": tiny_model.rows(1)}
    assert server.request("POST", path, body, admin=True)[0] == 404
    assert server.request("POST", path, body)[0] == 200


def test_predict_scores_equal_the_model_in_process(server: Server, tiny_model: TinyModel) -> None:
    rows = tiny_model.rows(50)
    status, headers, _ = server.request("POST", "/v1/predict", {"instances": rows}, {"x-request-id": "abc-1"})
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 200
    assert headers["x-request-id"] == "abc-1"
    scores = [p["score"] for p in answer["predictions"]]
    assert scores == pytest.approx(tiny_model.scores(rows), abs=1e-12)
    assert [p["label"] for p in answer["predictions"]] == [int(s >= 0.5) for s in scores]
    assert answer["model"] == {"name": "fraud-detector", "sha256": tiny_model.sha256}


def test_unknown_fields_are_ignored_and_counted(server: Server, tiny_model: TinyModel) -> None:
    rows = [{**row, "new_feature": 1} for row in tiny_model.rows(3)]
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 200
    assert answer["ignored_fields"] == {"new_feature": 3}


@pytest.mark.parametrize("shape", ["dataframe_split", "dataframe_records", "instances", "inputs", "columns"])
def test_invocations_accepts_mlflow_formats(server: Server, tiny_model: TinyModel, shape: str) -> None:
    rows = tiny_model.rows(5, offset=7)
    names = list(rows[0])
    body = {
        "dataframe_split": {"dataframe_split": {"columns": names, "data": [[r[n] for n in names] for r in rows]}},
        "dataframe_records": {"dataframe_records": rows},
        "instances": {"instances": rows},
        "inputs": {"inputs": rows},
        "columns": {"inputs": {n: [r[n] for r in rows] for n in names}},
    }[shape]
    status, answer = server.json("POST", "/invocations", body)
    assert status == 200
    assert answer["scores"] == pytest.approx(tiny_model.scores(rows), abs=1e-12)
    assert answer["predictions"] == [int(s >= 0.5) for s in answer["scores"]]


def test_metrics_export_the_contract_and_move(server: Server, tiny_model: TinyModel) -> None:
    before = server.metrics()
    server.json("POST", "/v1/predict", {"instances": tiny_model.rows(4)})
    server.json("POST", "/v1/predict", {"instances": [{}]})  # every feature missing: refused
    after = server.metrics()
    for metric in contract.ALL:
        if metric is contract.AUTH_REQUESTS:  # only with --auth keys (tests/serve/test_auth.py)
            continue
        if metric in (contract.FEATURE_BIN, contract.FEATURE_REFERENCE_SHARE):  # with a baseline (test_bin_counts)
            continue
        suffix = {"histogram": "_count", "counter": "", "gauge": ""}[metric.kind]
        assert any(k.startswith(metric.name + suffix) for k in after), f"{metric.name} missing from /metrics"

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta('rollgate_requests_total{code="200",route="/v1/predict"}') == 1
    assert delta('rollgate_requests_total{code="422",route="/v1/predict"}') == 1
    assert delta('rollgate_request_duration_seconds_count{route="/v1/predict"}') == 2
    assert delta("rollgate_prediction_score_count") == 4
    assert delta('rollgate_predictions_total{label="0"}') + delta('rollgate_predictions_total{label="1"}') == 4
    assert delta("rollgate_batch_rows_sum") == 4
    assert delta('rollgate_input_rejected_total{reason="missing"}') == 1
    assert after[f'rollgate_model_info{{name="fraud-detector",sha256="{tiny_model.sha256}"}}'] == 1
