"""Argo Rollouts' successCondition and failureCondition: a documented subset of expr, parsed once, judged exactly.

Argo Rollouts v1.9 compiles each condition with expr (github.com/antonmedv/expr v1.15.5, its go.mod) against an
environment binding `result` to the measurement (utils/evaluate/evaluate.go, EvalCondition). The rehearsal must
reach the controller's verdict, so it implements this subset only and refuses anything else when the template is
read (a ContractError naming the construct): a condition it cannot evaluate exactly fails loudly, never guessed.

The subset:

- literals: decimal integers (`0`, `50`), decimal floats (`0.01`, `.5`, `2.`, `1e-3`, `2.5E+2`), `true`, `false`;
- `result`: the Prometheus vector's values (a list of floats), or one float for a scalar query;
- `result[N]`, N a non-negative integer literal; past the end it is an evaluation error (ConditionError);
- `len(result)`, `isNaN(x)`, `isInf(x)`: Argo's isInf takes one argument and means either infinity;
- unary `!` / `not` and `-`; binary `*` `/`, `+` `-`, `<` `<=` `>` `>=` `==` `!=`, `&&` / `and`, `||` / `or`
  (both short-circuit); parentheses.

Precedence and types as expr's parser and checker (parser/operator/operator.go, checker/checker.go): loosest
first `||`, `&&`, comparisons, `+ -`, `* /`, then unary `-`; unary `!` binds looser than `* /` (`!a * b` is
`!(a * b)`). Integers are Go ints (64-bit, wrapping); `/` always gives a float; an integer meets a float as a
float; floats are Go's (NaN compares false except with `!=`, x/0 is ±Inf or NaN). expr checks the whole
condition against `result`'s type before running it, so on a scalar result `false && result[0] > 0` is an
error though never reached; `holds` does the same. The condition must be a boolean.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from rollgate.contracts.errors import ContractError, RollgateError

Value = bool | int | float | list[float]
Kind = Literal["vector", "scalar"]
_BINARY = {"||": 10, "or": 10, "&&": 15, "and": 15, "==": 20, "!=": 20, "<": 20, "<=": 20, ">": 20, ">=": 20}
_BINARY |= {"+": 30, "-": 30, "*": 60, "/": 60}
_SPELLING = {"or": "||", "and": "&&", "not": "!"}
_FUNCTIONS = ("len", "isNaN", "isInf")
_WORDS = ("not", "in", "matches", "contains", "startsWith", "endsWith", "let")  # expr lexes these as operators
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:[0-9]+(?:\.(?!\.)[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(?P<tail>[\w$.]*)"
    r"|(?P<name>[^\W\d][\w$]*|\$[\w$]*)|(?P<str>[\"'`])"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|\*\*|\?\?|\?\.|\.\.|\S))"
)


class ConditionError(RollgateError):
    """A condition could not be evaluated on this result: Argo records the measurement as Error."""


@dataclass(frozen=True)
class Node:
    """One node of a parsed condition: `op` is "literal" (then `value`), "result", "[]", a function or an operator."""

    op: str
    args: tuple[Node, ...] = ()
    value: bool | int | float = 0


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `holds` judges one measurement's result."""

    text: str
    where: str
    root: Node
    mistyped: tuple[tuple[Kind, str], ...]  # result's kinds expr would refuse to compile against, and why

    def holds(self, result: float | list[float]) -> bool:
        """Whether the condition is true with `result` bound as Argo's Prometheus provider binds it.

        Raises:
            ConditionError: the condition does not type-check against this result, or indexes past its end.
        """
        kind: Kind = "vector" if isinstance(result, list) else "scalar"
        bound: Value = [float(v) for v in result] if isinstance(result, list) else float(result)
        for mistyped_kind, why in self.mistyped:
            if mistyped_kind == kind:
                raise ConditionError(f"{self.where}: {why} (result is a {kind})")
        try:
            return bool(_eval(self.root, bound))
        except ConditionError as e:
            raise ConditionError(f"{self.where}: {e}") from None


def parse(text: str, where: str) -> Condition:
    """Parse `text` once, refusing anything outside the subset (module docstring) with a ContractError."""
    parser = _Parser(text, where)
    root = parser.expression(0)
    if parser.peek()[0] != "end":
        parser.refuse(f"unexpected {parser.peek()[1]!r}")
    mistyped: list[tuple[Kind, str]] = []
    for kind in ("vector", "scalar"):
        try:
            if (got := _type(root, kind)) != "bool":
                raise ConditionError(f"the condition is {got}, not bool")
        except ConditionError as e:
            mistyped.append((kind, str(e)))
        except _OutsideError as e:
            raise ContractError(f"{where}: {e} is outside the subset the rehearsal evaluates: {text!r}") from None
    if len(mistyped) == 2:  # wrong whatever Prometheus answers: every measurement would be Error
        raise ContractError(f"{where}: {mistyped[0][1]}: Argo could never evaluate {text!r}")
    return Condition(text, where, root, tuple(mistyped))


class _OutsideError(Exception):
    """A construct expr accepts but the subset does not: refused rather than evaluated differently."""


class _Parser:
    """Recursive descent in expr's own shape: precedence climbing over its operator table."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where, self.pos = text, where, 0

    def refuse(self, construct: str) -> NoReturn:
        rest = self.text[self.pos :]
        column = self.pos + len(rest) - len(rest.lstrip()) + 1
        raise ContractError(
            f"{self.where}: {construct} (column {column}) is outside the subset of Argo's condition language "
            f"the rehearsal evaluates exactly (rollgate.rehearse.conditions): {self.text!r}"
        )

    def peek(self) -> tuple[str, str]:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return "end", "end of condition"
        kind = "num" if match.lastgroup == "tail" else str(match.lastgroup)
        return kind, match.group(kind)

    def next(self) -> str:
        text, match = self.peek()[1], _TOKEN.match(self.text, self.pos)
        assert match is not None, "next() past the end"
        if match.group("tail"):  # expr reads 1_000, 0x1f and the like: not this subset
            self.refuse(f"the number {text + match.group('tail')!r} (decimal literals only)")
        self.pos = match.end()
        return text

    def expect(self, text: str) -> None:
        if self.peek()[1] != text:
            self.refuse(f"{self.peek()[1]!r} where {text!r} belongs")
        self.next()

    def expression(self, precedence: int) -> Node:
        left = self.primary()
        while (token := self.peek())[0] in ("op", "name"):
            if token[1] not in _BINARY:
                if token[0] == "op" and token[1] in ")],":
                    break
                self.refuse(f"the operator {token[1]!r}" if token[0] == "op" or token[1] in _WORDS else repr(token[1]))
            if _BINARY[token[1]] < precedence:
                break
            self.next()  # every binary operator of the subset is left-associative
            right = self.expression(_BINARY[token[1]] + 1)
            left = Node(_SPELLING.get(token[1], token[1]), (left, right))
        return left

    def primary(self) -> Node:
        kind, text = self.peek()
        if text in ("!", "not", "-"):
            self.next()
            return Node(_SPELLING.get(text, text), (self.expression(90 if text == "-" else 50),))
        if text == "(":
            self.next()
            inner = self.expression(0)
            self.expect(")")
            if self.peek()[1] in ("[", ".", "?."):
                self.refuse("indexing a parenthesised expression")
            return inner
        if kind == "num":
            return self.number()
        if text in ("true", "false"):
            self.next()
            return Node("literal", value=text == "true")
        if text == "result":
            self.next()
            return self.index(Node("result"))
        if text in _FUNCTIONS:
            return self.call()
        self.refuse(_construct(kind, text, self.text[self.pos :].lstrip()[len(text) :].lstrip()[:1]))

    def number(self) -> Node:
        text = self.next()
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(value, int) and value >= 2**63:
            self.refuse(f"the integer {text} (too large for expr)")
        return Node("literal", value=value)

    def index(self, node: Node) -> Node:
        if self.peek()[1] in (".", "?."):
            self.refuse("member access")
        if self.peek()[1] != "[":
            return node
        self.next()
        kind, text = self.peek()
        if kind != "num" or not text.isdigit():
            self.refuse(f"result[{text}...]: an index other than a non-negative integer literal")
        index = self.number()
        if self.peek()[1] == ":":
            self.refuse("a slice")
        self.expect("]")
        if self.peek()[1] in ("[", ".", "?."):
            self.refuse("indexing a number")
        return Node("[]", (node, index))

    def call(self) -> Node:
        name = self.next()
        self.expect("(")
        args = [self.expression(0)]
        while self.peek()[1] == ",":
            self.next()
            args.append(self.expression(0))
        self.expect(")")
        if len(args) != 1:
            self.refuse(f"{name} with {len(args)} arguments (Argo's {name} takes one)")
        return Node(name, tuple(args))


def _construct(kind: str, text: str, after: str) -> str:
    """What to call a token that cannot start an operand of the subset."""
    if kind == "str":
        return "a string literal"
    if kind == "name" and text in _WORDS:
        return f"the operator {text!r}"
    if kind == "name":
        return f"the function {text}(...)" if after == "(" else f"the identifier {text!r} (only result is bound)"
    return {"[": "an array literal", "{": "a map literal", "+": "unary '+'", "end": "a missing operand"}.get(
        text if kind != "end" else "end", f"{text!r}"
    )


def _type(node: Node, kind: Kind) -> str:
    """The type expr's checker gives `node` with `result` of this kind; ConditionError where it refuses."""
    if node.op in ("literal", "result"):
        return {bool: "bool", int: "int", float: "float"}[type(node.value)] if node.op == "literal" else _RESULT[kind]
    if node.op == "[]":
        if kind == "vector":
            return "float"
        raise ConditionError("result[N] needs a vector")
    args = tuple(_type(arg, kind) for arg in node.args)
    if (node.op, args) in _OUTSIDE:
        raise _OutsideError(_OUTSIDE[node.op, args])
    if got := _TYPES.get((node.op, args)):
        return got
    raise ConditionError(f"{node.op} cannot take {' and '.join(args)}")


def _eval(node: Node, result: Value) -> Value:
    """Run a type-checked node: its operands are of the types `_type` allowed."""
    op, args = node.op, node.args
    if op in ("literal", "result"):
        return node.value if op == "literal" else result
    if op in ("&&", "||"):  # short-circuit: `len(result) > 0 && result[0] ...` never indexes an empty vector
        left = _eval(args[0], result)
        return left if bool(left) == (op == "||") else _eval(args[1], result)
    values = [_eval(arg, result) for arg in args]
    if op == "[]":
        vector, index = values
        assert isinstance(vector, list) and isinstance(index, int), "the checker indexes vectors by integers"
        if index >= len(vector):
            raise ConditionError(f"index out of range [{index}] with length {len(vector)}")
        return vector[index]
    return _UNARY[op](values[0]) if len(values) == 1 else _binary(op, values[0], values[1])


def _binary(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, bool) or isinstance(b, bool):  # the checker lets booleans meet only at == and !=
        return (a == b) == (op == "==")
    x, y = _number(a), _number(b)
    if type(x) is not type(y):  # Go converts the int to float64; Python would compare them exactly
        x, y = float(x), float(y)
    if op in _COMPARE:
        return bool(_COMPARE[op](x, y))
    if op == "/":
        return _divide(float(x), float(y))
    if isinstance(x, int) and isinstance(y, int):
        return _wrap(int(_ARITHMETIC[op](x, y)))
    return float(_ARITHMETIC[op](x, y))


def _number(value: Value) -> int | float:
    assert not isinstance(value, list), "the checker lets no vector into arithmetic"
    return value


def _negate(value: Value) -> Value:
    x = _number(value)
    return _wrap(-x) if isinstance(x, int) else -x


def _divide(x: float, y: float) -> float:
    """Go's float division: by zero it is ±Inf, or NaN for 0/0 and NaN/0, where Python raises."""
    if y != 0:
        return x / y
    if x == 0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _wrap(n: int) -> int:
    """Go's 64-bit int arithmetic wraps around."""
    return (n + 2**63) % 2**64 - 2**63


def _signatures() -> dict[tuple[str, tuple[str, ...]], str]:
    """expr's checker over the subset's types: (operator, operand types) to the result's type."""
    out: dict[tuple[str, tuple[str, ...]], str] = {
        ("len", ("vector",)): "int",
        ("isNaN", ("float",)): "bool",
        ("isInf", ("float",)): "bool",
    }
    out |= {(op, ("bool",) * n): "bool" for op, n in (("!", 1), ("&&", 2), ("||", 2), ("==", 2), ("!=", 2))}
    for a in ("int", "float"):
        out["-", (a,)] = a
        for b in ("int", "float"):
            out |= {(op, (a, b)): "bool" for op in _COMPARE}
            out |= {(op, (a, b)): "int" if a == b == "int" else "float" for op in _ARITHMETIC}
            out["/", (a, b)] = "float"
    return out


_TYPES = _signatures()
_RESULT = {"vector": "vector", "scalar": "float"}  # the type expr sees for `result`
_UNARY: dict[str, Callable[[Any], Value]] = {
    "len": len,
    "isNaN": math.isnan,
    "isInf": math.isinf,
    "!": operator.not_,
    "-": _negate,
}
_OUTSIDE = {  # expr accepts these; the subset refuses them rather than evaluate them differently
    ("isNaN", ("int",)): "isNaN of an integer",  # expr converts an int literal to float, fails on any other int
    ("isInf", ("int",)): "isInf of an integer",
    ("==", ("vector", "vector")): "== between two vectors",  # expr compares slices deeply
    ("!=", ("vector", "vector")): "!= between two vectors",
}
