"""The condition subset: the real templates' rendered conditions, Go float semantics, expr's precedence and typing,
short-circuits, and a refusal naming the construct for everything outside the subset."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from rollgate.contracts.errors import ContractError
from rollgate.rehearse.argo import resolve
from rollgate.rehearse.conditions import ConditionError, parse

pytestmark = pytest.mark.unit

NAN, INF = math.nan, math.inf
TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "manifests").glob("*/*-analysistemplate.yaml"))


def _rendered() -> list[tuple[str, str, str, float]]:
    """(where, which condition, the condition with its args resolved, the threshold it compares with)."""
    out = []
    for path in TEMPLATES:
        spec = yaml.safe_load(path.read_text())["spec"]
        args = {arg["name"]: arg.get("value", "placeholder") for arg in spec["args"]}
        for i, metric in enumerate(spec["metrics"]):
            for key in ("successCondition", "failureCondition"):
                where = f"{path.parent.name}/{path.name}: metrics[{i}].{key}"
                (name,) = re.findall(r"\{\{\s*args\.([\w-]+)\s*\}\}", metric[key])
                out.append((where, key, resolve(metric[key], args, where), float(args[name])))
    return out


RENDERED = _rendered()


def test_every_template_has_conditions() -> None:
    assert len(TEMPLATES) >= 2
    assert len(RENDERED) >= 2 * len(TEMPLATES)


@pytest.mark.parametrize("rendered", RENDERED, ids=[r[0] for r in RENDERED])
@pytest.mark.parametrize(
    ("name", "result", "success", "failure"),
    [
        ("empty vector: no data yet", [], False, False),
        ("NaN: 0/0 in the ratio", [NAN], False, True),
        ("below the threshold", "below", True, False),
        ("at the threshold", "at", True, False),
        ("above the threshold", "above", False, True),
        ("+Inf: a dead model's folded ratio", [INF], False, True),
        ("only the first value counts", "at+above", True, False),
    ],
)
def test_rendered_conditions(
    rendered: tuple[str, str, str, float], name: str, result: object, success: bool, failure: bool
) -> None:
    where, key, text, threshold = rendered
    values = {"below": [threshold / 2], "at": [threshold], "above": [threshold * 1.01], "at+above": [threshold, 9e9]}
    bound = values[result] if isinstance(result, str) else result
    assert isinstance(bound, list)
    assert parse(text, where).holds(bound) is (success if key == "successCondition" else failure), name


@pytest.mark.parametrize(("where", "key", "text", "threshold"), RENDERED[:2], ids=[r[0] for r in RENDERED[:2]])
def test_rendered_conditions_on_a_scalar_are_an_error(where: str, key: str, text: str, threshold: float) -> None:
    with pytest.raises(ConditionError, match="len cannot take float"):
        parse(text, where).holds(threshold)


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        ("result[0] < 1", [NAN], False),
        ("result[0] <= 1", [NAN], False),
        ("result[0] > 1", [NAN], False),
        ("result[0] >= 1", [NAN], False),
        ("result[0] == result[0]", [NAN], False),
        ("result[0] != result[0]", [NAN], True),
        ("!(result[0] > 1)", [NAN], True),
        ("isNaN(result[0])", [NAN], True),
        ("isInf(result[0])", [-INF], True),
        ("isInf(result[0])", [INF], True),
        ("isInf(result[0])", [1e308], False),
        ("1 / 0 > 1e308", [], True),
        ("-1 / 0 < 0", [], True),
        ("isNaN(0 / 0.0)", [], True),
        ("isInf(result[0] / 0)", [-2.0], True),
        ("10 / 4 == 2.5", [], True),
        ("9223372036854775807 + 1 < 0", [], True),
        ("result > 0.5", 0.7, True),
        ("result == 1", 1.0, True),
    ],
)
def test_go_float_semantics(text: str, result: float | list[float], expected: bool) -> None:
    assert parse(text, "t").holds(result) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 == 7", True),
        ("-2 * 3 == -6", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("not false and false", False),
        ("!true || true", True),
        ("1 < 2 == true", True),
        ("2 - 1 - 1 == 0", True),
        ("8 / 4 / 2 == 1", True),
        ("len(result) == 2 and result[1] >= .5e1 or false", True),
    ],
)
def test_precedence_as_expr(text: str, expected: bool) -> None:
    assert parse(text, "t").holds([1.0, 5.0]) is expected


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        ("len(result) > 0 && result[0] > 1", [], False),
        ("len(result) == 0 || result[0] > 1", [], True),
        ("false && result[5] > 1", [1.0], False),
    ],
)
def test_short_circuit_never_indexes(text: str, result: list[float], expected: bool) -> None:
    assert parse(text, "t").holds(result) is expected


@pytest.mark.parametrize(
    ("text", "result", "message"),
    [
        ("result[0] > 1", [], r"index out of range \[0\] with length 0"),
        ("result[2] > 1", [1.0, 2.0], r"index out of range \[2\] with length 2"),
        ("false && result[0] > 1", 1.0, "needs a vector"),  # expr type-checks the whole condition first
        ("result > 1", [1.0], "> cannot take vector and int"),
    ],
)
def test_evaluation_errors(text: str, result: float | list[float], message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse(text, "t").holds(result)


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        ("all(result, # < 1)", "the function all(...)"),
        ("default(result, 0) > 1", "the function default(...)"),
        ("asFloat(result[0]) > 1", "the function asFloat(...)"),
        ('result[0] == "1"', "a string literal"),
        ("result.value > 1", "member access"),
        ("result[i] > 1", "result[i...]"),
        ("result[-1] > 1", "result[-...]"),
        ("result[0.5] > 1", "result[0.5...]"),
        ("result[0:1] == result", "a slice"),
        ("result matches 'x'", "the operator 'matches'"),
        ("1 in result", "the operator 'in'"),
        ("result[0] % 2 == 0", "the operator '%'"),
        ("result[0] ** 2 > 1", "the operator '**'"),
        ("result[0] ?? 1 > 0", "the operator '??'"),
        ("len(result) > 0 ? true : false", "the operator '?'"),
        ("isInf(result[0], 1)", "isInf with 2 arguments"),
        ("isNaN(1)", "isNaN of an integer"),
        ("result == result", "== between two vectors"),
        ("x > 1", "the identifier 'x'"),
        ("nil == nil", "the identifier 'nil'"),
        ("[1] == result", "an array literal"),
        ("1_000 > 1", "the number '1_000'"),
        ("0x10 > 1", "the number '0x10'"),
        ("+1 > 0", "unary '+'"),
        ("(result)[0] > 1", "indexing a parenthesised expression"),
        ("len(result) >", "a missing operand"),
        ("len(result) > 0 result", "'result'"),
        ("99999999999999999999 > 1", "too large"),
    ],
)
def test_refused_outside_the_subset(text: str, construct: str) -> None:
    where = "manifests/staging/x-analysistemplate.yaml: metrics[2].successCondition"
    with pytest.raises(ContractError, match=re.escape(construct)) as caught:
        parse(text, where)
    assert str(caught.value).startswith(where)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("len(1) > 0", "len cannot take int"),
        ("1 + 2", "the condition is int, not bool"),
        ("result", "not bool"),
        ("true + 1 > 0", "+ cannot take bool and int"),
        ("!result[0] * 2 > 1", "! cannot take float"),  # `!` binds looser than `*`, as in expr
        ("1 < 2 < 3", "< cannot take bool and int"),
    ],
)
def test_never_evaluable_refused_at_parse(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=re.escape(message)):
        parse(text, "t")
