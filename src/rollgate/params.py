"""`params.yaml`, validated once at the boundary into frozen typed objects.

Every section is a pydantic model with `extra="forbid"` (an unknown key is an error), strict types (a
string is never silently read as a number) and declared ranges. No field has a default: params.yaml
is the one home of the values. `load` names the file and the dotted key of every problem before any
stage does work: cross-section checks (a floor a random model would pass) and, given the dataset's
columns, the segment columns against the schema. Stages receive only their own section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from rollgate.contracts import strict_yaml
from rollgate.contracts.errors import ParamsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SharedParams(_Section):
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)]
    model_name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")]


class BatchLabelRateParams(_Section):
    """When one batch's label rate is refused: a one-sided binomial test against the band edge it lies
    beyond, significant at `confidence`, and at least `min_expected` positives expected at that edge (a
    batch too small to tell is never refused for noise)."""

    confidence: Annotated[float, Field(gt=0.5, lt=1.0)]
    min_expected: Annotated[int, Field(ge=1, le=1_000_000)]


class ValidateParams(_Section):
    # A label rate outside this band means a broken join or labelling job, not a real change in fraud.
    label_rate_min: Annotated[float, Field(gt=0.0, lt=1.0)]
    label_rate_max: Annotated[float, Field(gt=0.0, lt=1.0)]
    # The same band, batch by batch: one broken export is not diluted by the batches around it.
    batch_label_rate: BatchLabelRateParams
    max_examples: Annotated[int, Field(ge=1, le=100)]

    @model_validator(mode="after")
    def _band(self) -> ValidateParams:
        if self.label_rate_min >= self.label_rate_max:
            raise ValueError("label_rate_min must be below label_rate_max")
        return self


class HoldoutParams(_Section):
    """Which rows form the holdout, by time: exactly one of the three."""

    weeks: Annotated[int, Field(ge=1, le=5200)] | None = None  # the last N calendar weeks present
    since: date | None = None  # rows from this day on
    fraction: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None  # the latest share of rows

    @model_validator(mode="after")
    def _one(self) -> HoldoutParams:
        given = [k for k in ("weeks", "since", "fraction") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of weeks, since (a date) or fraction; got {given or 'none'}")
        return self


class PrepareParams(_Section):
    holdout: HoldoutParams


class HistGradientBoostingParams(_Section):
    learning_rate: Annotated[float, Field(gt=0.0, le=1.0)]
    max_iter: Annotated[int, Field(ge=1, le=5000)]
    max_leaf_nodes: Annotated[int, Field(ge=2, le=1024)]
    min_samples_leaf: Annotated[int, Field(ge=1, le=100_000)]
    l2_regularization: Annotated[float, Field(ge=0.0, le=1000.0)]


class LogisticRegressionParams(_Section):
    C: Annotated[float, Field(gt=0.0, le=1e6)]
    max_iter: Annotated[int, Field(ge=10, le=100_000)]


class TrainParams(_Section):
    estimator: Literal["hist_gradient_boosting", "logistic_regression"]
    hist_gradient_boosting: HistGradientBoostingParams
    logistic_regression: LogisticRegressionParams
    # Rows scored to fingerprint the model's predictions: same fingerprint, same behaviour.
    probe_rows: Annotated[int, Field(ge=16, le=100_000)]
    # Threads training uses, whatever the machine: the fitted bytes depend on the count (model/threads.py).
    threads: Annotated[int, Field(ge=1, le=256)]


class EvaluateParams(_Section):
    # Operating point: recall is reported at this false-positive rate (analysts' review budget).
    fpr_target: Annotated[float, Field(gt=0.0, lt=1.0)]
    segment_columns: Annotated[tuple[str, ...], Field(min_length=1)]
    min_segment_size: Annotated[int, Field(ge=1)]
    calibration_bins: Annotated[int, Field(ge=2, le=100)]
    latency_rows: Annotated[int, Field(ge=1, le=100_000)]
    latency_repeats: Annotated[int, Field(ge=1, le=100)]


GateMetric = Literal["roc_auc", "average_precision", "recall_at_fpr", "brier"]


class SegmentPolicy(_Section):
    columns: Annotated[tuple[str, ...], Field(min_length=0)]
    # Segments with fewer holdout rows (or fewer positives) are listed as "not judged".
    min_size: Annotated[int, Field(ge=10)]
    min_positives: Annotated[int, Field(ge=2)]
    # A judged segment fails when its ROC AUC drops by more than this and the drop is significant.
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)]


class LatencyPolicy(_Section):
    # The challenger's median per-row predict time may be at most this multiple of the champion's.
    budget_ratio: Annotated[float, Field(ge=1.0, le=100.0)]
    rows: Annotated[int, Field(ge=1, le=100_000)]
    repeats: Annotated[int, Field(ge=3, le=100)]


class OperatingPointPolicy(_Section):
    # The share of holdout rows the challenger flags at the threshold it would ship may differ from the
    # share the champion flags at the threshold it ships by at most this factor, either way; a release
    # fails when the one-sided lower confidence bound of that factor exceeds it (a tiny holdout whose
    # ratio is noise is not rejected for it).
    max_positive_rate_ratio: Annotated[float, Field(gt=1.0, le=100.0)]


class GateParams(_Section):
    """The gate's policy: every number the decision uses, validated for consistency."""

    primary_metric: Literal["roc_auc", "average_precision"]
    rule: Literal["superiority", "non_inferiority"]
    decision_margin: Annotated[float, Field(ge=0.0, le=0.5)]
    margin: Annotated[float, Field(ge=0.0, le=0.5)]
    min_effect: Annotated[float, Field(gt=0.0, le=0.5)]
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)]
    resamples: Annotated[int, Field(ge=100, le=100_000)]
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)]
    floors: dict[GateMetric, Annotated[float, Field(ge=0.0, le=1.0)]]
    segments: SegmentPolicy
    latency: LatencyPolicy
    operating_point: OperatingPointPolicy

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

    shared: SharedParams
    validate_: ValidateParams = Field(alias="validate")
    prepare: PrepareParams
    train: TrainParams
    evaluate: EvaluateParams
    gate: GateParams

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="after")
    def _beat_chance(self) -> Params:
        # A random model scores ROC AUC 0.5, average precision about the label rate and recall at the
        # operating point about the false-positive rate: a floor at or below those guards nothing.
        chance = {
            "roc_auc": (0.5, "a random model's ROC AUC"),
            "average_precision": (self.validate_.label_rate_max, "validate.label_rate_max, a random model's AP"),
            "recall_at_fpr": (self.evaluate.fpr_target, "evaluate.fpr_target, a random model's recall there"),
        }
        for metric, floor in sorted(self.gate.floors.items()):
            if metric in chance and floor <= chance[metric][0]:
                level, what = chance[metric]
                raise ValueError(
                    f"gate.floors.{metric}={floor} is at most {level} ({what}): a random model would pass it"
                )
        return self

    @model_validator(mode="after")
    def _columns(self, info: ValidationInfo) -> Params:
        columns = info.context.get("columns") if isinstance(info.context, dict) else None
        if isinstance(columns, DatasetColumns):
            for key, names in (
                ("evaluate.segment_columns", self.evaluate.segment_columns),
                ("gate.segments.columns", self.gate.segments.columns),
            ):
                columns.check_segments(key, names)
        return self


@dataclass(frozen=True)
class DatasetColumns:
    """What the params are checked against at load: the dataset's columns (`rollgate.data` builds it)."""

    schema: str  # the schema's name, for messages
    columns: tuple[str, ...]
    categorical: tuple[str, ...]  # text, category or bool columns: the ones segments can group by

    def check_segments(self, key: str, names: tuple[str, ...]) -> None:
        for name in names:
            if name not in self.columns:
                raise ValueError(f"{key}: {name!r} is not a column of {self.schema} (columns: {list(self.columns)})")
            if name not in self.categorical:
                raise ValueError(
                    f"{key}: {name!r} is not categorical in {self.schema} (segments group by text or bool "
                    f"columns: {list(self.categorical)})"
                )


def parse(raw: Any, source: str = "params.yaml", columns: DatasetColumns | None = None) -> Params:
    """Validate an already-loaded mapping (and, given `columns`, its column names against the dataset);
    every error names `source` and the dotted key."""

    def model_validate(value: Any) -> Params:
        return Params.model_validate(value, context={"columns": columns})

    return strict_yaml.validate(model_validate, {} if raw is None else raw, source, "parameters", ParamsError)


def load(path: Path, columns: DatasetColumns | None = None) -> Params:
    """Read and validate `params.yaml` (against the dataset's `columns`, which every stage passes)."""
    return parse(strict_yaml.load(path, ParamsError), str(path), columns)


def flatten(mapping: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as `{"section.key": value}`: how MLflow logs params and the PR report diffs them."""
    if not isinstance(mapping, dict):
        return {prefix: mapping}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out
