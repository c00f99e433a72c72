"""`--public-port`: scoring and probes only, label-only answers by default, the same keys and the same metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.serve.settings import ServeSettings
from tests.serve.conftest import Server, TinyModel, start_server, write_keys

pytestmark = pytest.mark.serve

KEY, OPS = "partner-key-0123456789", "ops-key-0123456789abc"
KEYS = {"partner": (KEY, ["score"]), "ops": (OPS, ["score", "model", "metrics"])}


def public_port(server: Server) -> int:
    """The third port the server listens on (asked for as --public-port 0), from its start-up lines."""
    ports = re.findall(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", server.log.read_text())
    return next(int(p) for p in dict.fromkeys(ports) if int(p) not in (server.port, server.admin_port))


@pytest.fixture(scope="module")
def keyed(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    """Two workers (the public socket handed over like the others), API keys, label-only answers."""
    tmp = tmp_path_factory.mktemp("public")
    keys = write_keys(tmp / "keys.json", KEYS)
    running = start_server(tiny_model, tmp, "--public-port", "0", "--workers", "2", "--api-keys", str(keys))
    yield running, public_port(running)
    running.stop()


def _rows(model: TinyModel, n: int) -> list[dict[str, Any]]:
    assert model.contract.id_field is not None
    return [{**row, model.contract.id_field: f"t{i}"} for i, row in enumerate(model.rows(n))]


def _post(server: Server, port: int, path: str, body: Any, key: str | None = KEY) -> tuple[int, Any]:
    headers = {"X-API-Key": key} if key else {}
    status, _, data = server.request("POST", path, body, headers=headers, port=port)
    return status, json.loads(data)


def test_public_answers_carry_labels_only(keyed: tuple[Server, int], tiny_model: TinyModel) -> None:
    server, public = keyed
    rows = _rows(tiny_model, 5)
    labels = [int(s >= 0.5) for s in tiny_model.scores(rows)]
    status, answer = _post(server, public, "/v1/predict", {"instances": rows})
    assert status == 200
    assert set(answer) == {"predictions", "request_id"}
    assert answer["predictions"] == [{"label": lab, "id": f"t{i}"} for i, lab in enumerate(labels)]
    status, answer = _post(server, public, "/v1/predict", {"instances": [{**rows[0], "extra": 1}]})
    assert set(answer) == {"predictions", "request_id", "ignored_fields"}  # about the caller's own input
    assert _post(server, public, "/invocations", {"dataframe_records": rows}) == (
        200,
        {"predictions": labels, "ids": [f"t{i}" for i in range(5)]},
    )
    plain = [{k: v for k, v in row.items() if k != tiny_model.contract.id_field} for row in rows]
    assert _post(server, public, "/invocations", {"instances": plain}) == (200, {"predictions": labels})
    status, full = _post(server, server.port, "/v1/predict", {"instances": rows})  # the scoring port: in full
    assert status == 200 and {"model", "threshold"} <= set(full) and "score" in full["predictions"][0]


@pytest.mark.parametrize("path", ["/metrics", "/v1/model", "/openapi.json"])
def test_the_public_port_has_no_admin_paths(keyed: tuple[Server, int], path: str) -> None:
    server, public = keyed
    assert server.request("GET", path, headers={"X-API-Key": OPS}, port=public)[0] == 404
    assert server.request("GET", path, port=public)[0] == 404
    assert server.request("GET", path, headers={"X-API-Key": OPS}, admin=True)[0] == 200


def test_the_public_port_checks_keys_but_not_on_probes(keyed: tuple[Server, int], tiny_model: TinyModel) -> None:
    server, public = keyed
    for path in ("/healthz", "/readyz"):
        assert server.request("GET", path, port=public)[0] == 200
    body = {"instances": tiny_model.rows(1)}
    status, headers, _ = server.request("POST", "/v1/predict", body, port=public)
    assert (status, headers["www-authenticate"]) == (401, 'Bearer realm="rollgate"')
    assert (
        _post(server, public, "/invocations", {"instances": tiny_model.rows(1)}, key="wrong-key-0123456789")[0] == 401
    )


def test_public_requests_are_counted_like_the_others(keyed: tuple[Server, int], tiny_model: TinyModel) -> None:
    server, public = keyed
    ops = {"X-API-Key": OPS}
    before = server.metrics(ops)
    _post(server, public, "/v1/predict", {"instances": tiny_model.rows(3)})
    _post(server, public, "/invocations", {"instances": tiny_model.rows(1)}, key=None)
    after = server.metrics(ops)

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta('rollgate_requests_total{code="200",route="/v1/predict"}') == 1
    assert delta('rollgate_requests_total{code="401",route="/invocations"}') == 1
    assert delta('rollgate_request_duration_seconds_count{route="/v1/predict"}') == 1
    assert delta("rollgate_prediction_score_count") == 3
    assert delta('rollgate_auth_requests_total{key="partner",outcome="allowed"}') == 1


def test_the_openapi_document_describes_both_answers(keyed: tuple[Server, int]) -> None:
    server, _ = keyed
    _, _, data = server.request("GET", "/openapi.json", headers={"X-API-Key": OPS}, admin=True)
    doc = json.loads(data)
    schemas = doc["components"]["schemas"]
    assert set(schemas["LabelOnlyPredictAnswer"]["properties"]) == {"predictions", "request_id", "ignored_fields"}
    assert set(schemas["LabelOnlyPredictAnswer"]["properties"]["predictions"]["items"]["properties"]) == {"label", "id"}
    assert set(schemas["LabelOnlyInvocationsAnswer"]["properties"]) == {"predictions", "ids"}
    ok = doc["paths"]["/v1/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in ("PredictAnswer", "LabelOnlyPredictAnswer")]
    assert ok == {"anyOf": refs}
    assert {"401", "403"} <= set(doc["paths"]["/invocations"]["post"]["responses"])


def test_public_answer_score_answers_as_the_scoring_port(tiny_model: TinyModel, tmp_path: Path) -> None:
    running = start_server(tiny_model, tmp_path, "--public-port", "0", "--public-answer", "score")
    try:
        public, rows = public_port(running), _rows(tiny_model, 3)
        for path, body in (("/v1/predict", {"instances": rows}), ("/invocations", {"dataframe_records": rows})):
            status, theirs = _post(running, public, path, body, key=None)
            ours = _post(running, running.port, path, body, key=None)[1]
            theirs.pop("request_id", None), ours.pop("request_id", None)
            assert (status, theirs) == (200, ours)
    finally:
        running.stop()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ({"port": 9000, "admin_port": 9001, "public_port": 9000}, "--port and --public-port must differ"),
        ({"port": 9000, "admin_port": 9001, "public_port": 9001}, "--admin-port and --public-port must differ"),
        ({"port": 9000, "admin_port": 9000}, "--port and --admin-port must differ"),
        ({"port": 0, "admin_port": 0, "public_port": 0}, None),  # each its own free port
        ({"public_answer": "scores"}, "--public-answer must be label or score"),
    ],
)
def test_ports_differ_and_the_settings_cross_to_workers(ports: dict[str, Any], message: str | None) -> None:
    if message is not None:
        with pytest.raises(RollgateError, match=message):
            ServeSettings("m", "0" * 64, **ports)
        return
    settings = ServeSettings("m", "0" * 64, **ports, auth="keys", api_keys="/etc/rollgate/keys.json")
    assert ServeSettings.from_json(settings.to_json()) == settings
