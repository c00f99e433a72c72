"""`params.yaml`, validated once at the boundary into frozen typed objects.

Every section is a pydantic model with `extra="forbid"` (an unknown key is an error), strict types (a
string is never silently read as a number) and declared ranges. `load` names the file and the dotted
key of every problem before any stage does work. Stages receive only their own section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rollgate.contracts import strict_yaml
from rollgate.contracts.errors import ParamsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SharedParams(_Section):
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    model_name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")] = "fraud-detector"


class ValidateParams(_Section):
    # A label rate outside this band means a broken join or labelling job, not a real change in fraud.
    label_rate_min: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.003
    label_rate_max: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05
    max_examples: Annotated[int, Field(ge=1, le=100)] = 5

    @model_validator(mode="after")
    def _band(self) -> ValidateParams:
        if self.label_rate_min >= self.label_rate_max:
            raise ValueError("label_rate_min must be below label_rate_max")
        return self


class PrepareParams(_Section):
    holdout_weeks: Annotated[int, Field(ge=1, le=52)] = 4


class HistGradientBoostingParams(_Section):
    learning_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    max_iter: Annotated[int, Field(ge=1, le=5000)] = 200
    max_leaf_nodes: Annotated[int, Field(ge=2, le=1024)] = 31
    min_samples_leaf: Annotated[int, Field(ge=1, le=100_000)] = 40
    l2_regularization: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.0


class LogisticRegressionParams(_Section):
    C: Annotated[float, Field(gt=0.0, le=1e6)] = 1.0
    max_iter: Annotated[int, Field(ge=10, le=100_000)] = 2000


class TrainParams(_Section):
    estimator: Literal["hist_gradient_boosting", "logistic_regression"] = "hist_gradient_boosting"
    hist_gradient_boosting: HistGradientBoostingParams = HistGradientBoostingParams()
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()
    # Rows scored to fingerprint the model's predictions: same fingerprint, same behaviour.
    probe_rows: Annotated[int, Field(ge=16, le=100_000)] = 512


class EvaluateParams(_Section):
    # Operating point: recall is reported at this false-positive rate (analysts' review budget).
    fpr_target: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01
    segment_columns: Annotated[tuple[str, ...], Field(min_length=1)] = ("channel", "country")
    min_segment_size: Annotated[int, Field(ge=1)] = 500
    calibration_bins: Annotated[int, Field(ge=2, le=100)] = 10
    latency_rows: Annotated[int, Field(ge=1, le=100_000)] = 1000
    latency_repeats: Annotated[int, Field(ge=1, le=100)] = 7


GateMetric = Literal["roc_auc", "average_precision", "recall_at_fpr", "brier"]


class SegmentPolicy(_Section):
    columns: Annotated[tuple[str, ...], Field(min_length=0)] = ("channel", "country")
    # Segments with fewer holdout rows (or fewer positives) are listed as "not judged".
    min_size: Annotated[int, Field(ge=10)] = 1000
    min_positives: Annotated[int, Field(ge=2)] = 10
    # A judged segment fails when its ROC AUC drops by more than this and the drop is significant.
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.02


class LatencyPolicy(_Section):
    # The challenger's median per-row predict time may be at most this multiple of the champion's.
    budget_ratio: Annotated[float, Field(ge=1.0, le=100.0)] = 1.5
    rows: Annotated[int, Field(ge=1, le=100_000)] = 1000
    repeats: Annotated[int, Field(ge=3, le=100)] = 7


def _default_floors() -> dict[GateMetric, float]:
    return {"roc_auc": 0.8, "average_precision": 0.15}


class GateParams(_Section):
    """The gate's policy: every number the decision uses, validated for consistency."""

    env: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")] = "prod"
    primary_metric: Literal["roc_auc", "average_precision"] = "roc_auc"
    rule: Literal["superiority", "non_inferiority"] = "superiority"
    decision_margin: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    margin: Annotated[float, Field(ge=0.0, le=0.5)] = 0.01
    min_effect: Annotated[float, Field(gt=0.0, le=0.5)] = 0.013
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.975
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 1000
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 2026
    floors: dict[GateMetric, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=_default_floors)
    segments: SegmentPolicy = SegmentPolicy()
    latency: LatencyPolicy = LatencyPolicy()

    @model_validator(mode="after")
    def _consistent(self) -> GateParams:
        if self.rule == "superiority" and self.min_effect <= self.decision_margin:
            raise ValueError(
                "min_effect must exceed decision_margin: the gate could never detect the improvement it is designed for"
            )
        if self.rule == "non_inferiority" and self.margin == 0.0:
            raise ValueError("non_inferiority needs margin > 0 (with margin 0 it is a superiority test)")
        if "brier" in self.floors:
            raise ValueError("floors.brier: Brier score is lower-is-better; a floor on it is meaningless")
        return self


class Params(_Section):
    """The whole of `params.yaml`."""

    shared: SharedParams = SharedParams()
    validate_: ValidateParams = Field(default=ValidateParams(), alias="validate")
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    gate: GateParams = GateParams()

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def parse(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-loaded mapping; every error names `source` and the dotted key."""
    return strict_yaml.validate(Params.model_validate, {} if raw is None else raw, source, "parameters", ParamsError)


def load(path: Path) -> Params:
    """Read and validate `params.yaml`."""
    return parse(strict_yaml.load(path, ParamsError), str(path))


def flatten(mapping: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as `{"section.key": value}`: how MLflow logs params and the PR report diffs them."""
    if not isinstance(mapping, dict):
        return {prefix: mapping}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out
