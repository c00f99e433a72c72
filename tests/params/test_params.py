"""`params.yaml` is validated once, at the boundary: the shipped file loads (and agrees with the active
dataset's schema), every bad input is a ParamsError naming the file and the dotted key, the parsed
objects are frozen, and params.yaml is the only home of the values (params.py holds no defaults).
Bad inputs are the shipped file with one change, so the tests hold for an adopter's params too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from rollgate.contracts.errors import ParamsError
from rollgate.data.schema import DATASET
from rollgate.params import DatasetColumns, load, parse
from tests.helpers import _merge

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).parents[2] / "params.yaml"

WriteParams = Callable[[str], Path]
SHIPPED_RAW: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def shipped(**over: Any) -> dict[str, Any]:
    """The shipped params with `over` merged in (a None value replaces a whole section)."""
    return _merge(SHIPPED_RAW, over)


@pytest.fixture
def write_params(tmp_path: Path) -> WriteParams:
    """Write YAML text to a params file in a temporary directory and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "params.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --- the shipped file -------------------------------------------------------------------------------


def test_shipped_params_load_and_agree_with_the_dataset() -> None:
    params = load(SHIPPED, DATASET.params_columns)
    assert params.gate.segments.columns == tuple(SHIPPED_RAW["gate"]["segments"]["columns"])


def test_shipped_params_name_only_known_sections() -> None:
    assert set(SHIPPED_RAW) == {"shared", "validate", "prepare", "train", "evaluate", "gate"}


def test_params_py_holds_no_defaults() -> None:
    """params.yaml is the one home of every value: a key left out is an error, never a silent default."""
    for section in SHIPPED_RAW:
        raw = {k: v for k, v in SHIPPED_RAW.items() if k != section}
        with pytest.raises(ParamsError, match=rf"{section}: Field required"):
            parse(raw)
    gate = {k: v for k, v in SHIPPED_RAW["gate"].items() if k != "min_effect"}
    assert "gate.min_effect: Field required" in _error({**SHIPPED_RAW, "gate": gate})


def _error(raw: Any, columns: DatasetColumns | None = None) -> str:
    with pytest.raises(ParamsError) as caught:
        parse(raw, "p.yaml", columns)
    return str(caught.value)


def test_load_reads_values_from_the_file(write_params: WriteParams) -> None:
    path = write_params(
        yaml.safe_dump(shipped(prepare={"holdout": {"weeks": 5}}, train={"estimator": "logistic_regression"}))
    )

    params = load(path)

    assert params.prepare.holdout.weeks == 5
    assert params.train.estimator == "logistic_regression"


@pytest.mark.parametrize(
    ("holdout", "field", "value"),
    [
        ({"weeks": 60}, "weeks", 60),
        ({"since": "2026-03-02"}, "since", "2026-03-02"),
        ({"fraction": 0.2}, "fraction", 0.2),
    ],
)
def test_the_holdout_is_weeks_a_date_or_a_fraction(
    write_params: WriteParams, holdout: dict[str, Any], field: str, value: Any
) -> None:
    text = yaml.safe_dump(shipped(prepare={"holdout": None})).replace("holdout: null", f"holdout: {{{field}: {value}}}")
    parsed = getattr(load(write_params(text)).prepare.holdout, field)
    assert str(parsed) == str(value)


@pytest.mark.parametrize("holdout", [{}, {"weeks": 2, "fraction": 0.2}, {"fraction": 1.0}, {"weeks": 0}])
def test_a_holdout_needs_exactly_one_valid_choice(holdout: dict[str, Any]) -> None:
    raw = shipped(prepare={"holdout": None})
    raw["prepare"]["holdout"] = holdout
    assert "prepare.holdout" in _error(raw)


@pytest.mark.parametrize(
    ("floors", "message"),
    [
        ({"roc_auc": 0.5}, "gate.floors.roc_auc=0.5 is at most 0.5"),
        ({"average_precision": 0.04}, "validate.label_rate_max"),
        ({"recall_at_fpr": 0.01}, "evaluate.fpr_target"),
    ],
)
def test_a_floor_a_random_model_would_pass_is_an_error(floors: dict[str, float], message: str) -> None:
    raw = shipped(gate={"floors": None})
    raw["gate"]["floors"] = floors
    raw["validate"] = {**raw["validate"], "label_rate_min": 0.01, "label_rate_max": 0.05}
    raw["evaluate"] = {**raw["evaluate"], "fpr_target": 0.01}
    text = _error(raw)
    assert message in text and "a random model would pass it" in text


COLUMNS = DatasetColumns(
    "Records (schema.py)", ("id", "when", "region", "active", "spend", "label"), ("id", "region", "active")
)


@pytest.mark.parametrize(
    ("section", "names", "message"),
    [
        ("evaluate", ["nope"], "evaluate.segment_columns: 'nope' is not a column of Records"),
        ("evaluate", ["spend"], "evaluate.segment_columns: 'spend' is not categorical in Records"),
        ("gate", ["region", "spend"], "gate.segments.columns: 'spend' is not categorical"),
    ],
)
def test_segment_columns_are_checked_against_the_schema_at_load(section: str, names: list[str], message: str) -> None:
    raw = shipped(evaluate={"segment_columns": ["region"]}, gate={"segments": {"columns": ["active"]}})
    if section == "evaluate":
        raw["evaluate"]["segment_columns"] = names
    else:
        raw["gate"]["segments"]["columns"] = names
    assert message in _error(raw, COLUMNS)


def test_segment_columns_of_the_schema_load() -> None:
    raw = shipped(evaluate={"segment_columns": ["region", "active"]}, gate={"segments": {"columns": ["active"]}})
    assert parse(raw, "p.yaml", COLUMNS).evaluate.segment_columns == ("region", "active")


# --- bad inputs: the error names the file and the dotted key ----------------------------------------

BAD_INPUTS: list[Any] = [
    pytest.param({"trian": {}}, "trian", "unknown key", id="unknown-section"),
    pytest.param(
        {"train": {"hist_gradient_boosting": {"lerning_rate": 0.1}}},
        "train.hist_gradient_boosting.lerning_rate",
        "unknown key",
        id="unknown-nested-key",
    ),
    pytest.param(
        {"prepare": {"holdout": {"weeks": "3"}}}, "prepare.holdout.weeks", "valid integer", id="string-for-int"
    ),
    pytest.param(
        {"prepare": {"holdout": {"weeks": 3.0}}}, "prepare.holdout.weeks", "valid integer", id="float-for-int"
    ),
    pytest.param({"shared": {"seed": True}}, "shared.seed", "valid integer", id="bool-for-int"),
    pytest.param(
        {"train": {"hist_gradient_boosting": {"learning_rate": 5}}},
        "train.hist_gradient_boosting.learning_rate",
        "less than or equal to 1",
        id="learning-rate-too-high",
    ),
    pytest.param(
        {"prepare": {"holdout": {"weeks": 0}}}, "prepare.holdout.weeks", "greater than or equal to 1", id="zero"
    ),
    pytest.param({"evaluate": {"fpr_target": 1.5}}, "evaluate.fpr_target", "less than 1", id="fpr-above-one"),
    pytest.param(
        {"validate": {"label_rate_min": 0.1, "label_rate_max": 0.05}},
        "validate",
        "label_rate_min must be below label_rate_max",
        id="label-band-inverted",
    ),
    pytest.param(
        {"validate": {"label_rate_min": 0.05, "label_rate_max": 0.05}},
        "validate",
        "label_rate_min must be below label_rate_max",
        id="label-band-empty",
    ),
    pytest.param(
        {"validate": {"batch_label_rate": {"confidence": 1.0}}},
        "validate.batch_label_rate.confidence",
        "less than 1",
        id="batch-label-confidence-one",
    ),
    pytest.param(
        {"validate": {"batch_label_rate": {"min_expected": 0}}},
        "validate.batch_label_rate.min_expected",
        "greater than or equal to 1",
        id="batch-label-no-minimum",
    ),
    pytest.param({"validate": {"batch_label_rate": None}}, "validate.batch_label_rate", "", id="batch-label-missing"),
    pytest.param(
        {"train": {"estimator": "xgboost"}},
        "train.estimator",
        "'hist_gradient_boosting' or 'logistic_regression'",
        id="estimator-not-allowed",
    ),
    pytest.param(
        {"evaluate": {"segment_columns": []}}, "evaluate.segment_columns", "at least 1 item", id="no-segments"
    ),
    pytest.param({"shared": {"model_name": "Fraud"}}, "shared.model_name", "match pattern", id="model-name-pattern"),
    pytest.param({"prepare": None}, "prepare", "valid dictionary", id="section-null"),
    # the gate's policy must not contradict itself
    pytest.param(
        {"gate": {"decision_margin": 0.02, "min_effect": 0.01}},
        "gate",
        "min_effect must exceed decision_margin",
        id="gate-cannot-detect-its-effect",
    ),
    pytest.param(
        {"gate": {"rule": "non_inferiority", "margin": 0.0}}, "gate", "needs margin > 0", id="gate-zero-ni-margin"
    ),
    pytest.param(
        {"gate": {"floors": {"roc_auc": 0.8, "brier": 0.1}}}, "gate", "floors.brier", id="gate-floor-on-a-loss"
    ),
    pytest.param(
        {"gate": {"floors": {"accuracy": 0.9}}},
        "gate.floors.accuracy.[key]",
        "(got 'accuracy')",
        id="gate-floor-metric",
    ),
    pytest.param({"gate": {"confidence": 0.4}}, "gate.confidence", "greater than 0.5", id="gate-confidence-low"),
    pytest.param({"gate": {"latency": {"budget_ratio": 0.5}}}, "gate.latency.budget_ratio", "", id="gate-budget"),
    pytest.param({"gate": {"env": "prod"}}, "gate.env", "unknown key", id="gate-env-left"),
    pytest.param([{"prepare": {}}], "top level", "top level must be a mapping, got list", id="top-level-list"),
    pytest.param("just text", "top level", "top level must be a mapping, got str", id="top-level-scalar"),
]


@pytest.mark.parametrize(("raw", "key", "message"), BAD_INPUTS)
def test_bad_params_name_the_file_and_the_key(write_params: WriteParams, raw: Any, key: str, message: str) -> None:
    path = write_params(yaml.safe_dump(shipped(**raw) if isinstance(raw, dict) else raw))

    with pytest.raises(ParamsError) as caught:
        load(path)

    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert f"{key}:" in text or f"{key} " in text
    assert message in text


def test_every_problem_is_reported_together() -> None:
    raw = shipped(prepare={"holdout": {"weeks": 0}}, evaluate={"fpr_target": 1.5, "colour": "red"})

    with pytest.raises(ParamsError) as caught:
        parse(raw, "my/params.yaml")

    text = str(caught.value)
    assert text.startswith("my/params.yaml: invalid parameters:")
    for key in ("prepare.holdout.weeks:", "evaluate.fpr_target:", "evaluate.colour: unknown key"):
        assert key in text


def test_bad_yaml_names_the_file_and_the_line(write_params: WriteParams) -> None:
    path = write_params("prepare:\n  holdout: {weeks: 3}\ntrain:\n  estimator: [unclosed\nevaluate: {}\n")

    with pytest.raises(ParamsError, match=r"not valid YAML at line \d+") as caught:
        load(path)

    assert str(caught.value).startswith(f"{path}: not valid YAML at line ")


def test_bad_yaml_reports_the_offending_line(write_params: WriteParams) -> None:
    path = write_params("shared:\n  seed: 1\n model_name: x\n")

    with pytest.raises(ParamsError, match=r"not valid YAML at line 3, column"):
        load(path)


def test_missing_file_is_a_params_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "params.yaml"

    with pytest.raises(ParamsError, match="cannot read") as caught:
        load(path)

    assert str(caught.value).startswith(f"{path}: ")


# --- the parsed objects -----------------------------------------------------------------------------


def test_parsed_params_are_frozen() -> None:
    params = parse(shipped(prepare={"holdout": {"weeks": 2}}))

    with pytest.raises(ValidationError, match="frozen"):
        params.prepare.holdout = params.prepare.holdout  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        params.prepare = params.prepare  # type: ignore[misc]
    assert params.prepare.holdout.weeks == 2


def test_segment_columns_from_a_yaml_list_become_a_tuple(write_params: WriteParams) -> None:
    path = write_params(yaml.safe_dump(shipped(evaluate={"segment_columns": ["a", "b"]})))

    columns = load(path).evaluate.segment_columns

    assert columns == ("a", "b")
    assert isinstance(columns, tuple)


def test_the_validate_section_is_read_under_its_yaml_name() -> None:
    params = parse(shipped(validate={"label_rate_min": 0.01, "label_rate_max": 0.1}))

    assert (params.validate_.label_rate_min, params.validate_.label_rate_max) == (0.01, 0.1)


def test_an_int_is_accepted_where_a_float_is_declared() -> None:
    raw = shipped(train={"hist_gradient_boosting": {"learning_rate": 1}})
    assert parse(raw).train.hist_gradient_boosting.learning_rate == 1.0


def test_the_python_name_of_the_validate_section_is_not_a_key() -> None:
    with pytest.raises(ParamsError, match=r"validate_: unknown key"):
        parse(shipped(validate_={"label_rate_min": 0.01}))


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(b"shared:\n  model_name: caf\xe9\n")
    with pytest.raises(ParamsError, match=rf"{path}: not UTF-8"):
        load(path)
