"""Checks on rendered text that need no schema: leftover Jinja tokens, one YAML document per file,
and every `{{args.x}}` of an AnalysisTemplate naming an argument it declares."""

from __future__ import annotations

import re
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError

# rollgate's Jinja delimiters (see render.py); Argo's `{{args.x}}` and Go templates use braces.
JINJA_TOKEN = re.compile(r"\[\[|\]\]|\[%|%\]|\[#|#\]")
ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+?)\s*\}\}")


def check_text(name: str, text: str) -> dict[str, Any]:
    """The one YAML document of a rendered file, after the text-level checks."""
    for number, line in enumerate(text.splitlines(), 1):
        token = JINJA_TOKEN.search(line)
        if token:
            raise ContractError(f"{name}:{number}: leftover template token {token.group()!r}: {line.strip()}")
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ContractError(f"{name}: rendered text is not valid YAML: {exc}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ContractError(f"{name}: must hold exactly one object (found {len(docs)} documents)")
    doc: dict[str, Any] = docs[0]
    if doc.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
        declared = {a.get("name") for a in doc.get("spec", {}).get("args", [])}
        undeclared = sorted(set(ARG.findall(text)) - declared)
        if undeclared:
            raise ContractError(f"{name}: {{{{args.x}}}} names undeclared args: {', '.join(undeclared)}")
    return doc


def check_rollout_args(name: str, rollout: dict[str, Any], templates: dict[str, dict[str, Any]]) -> None:
    """Every analysis step passes exactly the args its template needs (declared, without a default)."""
    for number, step in enumerate(rollout["spec"]["strategy"]["canary"].get("steps", [])):
        for ref in step.get("analysis", {}).get("templates", []):
            template = templates.get(ref["templateName"])
            if template is None:
                raise ContractError(f"{name}: step {number} uses unknown AnalysisTemplate {ref['templateName']!r}")
            args = template["spec"].get("args", [])
            passed = {a["name"] for a in step["analysis"].get("args", [])}
            needed = {a["name"] for a in args if "value" not in a and "valueFrom" not in a}
            declared = {a["name"] for a in args}
            if passed - declared or needed - passed:
                raise ContractError(
                    f"{name}: step {number} passes {sorted(passed)} to {ref['templateName']}, which declares "
                    f"{sorted(declared)} and needs {sorted(needed)}"
                )
