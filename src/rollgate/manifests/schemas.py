"""Strict validation of rendered objects: unknown fields are errors.

Core Kubernetes kinds are checked with `kubernetes-validate` (strict schemas of the configured
Kubernetes version); custom resources (Argo, Istio, Prometheus operator) against JSON Schemas laid out
as `<group>/<kind>_<version>.json`, converted from the projects' official CRDs (`make schemas`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from rollgate.contracts.errors import ContractError

CORE_GROUPS = frozenset(
    {"", "apps", "policy", "autoscaling", "batch", "networking.k8s.io", "rbac.authorization.k8s.io"}
)
KUSTOMIZE = "kustomize.config.k8s.io"


@cache
def _crd_validator(path: Path) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(path.read_text(encoding="utf-8")))


def _core(name: str, doc: dict[str, Any], k8s_version: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import VersionNotSupportedError

    try:
        kubernetes_validate.validate(doc, k8s_version, strict=True)
    except VersionNotSupportedError:
        return [f"{name}: Kubernetes {k8s_version} is not a version kubernetes-validate has schemas for"]
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top)"
        return [f"{name}: {doc['kind']} {where}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{name}: no Kubernetes {k8s_version} schema for {doc.get('apiVersion')} {doc.get('kind')}: {exc}"]
    return []


def _custom(name: str, doc: dict[str, Any], group: str, version: str, schemas: Path) -> list[str]:
    path = schemas / group / f"{doc['kind'].lower()}_{version}.json"
    if not path.is_file():
        return [f"{name}: no schema for {group}/{version} {doc['kind']} ({path} missing): run `make schemas`"]
    return [
        f"{name}: {doc['kind']} {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in sorted(_crd_validator(path).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate(name: str, doc: dict[str, Any], schemas: Path, k8s_version: str) -> list[str]:
    """Every problem of one object, each naming the file, the kind and the field path."""
    api = str(doc.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    if not api or "kind" not in doc:
        return [f"{name}: an object needs apiVersion and kind"]
    if group == KUSTOMIZE:
        return []  # not a cluster object; `kubectl kustomize` builds it (tested)
    if group in CORE_GROUPS:
        return _core(name, doc, k8s_version)
    return _custom(name, doc, group, version, schemas)


def require(schemas: Path) -> None:
    """Refuse to validate (never skip silently) without a schema directory."""
    if not schemas.is_dir() or not any(schemas.glob("*/*.json")):
        raise ContractError(
            f"{schemas}: no JSON Schemas of the custom resources here: run `make schemas` "
            "(downloads the CRDs listed in schemas.lock) or pass --schemas DIR"
        )
