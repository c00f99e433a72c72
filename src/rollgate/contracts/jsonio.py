"""Reading and writing the shared JSON files: canonical bytes out, schema-checked objects in."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from rollgate.contracts import atomic
from rollgate.contracts.errors import ContractError

_SCHEMAS = (
    "evaluation",
    "feature-contract",
    "model-metadata",
    "prepare-manifest",
    "release",
    "validate-summary",
    "validation-report",
    "verdict",
)


def dumps(obj: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, trailing newline (same input, same bytes)."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write(path: Path, obj: Any) -> None:
    """Write `obj` atomically, so a crash never leaves half a file behind."""
    atomic.write_text(path, dumps(obj))


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema `name` shipped in `rollgate/contracts/schemas/`."""
    text = resources.files("rollgate.contracts").joinpath("schemas", f"{name}.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _registry() -> Registry:
    resources_ = [(schema(n)["$id"], Resource.from_contents(schema(n))) for n in _SCHEMAS]
    return Registry().with_resources(resources_)


def check(obj: Any, schema_name: str, source: str) -> None:
    """Raise ContractError naming `source` and every offending field if `obj` breaks the schema."""
    validator = jsonschema.Draft202012Validator(schema(schema_name), registry=_registry())
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]
        raise ContractError(f"{source}: does not match the {schema_name} schema:\n  " + "\n  ".join(lines))


def write_checked(path: Path, obj: Any, schema_name: str, source: str | None = None) -> None:
    """Schema-check `obj`, then write it atomically: a file that breaks its contract is never written."""
    check(obj, schema_name, source or str(path))
    write(path, obj)


def read(path: Path, schema_name: str) -> dict[str, Any]:
    """Load and schema-check a JSON file; every failure names the file."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContractError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    check(obj, schema_name, str(path))
    loaded: dict[str, Any] = obj
    return loaded
