"""The OpenAPI document, generated from the served model's feature contract.

Built by hand rather than from pydantic models so that it states the contract exactly (types,
ranges with their exclusive bounds, categories, required fields) while requests are checked by the
fast hand-written validator. Fuzzers (schemathesis, in the tests) read it to aim at the edges. Each
scoring answer is described twice: in full (the scoring port) and label-only (the public port's
default, `rollgate.serve.answers`).
"""

from __future__ import annotations

from typing import Any

from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.serve.ids import MAX_ID_CHARS

_JSON_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "category": "string"}


def _feature(spec: FeatureSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _JSON_TYPES[spec.type]}
    if spec.description:
        out["description"] = spec.description
    if spec.categories is not None:
        out["enum"] = list(spec.categories)
    if spec.minimum is not None:
        out["exclusiveMinimum" if spec.minimum_exclusive else "minimum"] = spec.minimum
    if spec.maximum is not None:
        out["exclusiveMaximum" if spec.maximum_exclusive else "maximum"] = spec.maximum
    return out


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _post(summary: str, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "scores", "content": {"application/json": {"schema": answer}}},
            "400": _error("malformed JSON or an unaccepted body shape"),
            "408": _error("the body did not arrive within the body deadline"),
            "413": _error("body or row count over the limit"),
            "415": _error("not application/json"),
            "422": _error("rows that break the feature contract, one error per field and row"),
            "431": {"description": "request head (line and headers) over the size or count limit"},
            **_refusals("score"),
            "500": _error("scoring this request's batch failed (other requests are unaffected)"),
            "503": _error(
                "shed: overloaded, over a connection or in-flight byte cap, past the request deadline, "
                "or stopping (retry after the Retry-After seconds)"
            ),
        },
    }


def _refusals(scope: str) -> dict[str, Any]:
    """The answers of the API key check (`--auth keys`), which comes before anything else is read."""
    return {
        "401": _error("no API key, or an unknown one (WWW-Authenticate: Bearer); only with --auth keys"),
        "403": _error(f"the API key lacks the {scope!r} scope; only with --auth keys"),
    }


def _get(summary: str, codes: tuple[str, ...] = ("200",), scope: str | None = None) -> dict[str, Any]:
    responses = {code: {"description": summary} for code in codes}
    return {"summary": summary, "responses": {**responses, **(_refusals(scope) if scope else {})}}


def _answers(prediction: dict[str, Any]) -> dict[str, Any]:
    """The 200 answers of both scoring routes: in full, and label-only (the public port's default)."""
    label_only = {"type": "object", "properties": {"label": {"type": "integer"}, "id": prediction["properties"]["id"]}}
    labels = {"type": "array", "items": {"type": "integer"}}
    ids = {"type": "array", "items": {"type": ["string", "integer", "null"]}}
    request_id, ignored = {"type": "string"}, {"type": "object", "additionalProperties": {"type": "integer"}}
    return {
        "PredictAnswer": _object(
            predictions={"type": "array", "items": prediction}, model={"type": "object"},
            threshold={"type": "number"}, request_id=request_id, ignored_fields=ignored,
        ),
        "LabelOnlyPredictAnswer": _object(
            predictions={"type": "array", "items": label_only}, request_id=request_id, ignored_fields=ignored
        ),
        "InvocationsAnswer": _object(
            predictions=labels, scores={"type": "array", "items": {"type": "number"}}, ids=ids
        ),
        "LabelOnlyInvocationsAnswer": _object(predictions=labels, ids=ids),
    }  # fmt: skip


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": ["predictions"]}


def _either(name: str) -> dict[str, Any]:
    # The scoring port answers in full; --public-port answers label-only unless --public-answer score.
    refs = [{"$ref": f"#/components/schemas/{n}"} for n in (name, f"LabelOnly{name}")]
    return {"anyOf": refs}


def document(contract: FeatureContract, name: str, max_rows: int) -> dict[str, Any]:
    properties = {spec.name: _feature(spec) for spec in contract.features}
    if contract.id_field is not None:
        properties[contract.id_field] = {
            "type": ["string", "integer"],
            "maxLength": MAX_ID_CHARS,
            "minimum": -(2**63),
            "maximum": 2**64 - 1,
            "description": "the row's pass-through id: echoed in the answer and logged, never a model input",
        }
    row = {
        "type": "object",
        "properties": properties,
        "required": [spec.name for spec in contract.features if spec.required],
    }
    # Inlined rather than referenced: fuzzers generate from nested references poorly.
    rows = {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}
    prediction = {
        "type": "object",
        "properties": {
            "score": {"type": "number"},
            "label": {"type": "integer"},
            "id": {"type": ["string", "integer"]},
        },
    }
    predict_request = {"type": "object", "properties": {"instances": rows}, "required": ["instances"]}
    invocations = {
        "type": "object",
        "properties": {"dataframe_records": rows, "instances": rows, "inputs": rows},
        "minProperties": 1,
        "maxProperties": 1,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"rollgate model server: {name}", "version": "1"},
        "paths": {
            "/v1/predict": {"post": _post("score rows", predict_request, _either("PredictAnswer"))},
            "/invocations": {"post": _post("MLflow scoring protocol", invocations, _either("InvocationsAnswer"))},
            "/healthz": {"get": _get("the process is alive")},
            "/readyz": {"get": _get("loaded, warmed and not shutting down", ("200", "503"))},
            "/metrics": {"get": _get("Prometheus metrics (admin port only)", scope="metrics")},
            "/v1/model": {"get": _get("the release record of the served model (admin port only)", scope="model")},
        },
        "components": {
            "schemas": {
                "Row": row,
                "Error": {"type": "object", "properties": {"error": {"type": "string"}, "errors": {"type": "array"}}},
                **_answers(prediction),
            },
            # Declared, not required here: whether a key is checked is the server's --auth, not the document's.
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
