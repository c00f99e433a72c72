"""The operations rollgate calls, cut from GitHub's official OpenAPI description, and checks against them.

The description is `@octokit/openapi` (GitHub's own, republished on npm). Its `api.github.com.json` is
OpenAPI 3.0.3, so 3.0's `nullable` is rewritten as JSON Schema 2020-12 type unions while the operations
and every component they reference are cut out; the result (about 200 KB) is cached per package version.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.standins import Unavailable, cache_dir, cached_json, npm_member, unavailable

PACKAGE, VERSION = "@octokit/openapi", "23.0.2"
MEMBER = "package/generated/api.github.com.json"  # the package ships no 3.1 variant of it
# Every (method, path template) rollgate calls now or is about to: the client's routes must be among them.
OPERATIONS = (
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("POST", "/repos/{owner}/{repo}/dispatches"),
)
# GitHub answers these on any route (authentication, rate limits) without every operation listing them.
GENERIC_ERROR = "#/components/schemas/basic-error"
EXTRACTION = 1  # bump when the cut or the conversion changes: a cached file of another one is rebuilt
_URI = "urn:rollgate:github-openapi"
_DATA = frozenset({"example", "examples", "default", "enum", "const"})  # values, not schemas


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects (anywhere under `node`) as JSON Schema 2020-12: `nullable: true` becomes
    a type union, or `anyOf` with null where the schema is a composition."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: value if key in _DATA else _json_schema(value)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    if node.get("nullable") is not True:
        return out
    composed = any(key in out for key in ("allOf", "anyOf", "oneOf", "$ref"))
    if isinstance(out.get("type"), str) and not composed:
        out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return out if "type" not in out and not composed else {"anyOf": [{"type": "null"}, out]}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(ref := node.get("$ref"), str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def extract(full: Mapping[str, Any]) -> dict[str, Any]:
    """The OPERATIONS of the full description with every component they reference, transitively."""
    paths: dict[str, dict[str, Any]] = {}
    for method, template in OPERATIONS:
        item = full["paths"][template]
        paths.setdefault(template, {k: v for k, v in item.items() if k == "parameters"})[method.lower()] = item[
            method.lower()
        ]
    components: dict[str, dict[str, Any]] = {}
    pending = [*_refs(paths), GENERIC_ERROR]
    while pending:
        kind, name = pending.pop().removeprefix("#/components/").split("/")
        if name not in components.setdefault(kind, {}):
            components[kind][name] = full["components"][kind][name]
            pending.extend(_refs(components[kind][name]))
    source = {"package": f"{PACKAGE}@{VERSION}", "member": MEMBER, "openapi": full["openapi"]}
    info = {**full["info"], "x-rollgate": {**source, "extraction": EXTRACTION, "operations": OPERATIONS}}
    cut: dict[str, Any] = _json_schema({"openapi": "3.1.0", "info": info, "paths": paths, "components": components})
    return cut


def _current(doc: Any) -> bool:
    mark = doc.get("info", {}).get("x-rollgate", {}) if isinstance(doc, dict) else {}
    return mark.get("extraction") == EXTRACTION and [tuple(op) for op in mark.get("operations", ())] == [*OPERATIONS]


def load() -> dict[str, Any]:
    """The cut description, from the cache or fetched and cut once; Unavailable when it cannot be had."""
    path = cache_dir(PACKAGE, VERSION) / "operations.json"
    doc: dict[str, Any] = cached_json(path, lambda: extract(json.loads(npm_member(PACKAGE, VERSION, MEMBER))), _current)
    return doc


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: Mapping[str, Any]
    pattern: re.Pattern[str]

    @property
    def id(self) -> str:
        return str(self.spec["operationId"])


def _scalar(text: str, schema: Mapping[str, Any]) -> Any:
    """A path or query string as the JSON value its schema types (left a string when it is not one)."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds and re.fullmatch(r"-?\d+", text):
        return int(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


class Description:
    """Routes requests to the cut operations and validates requests and responses against their schemas."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self._registry: Registry[Any] = Registry().with_resource(_URI, DRAFT202012.create_resource(dict(doc)))
        self._validators: dict[str, Draft202012Validator] = {}
        self.operations = {
            (method.upper(), template): Operation(method.upper(), template, spec, _pattern(template))
            for template, item in doc["paths"].items()
            for method, spec in item.items()
            if method != "parameters"
        }

    def route(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self.operations.values():
            if op.method == method and (found := op.pattern.fullmatch(path)):
                return op, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    def _follow(self, pointer: str) -> tuple[str, Any]:
        node: Any = self.doc
        for part in pointer.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")] if isinstance(node, dict) else node[int(part)]
        ref = node.get("$ref") if isinstance(node, dict) else None
        return self._follow(ref) if isinstance(ref, str) else (pointer, node)

    def _pointer(self, op: Operation, *rest: str) -> str:
        return "/".join(["#/paths", op.template.replace("~", "~0").replace("/", "~1"), op.method.lower(), *rest])

    def problems(self, pointer: str, value: Any, where: str) -> list[dict[str, str]]:
        """GitHub-style `errors` items for `value` against the schema at `pointer` (none when valid)."""
        if pointer not in self._validators:
            schema = {"$ref": _URI + "#" + quote(pointer.removeprefix("#"), safe="/~")}
            self._validators[pointer] = Draft202012Validator(schema, registry=self._registry, format_checker=_FORMATS)
        return [
            {"resource": where, "field": ".".join(map(str, e.absolute_path)) or where, "code": "invalid",
             "message": e.message[:300]}
            for e in sorted(self._validators[pointer].iter_errors(value), key=lambda e: list(map(str, e.path)))
        ]  # fmt: skip

    def arguments(self, op: Operation, where: str, given: Mapping[str, str]) -> tuple[dict[str, Any], list[Any]]:
        """The `where` ("path" or "query") parameters as typed values with defaults, and every problem."""
        values: dict[str, Any] = {}
        problems: list[Any] = []
        count = len(op.spec.get("parameters", ()))
        declared = [self._follow(self._pointer(op, "parameters", str(i))) for i in range(count)]
        for pointer, param in declared:
            if param["in"] != where:
                continue
            name = param["name"]
            if name in given:
                values[name] = _scalar(given[name], param.get("schema", {}))
                problems += self.problems(pointer + "/schema", values[name], f"{where} parameter {name}")
            elif param.get("required"):
                problems.append({"resource": where, "field": name, "code": "missing_field", "message": "missing"})
            elif "default" in param.get("schema", {}):
                values[name] = param["schema"]["default"]
        known = {param["name"] for _, param in declared if param["in"] == where}
        problems += [
            {"resource": where, "field": name, "code": "invalid", "message": f"{name} is not a {where} parameter"}
            for name in sorted(set(given) - known)
        ]  # stricter than GitHub, which ignores them: a parameter the description lacks is a bug in the caller
        return values, problems

    def body_schema(self, op: Operation) -> str | None:
        if "requestBody" not in op.spec:
            return None
        pointer, _ = self._follow(self._pointer(op, "requestBody"))
        return pointer + "/content/application~1json/schema"

    def response_problems(self, op: Operation | None, status: int, body: Any) -> list[str]:
        """What is wrong with a response the stand-in is about to send (a bug in the stand-in when not empty)."""
        if op is None or str(status) not in op.spec["responses"]:
            if status >= 400 and isinstance(body, dict):
                return [p["message"] for p in self.problems(GENERIC_ERROR, body, "response")]
            return [f"{status} is not a response of {op.id if op else 'an unknown route'}"]
        pointer, response = self._follow(self._pointer(op, "responses", str(status)))
        if "application/json" not in response.get("content", {}):
            return [] if body is None else [f"{status} of {op.id} has no body, got one"]
        schema = pointer + "/content/application~1json/schema"
        return [f"{p['field']}: {p['message']}" for p in self.problems(schema, body, "response")]


_FORMATS = FormatChecker()  # jsonschema's own, plus the two GitHub's schemas lean on most


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


@_FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.fullmatch(value))


@_FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool((parts := urlsplit(value)).scheme and (parts.netloc or parts.path))


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)))


@functools.cache
def _description() -> Description | Unavailable:
    try:
        return Description(load())
    except Unavailable as exc:
        return exc  # remembered: one failed fetch per process, not one per test


def operations() -> Description:
    """The cut description for a test (once per process); skips or, with CI=true, fails when unavailable."""
    found = _description()
    if isinstance(found, Unavailable):
        unavailable(str(found))
    return found
