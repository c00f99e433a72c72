"""Request bodies to rows: rollgate's own format and MLflow's scoring formats.

`POST /v1/predict` takes `{"instances": [{feature: value, ...}, ...]}`. `POST /invocations` takes what
`mlflow models serve` takes — `dataframe_split`, `dataframe_records`, `instances` and `inputs` — so a
client can switch servers without changing a line. Anything else is the client's mistake: a
`BadRequestError` with a message, which the server answers with 400.
"""

from __future__ import annotations

from typing import Any

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class BadRequestError(Exception):
    """The body is JSON but not in an accepted shape."""


def _records(value: Any, where: str) -> list[Any]:
    """A list of row objects, or a dict of equal-length column lists turned into one."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        columns = list(value.items())
        if not all(isinstance(v, list) for _, v in columns):
            raise BadRequestError(f"{where}: as an object, every value must be a list (one per column)")
        lengths = {len(v) for _, v in columns}
        if len(lengths) > 1:
            raise BadRequestError(f"{where}: columns have different lengths {sorted(lengths)[:5]}")
        names = [k for k, _ in columns]
        return [dict(zip(names, values, strict=True)) for values in zip(*(v for _, v in columns), strict=True)]
    raise BadRequestError(f"{where}: must be a list of row objects or an object of columns")


def predict_rows(body: Any) -> list[Any]:
    """Rows of a `/v1/predict` body."""
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequestError('body must be an object with "instances": a list of row objects')
    rows = body["instances"]
    if not isinstance(rows, list):
        raise BadRequestError('"instances" must be a list of row objects')
    return rows


def _split(value: Any) -> list[Any]:
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list) or "data" not in value:
        raise BadRequestError('dataframe_split: must be an object with "columns" and "data"')
    columns, data = value["columns"], value["data"]
    if not all(isinstance(c, str) for c in columns):
        raise BadRequestError("dataframe_split: column names must be strings")
    if not isinstance(data, list) or not all(isinstance(r, list) and len(r) == len(columns) for r in data):
        raise BadRequestError(f'dataframe_split: "data" must be a list of rows of {len(columns)} values')
    return [dict(zip(columns, row, strict=True)) for row in data]


def invocation_rows(body: Any) -> list[Any]:
    """Rows of an MLflow scoring body (exactly one of its four keys, plus MLflow's optional "params")."""
    if not isinstance(body, dict):
        raise BadRequestError(f"body must be an object with one of {list(MLFLOW_KEYS)}")
    present = [k for k in MLFLOW_KEYS if k in body]
    if len(present) != 1:
        raise BadRequestError(f"body must have exactly one of {list(MLFLOW_KEYS)} (found {present or 'none'})")
    key = present[0]
    if key == "dataframe_split":
        return _split(body[key])
    return _records(body[key], key)
