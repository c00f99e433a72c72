"""The model server's Prometheus metrics: names, types and labels, exactly as in CONTRACTS.md.

The server exports these and nothing else of its own; the AnalysisTemplates query these names. The
server never sets `rollouts_pod_template_hash`: the PodMonitor copies the pod label onto every series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str


# `code` is the HTTP status answered, or 499 when the client left before its answer; `route` is the
# request's route, or "other" for a request refused before its route was known (head limits, deadlines).
REQUESTS = Metric("rollgate_requests_total", "counter", ("route", "code"), "requests answered")
REQUEST_DURATION = Metric("rollgate_request_duration_seconds", "histogram", ("route",), "end-to-end latency")
BATCH_ROWS = Metric("rollgate_batch_rows", "histogram", (), "rows per estimator call")
PREDICTION_SCORE = Metric("rollgate_prediction_score", "histogram", (), "predicted probability")
PREDICTIONS = Metric("rollgate_predictions_total", "counter", ("label",), "predictions by label")
INPUT_REJECTED = Metric("rollgate_input_rejected_total", "counter", ("reason",), "rows refused by the input contract")
MODEL_INFO = Metric("rollgate_model_info", "gauge", ("sha256", "name"), "which model this pod serves")

ALL: tuple[Metric, ...] = (
    REQUESTS,
    REQUEST_DURATION,
    BATCH_ROWS,
    PREDICTION_SCORE,
    PREDICTIONS,
    INPUT_REJECTED,
    MODEL_INFO,
)

# Score histogram buckets: tenths of the 0..1 probability range (prediction shift is read from _sum/_count).
SCORE_BUCKETS: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(1, 11))
