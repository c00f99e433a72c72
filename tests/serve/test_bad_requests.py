"""Client mistakes get the right 4xx, one error per field and row, and the server stays up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollgate.contracts.features import FeatureSpec
from rollgate.data.schema import DATASET
from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve

FEATURES = DATASET.features.features
NUMERIC = next((f for f in FEATURES if f.type in ("float", "int")), None)
FIRST, LAST = FEATURES[0], FEATURES[-1]

JSON = {"content-type": "application/json"}


def _row(tiny_model: TinyModel, **changes: Any) -> dict[str, Any]:
    row = tiny_model.rows(1)[0]
    for key, value in changes.items():
        if value is ...:
            row.pop(key)
        else:
            row[key] = value
    return row


BAD: list[tuple[str, str, str, Any, int]] = [
    # (case, method, path, body: a dict is JSON-encoded, bytes are sent as they are, a callable builds it)
    ("malformed JSON", "POST", "/v1/predict", b'{"instances": [', 400),
    ("not an object", "POST", "/v1/predict", b"[1, 2]", 400),
    ("no instances key", "POST", "/v1/predict", {"rows": []}, 400),
    ("instances not a list", "POST", "/v1/predict", {"instances": {"a": 1}}, 400),
    ("no rows", "POST", "/v1/predict", {"instances": []}, 400),
    ("a row not an object", "POST", "/v1/predict", {"instances": [1]}, 422),
    ("NaN literal", "POST", "/v1/predict", b'{"instances": [{"%s": NaN}]}' % FIRST.name.encode(), 400),
    ("mlflow: two formats", "POST", "/invocations", {"instances": [], "inputs": []}, 400),
    ("mlflow: split without data", "POST", "/invocations", {"dataframe_split": {"columns": ["a"]}}, 400),
    ("mlflow: ragged columns", "POST", "/invocations", {"inputs": {"a": [1], "b": [1, 2]}}, 400),
    ("wrong method", "GET", "/v1/predict", None, 405),
    ("unknown path", "GET", "/nowhere", None, 404),
    ("empty body", "POST", "/v1/predict", b"", 400),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_request(server: Server, case: tuple[str, str, str, Any, int]) -> None:
    _, method, path, body, status = case
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    got, _, data = server.request(method, path, raw=raw, headers=JSON if raw is not None else None)
    assert got == status, data
    if got not in (404, 405):
        assert json.loads(data)["error"]


def _wrong(spec: FeatureSpec) -> list[tuple[Any, str]]:
    """Values the contract refuses for `spec`, each with the reason the server must give."""
    out: list[tuple[Any, str]] = [(..., "missing"), (None, "type")]
    if spec.type == "category":
        out += [("not-one-of-the-categories", "category"), (7, "type")]
    elif spec.type == "bool":
        out += [(1, "type"), ("true", "type")]
    else:
        out += [("12", "type"), (True, "type")]
        if spec.minimum is not None:
            out.append((spec.minimum if spec.minimum_exclusive else spec.minimum - 1, "range"))
        if spec.maximum is not None:
            out.append((spec.maximum if spec.maximum_exclusive else spec.maximum + 1, "range"))
        if spec.type == "int":
            out += [(3.5, "type"), (2**70, "range")]
    return out


FIELD_CASES = [(spec.name, value, reason) for spec in FEATURES for value, reason in _wrong(spec)]


@pytest.mark.parametrize(
    ("field", "value", "reason"), FIELD_CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(FIELD_CASES)]
)
def test_invalid_field_gets_422_naming_row_and_field(
    server: Server, tiny_model: TinyModel, field: str, value: Any, reason: str
) -> None:
    rows = [tiny_model.rows(1)[0], _row(tiny_model, **{field: value})]
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 422
    assert [(e["row"], e["field"], e["reason"]) for e in answer["errors"]] == [(1, field, reason)]


@pytest.mark.skipif(NUMERIC is None, reason="the feature contract has no numeric feature")
def test_number_too_large_for_a_float(server: Server, tiny_model: TinyModel) -> None:
    assert NUMERIC is not None
    name = f'"{NUMERIC.name}": '
    body = json.dumps({"instances": [tiny_model.rows(1)[0]]}).replace(name, f'{name}1e400, "_": ', 1)
    status, _, data = server.request("POST", "/v1/predict", raw=body.encode(), headers=JSON)
    assert status in (400, 422), data


def test_one_error_per_field_and_row(server: Server, tiny_model: TinyModel) -> None:
    (first_bad, _), (last_bad, _) = _wrong(FIRST)[2], _wrong(LAST)[2]
    rows = [_row(tiny_model, **{FIRST.name: first_bad, LAST.name: last_bad}), _row(tiny_model, **{FIRST.name: ...})]
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 422
    expected = sorted({(0, FIRST.name), (0, LAST.name), (1, FIRST.name)})
    assert sorted((e["row"], e["field"]) for e in answer["errors"]) == expected


def test_content_type_and_limits(tiny_model: TinyModel, tmp_path: Any) -> None:
    server = start_server(tiny_model, tmp_path, "--max-rows", "10", "--max-body-bytes", "20000", "--strict")
    try:
        body = json.dumps({"instances": tiny_model.rows(2)}).encode()
        assert server.request("POST", "/v1/predict", raw=body, headers={"content-type": "text/csv"})[0] == 415
        assert server.request("POST", "/v1/predict", raw=body, headers={"content-type": ""})[0] == 415
        assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(11)})[0] == 413
        assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(5) * 20})[0] == 413  # bytes
        status, answer = server.json("POST", "/v1/predict", {"instances": [{**tiny_model.rows(1)[0], "x": 1}]})
        assert (status, answer["errors"][0]["reason"]) == (422, "unknown_field")
        assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(10)})[0] == 200
    finally:
        assert server.stop() == 0


def test_wrong_digest_refuses_to_start(tiny_model: TinyModel, tmp_path: Any) -> None:
    import subprocess

    from tests.serve.conftest import BIN

    cmd = [str(BIN / "rollgate"), "serve", "--model", str(tiny_model.path), "--sha256", "0" * 64, "--port", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "does not match the expected" in lines[0] or "describes sha256" in lines[0]

    (tmp_path / "model.skops").write_bytes(b"not a zip")
    cmd[3] = str(tmp_path / "model.skops")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "no feature contract" in done.stderr
