"""Fixed params for tests of pure logic (the gate's decision, metrics, validation): the numbers those tests
are written against, independent of the params.yaml an adopter ships. Tests of the pipeline read the
shipped params.yaml instead (`tests.helpers.tiny_params`)."""

from __future__ import annotations

from typing import Any

from rollgate.params import EvaluateParams, GateParams, Params, TrainParams, ValidateParams, parse
from tests.helpers import _merge

FIXED: dict[str, Any] = {
    "shared": {"seed": 42, "model_name": "fraud-detector"},
    "validate": {
        "label_rate_min": 0.003,
        "label_rate_max": 0.05,
        "batch_label_rate": {"confidence": 0.999, "min_expected": 10},
        "max_examples": 5,
    },
    "prepare": {"holdout": {"weeks": 4}},
    "train": {
        "estimator": "hist_gradient_boosting",
        "hist_gradient_boosting": {
            "learning_rate": 0.1,
            "max_iter": 200,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 40,
            "l2_regularization": 0.0,
        },
        "logistic_regression": {"C": 1.0, "max_iter": 2000},
        "probe_rows": 512,
        "threads": 2,
    },
    "evaluate": {
        "fpr_target": 0.01,
        "segment_columns": ["channel"],
        "min_segment_size": 500,
        "calibration_bins": 10,
        "latency_rows": 1000,
        "latency_repeats": 7,
    },
    "gate": {
        "primary_metric": "roc_auc",
        "rule": "superiority",
        "decision_margin": 0.0,
        "margin": 0.01,
        "min_effect": 0.013,
        "confidence": 0.975,
        "resamples": 1000,
        "seed": 2026,
        "floors": {"roc_auc": 0.8, "average_precision": 0.15},
        "segments": {"columns": ["channel"], "min_size": 1000, "min_positives": 10, "tolerance": 0.02},
        "latency": {"budget_ratio": 1.5, "rows": 1000, "repeats": 7},
        "operating_point": {"max_positive_rate_ratio": 1.5},
    },
}


def params(**over: Any) -> Params:
    """The fixed params with `over` merged in, validated like params.yaml."""
    return parse(_merge(FIXED, over), "tests/fixed_params.py")


def gate(**over: Any) -> GateParams:
    return params(gate=over).gate


def train(**over: Any) -> TrainParams:
    return params(train=over).train


def evaluate(**over: Any) -> EvaluateParams:
    return params(evaluate=over).evaluate


def validate(**over: Any) -> ValidateParams:
    return params(validate=over).validate_
