"""The model server's Prometheus metrics: names, types and labels, exactly as in CONTRACTS.md.

The server exports these and nothing else of its own; the AnalysisTemplates query these names. The
server never sets `rollouts_pod_template_hash`: the PodMonitor copies the pod label onto every series.
"""

from __future__ import annotations

import math
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
# Only with `--auth keys`. `key` is the key's id from the key file, "none" when no key was sent and
# "unknown" for a key the file does not hold (never the key itself); `outcome` is allowed,
# unauthenticated (401) or forbidden (403: a known key without the path's scope).
AUTH_REQUESTS = Metric(
    "rollgate_auth_requests_total", "counter", ("key", "outcome"), "requests checked for an API key, by key id"
)

# Only when the release record carries the baseline's bins (`baseline.features`): every scored row
# counted into its bin of each feature, and the reference share of each bin, so per-feature drift (PSI)
# is computed on all traffic in PromQL. `bin` is the bin's index ("0", "1", ...) for a numeric feature,
# then "missing"; the category for a categorical one, then "unseen": a fixed, bounded set of series.
FEATURE_BIN = Metric(
    "rollgate_feature_bin_total", "counter", ("feature", "bin"), "scored rows per baseline bin of each feature"
)
FEATURE_REFERENCE_SHARE = Metric(
    "rollgate_feature_reference_share", "gauge", ("feature", "bin"), "the baseline's share of rows in each bin"
)
MISSING_BIN, UNSEEN_BIN = "missing", "unseen"

ALL: tuple[Metric, ...] = (
    REQUESTS,
    REQUEST_DURATION,
    BATCH_ROWS,
    PREDICTION_SCORE,
    PREDICTIONS,
    INPUT_REJECTED,
    MODEL_INFO,
    AUTH_REQUESTS,
    FEATURE_BIN,
    FEATURE_REFERENCE_SHARE,
)

# Score histogram buckets, fixed and model-independent: roughly even steps on the logit scale from 0.001
# to 0.999, symmetric around 0.5 (p and 1 - p are both edges). A fraud model with 1 % positives needs
# resolution near 0 as a balanced model needs it near 1; canary and stable always share these edges,
# so the analysis compares their score distributions bucket by bucket whatever the label rate.
_LOW_EDGES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4)
SCORE_BUCKETS: tuple[float, ...] = (*_LOW_EDGES, 0.5, *(round(1 - p, 3) for p in reversed(_LOW_EDGES)))


# A recording rule the alert rules render from the release record's baseline: the holdout's share of
# scores at or below each bound, one series per bound (labels `le`, as `le_label` writes it, and
# `namespace`), so the live score distribution is compared with the champion's in PromQL.
REFERENCE_SCORE_CDF = "rollgate:reference_score_cdf"


def le_label(bound: float) -> str:
    """A histogram bound as Prometheus clients write the `le` label (Go's shortest float form; the
    score bounds never need an exponent), so a rule's series join the server's on `le`."""
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    text = repr(float(bound))
    if "e" in text or (bound > 0 and text.find(".") > 6):
        raise ValueError(f"bound {bound!r}: written with an exponent by Prometheus clients, not supported here")
    return text
