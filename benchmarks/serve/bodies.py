"""The same rows in each server's request format, and the scores read back from each answer.

Every server gets the rows as the same JSON numbers and strings (the records the probe frame writes),
so all of them score exactly the same inputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rollgate.contracts.features import FeatureContract, FeatureType

MLSERVER_MODEL = "model"
# The V2 inference protocol's tensor datatypes for each contract type; strings travel as BYTES.
V2_DATATYPES: dict[FeatureType, str] = {"float": "FP64", "int": "INT64", "bool": "BOOL", "category": "BYTES"}


@dataclass(frozen=True)
class Requests:
    """One server's scoring path and its bodies: the first row alone, and all rows in one batch."""

    path: str
    one: str
    batch: str


def v2_body(rows: list[dict[str, Any]], contract: FeatureContract) -> dict[str, Any]:
    """A V2 inference request MLServer's pandas codec turns into one DataFrame column per feature."""
    inputs = [
        {"name": s.name, "datatype": V2_DATATYPES[s.type], "shape": [len(rows)], "data": [r[s.name] for r in rows]}
        for s in contract.features
    ]
    return {"parameters": {"content_type": "pd"}, "inputs": inputs, "outputs": [{"name": "predict_proba"}]}


def requests(rows: list[dict[str, Any]], contract: FeatureContract) -> dict[str, Requests]:
    """Each server's requests over `rows`, keyed by server name."""

    def both(path: str, make: Any) -> Requests:
        return Requests(path, json.dumps(make(rows[:1])), json.dumps(make(rows)))

    return {
        "rollgate": both("/v1/predict", lambda rs: {"instances": rs}),
        "mlflow": both("/invocations", lambda rs: {"dataframe_records": rs}),
        "mlserver": both(f"/v2/models/{MLSERVER_MODEL}/infer", lambda rs: v2_body(rs, contract)),
    }


def rollgate_scores(answer: dict[str, Any]) -> list[float]:
    return [float(p["score"]) for p in answer["predictions"]]


def mlserver_scores(answer: dict[str, Any]) -> list[float]:
    """The positive class's column of MLServer's `predict_proba` output (row-major, two columns)."""
    out = next(o for o in answer["outputs"] if o["name"] == "predict_proba")
    if out["shape"][1:] != [2]:
        raise SystemExit(f"MLServer's predict_proba has shape {out['shape']}, not [rows, 2]")
    return [float(x) for x in out["data"][1::2]]


def same_scores(ours: list[float], theirs: list[float], tolerance: float = 1e-9) -> float | None:
    """None when both score lists agree row by row within `tolerance`, else the largest difference."""
    if len(ours) != len(theirs):
        return float("inf")
    worst = max((abs(a - b) for a, b in zip(ours, theirs, strict=True)), default=0.0)
    return None if worst <= tolerance else worst
