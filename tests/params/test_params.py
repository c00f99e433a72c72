"""`params.yaml` is validated once, at the boundary: the shipped file loads, every bad input is a
ParamsError naming the file and the dotted key, and the parsed objects are frozen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from rollgate.contracts.errors import ParamsError
from rollgate.params import Params, load, parse

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).parents[2] / "params.yaml"

WriteParams = Callable[[str], Path]


@pytest.fixture
def write_params(tmp_path: Path) -> WriteParams:
    """Write YAML text to a params file in a temporary directory and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "params.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --- the shipped file -------------------------------------------------------------------------------


def test_shipped_params_load_and_equal_the_defaults() -> None:
    assert load(SHIPPED) == Params()


def test_shipped_params_name_only_known_sections() -> None:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert set(raw) == {"shared", "validate", "prepare", "train", "evaluate", "gate"}


def test_load_reads_values_from_the_file(write_params: WriteParams) -> None:
    path = write_params("prepare:\n  holdout_weeks: 5\ntrain:\n  estimator: logistic_regression\n")

    params = load(path)

    assert params.prepare.holdout_weeks == 5
    assert params.train.estimator == "logistic_regression"
    assert params.evaluate == Params().evaluate  # sections not given keep their defaults


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"], ids=["empty", "comment", "empty-mapping"])
def test_an_empty_file_means_all_defaults(write_params: WriteParams, text: str) -> None:
    assert load(write_params(text)) == Params()


# --- bad inputs: the error names the file and the dotted key ----------------------------------------

BAD_INPUTS: list[Any] = [
    pytest.param({"trian": {}}, "trian", "unknown key", id="unknown-section"),
    pytest.param(
        {"train": {"hist_gradient_boosting": {"lerning_rate": 0.1}}},
        "train.hist_gradient_boosting.lerning_rate",
        "unknown key",
        id="unknown-nested-key",
    ),
    pytest.param({"prepare": {"holdout_weeks": "3"}}, "prepare.holdout_weeks", "valid integer", id="string-for-int"),
    pytest.param({"prepare": {"holdout_weeks": 3.0}}, "prepare.holdout_weeks", "valid integer", id="float-for-int"),
    pytest.param({"shared": {"seed": True}}, "shared.seed", "valid integer", id="bool-for-int"),
    pytest.param(
        {"train": {"hist_gradient_boosting": {"learning_rate": 5}}},
        "train.hist_gradient_boosting.learning_rate",
        "less than or equal to 1",
        id="learning-rate-too-high",
    ),
    pytest.param({"prepare": {"holdout_weeks": 0}}, "prepare.holdout_weeks", "greater than or equal to 1", id="zero"),
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
    pytest.param({"gate": {"floors": {"brier": 0.1}}}, "gate", "floors.brier", id="gate-floor-on-a-loss"),
    pytest.param(
        {"gate": {"floors": {"accuracy": 0.9}}},
        "gate.floors.accuracy.[key]",
        "(got 'accuracy')",
        id="gate-floor-metric",
    ),
    pytest.param({"gate": {"confidence": 0.4}}, "gate.confidence", "greater than 0.5", id="gate-confidence-low"),
    pytest.param({"gate": {"latency": {"budget_ratio": 0.5}}}, "gate.latency.budget_ratio", "", id="gate-budget"),
    pytest.param({"gate": {"env": "Prod!"}}, "gate.env", "match pattern", id="gate-env-pattern"),
    pytest.param([{"prepare": {}}], "top level", "top level must be a mapping, got list", id="top-level-list"),
    pytest.param("just text", "top level", "top level must be a mapping, got str", id="top-level-scalar"),
]


@pytest.mark.parametrize(("raw", "key", "message"), BAD_INPUTS)
def test_bad_params_name_the_file_and_the_key(write_params: WriteParams, raw: Any, key: str, message: str) -> None:
    path = write_params(yaml.safe_dump(raw))

    with pytest.raises(ParamsError) as caught:
        load(path)

    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert f"{key}:" in text or f"{key} " in text
    assert message in text


def test_every_problem_is_reported_together() -> None:
    raw = {"prepare": {"holdout_weeks": 0}, "evaluate": {"fpr_target": 1.5, "colour": "red"}}

    with pytest.raises(ParamsError) as caught:
        parse(raw, "my/params.yaml")

    text = str(caught.value)
    assert text.startswith("my/params.yaml: invalid parameters:")
    for key in ("prepare.holdout_weeks:", "evaluate.fpr_target:", "evaluate.colour: unknown key"):
        assert key in text


def test_bad_yaml_names_the_file_and_the_line(write_params: WriteParams) -> None:
    path = write_params("prepare:\n  holdout_weeks: 3\ntrain:\n  estimator: [unclosed\nevaluate: {}\n")

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
    params = parse({"prepare": {"holdout_weeks": 2}})

    with pytest.raises(ValidationError, match="frozen"):
        params.prepare.holdout_weeks = 5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        params.prepare = params.prepare  # type: ignore[misc]
    assert params.prepare.holdout_weeks == 2


def test_segment_columns_from_a_yaml_list_become_a_tuple(write_params: WriteParams) -> None:
    path = write_params("evaluate:\n  segment_columns: [channel, merchant_category]\n")

    columns = load(path).evaluate.segment_columns

    assert columns == ("channel", "merchant_category")
    assert isinstance(columns, tuple)


def test_the_validate_section_is_read_under_its_yaml_name() -> None:
    params = parse({"validate": {"label_rate_min": 0.01, "label_rate_max": 0.2}})

    assert (params.validate_.label_rate_min, params.validate_.label_rate_max) == (0.01, 0.2)


def test_an_int_is_accepted_where_a_float_is_declared() -> None:
    assert (
        parse({"train": {"hist_gradient_boosting": {"learning_rate": 1}}}).train.hist_gradient_boosting.learning_rate
        == 1.0
    )


def test_the_python_name_of_the_validate_section_is_not_a_key() -> None:
    with pytest.raises(ParamsError, match=r"validate_: unknown key"):
        parse({"validate_": {"label_rate_min": 0.01}})


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(b"shared:\n  model_name: caf\xe9\n")
    with pytest.raises(ParamsError, match=rf"{path}: not UTF-8"):
        load(path)
