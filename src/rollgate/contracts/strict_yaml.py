"""The one loader of the YAML files people edit (`params.yaml`, `configs/deploy/<env>.yaml`).

Both are validated into frozen pydantic models with unknown keys rejected; both report problems the
same way: the file, then one line per problem with the dotted key, what is wrong and the value found.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rollgate.contracts.errors import RollgateError

Model = TypeVar("Model")


def load(path: Path, error: type[RollgateError], shown: str | None = None) -> Any:
    """The YAML document in `path`; an unreadable, non-UTF-8 or invalid file raises `error` naming it."""
    name = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{name}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse(text, error, name)


def parse(text: str, error: type[RollgateError], name: str) -> Any:
    """The YAML document in `text` (a file's content at some commit); invalid YAML raises `error` naming it."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise error(f"{name}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def tuples(value: Any) -> Any:
    """YAML sequences as tuples, recursively: the frozen models store tuples."""
    if isinstance(value, dict):
        return {k: tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(tuples(v) for v in value)
    return value


def describe(error: dict[str, Any]) -> str:
    """One pydantic error as `dotted.key: message (got value)`."""
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    msg = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    got = "" if error["type"] in ("extra_forbidden", "missing") else f" (got {error['input']!r})"
    return f"{key}: {msg}{got}"


def validate(validator: Callable[[Any], Model], raw: Any, source: str, what: str, error: type[RollgateError]) -> Model:
    """`validator(raw)` (a pydantic `model_validate`), every problem listed under `source`."""
    if not isinstance(raw, dict):
        raise error(f"{source}: top level must be a mapping, got {type(raw).__name__}")
    from pydantic import ValidationError

    try:
        return validator(tuples(raw))
    except ValidationError as exc:
        problems = "\n  ".join(describe(dict(e)) for e in exc.errors())
        raise error(f"{source}: invalid {what}:\n  {problems}") from None
