"""The CRD -> strict JSON Schema converter behind `make schemas`, on a small inline CRD."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from rollgate.contracts.errors import ContractError
from rollgate.manifests import crds as crd_schema

pytestmark = pytest.mark.unit

CRD = yaml.safe_load("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.io}
spec:
  group: example.io
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                size: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {a: {type: string}}}
    - name: v0
      served: false
      schema: {openAPIV3Schema: {type: object}}
""")


@pytest.fixture
def validator() -> jsonschema.Draft7Validator:
    (schema,) = crd_schema.convert(CRD).values()
    return jsonschema.Draft7Validator(schema)


def test_layout_and_served_versions_only() -> None:
    assert list(crd_schema.convert(CRD)) == ["example.io/widget_v1.json"]


def _widget(**spec: object) -> dict[str, object]:
    return {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {}, "spec": spec}


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        (_widget(size=3, note=None), True),
        (_widget(size="50%"), True),
        (_widget(free={"anything": 1}), True),  # preserve-unknown-fields keeps it open
        (_widget(sise=3), False),  # a misspelt field
        (_widget(size=1.5), False),
        ({**_widget(), "kind": "Gadget"}, False),
        ({**_widget(), "apiVersion": "example.io/v2"}, False),
    ],
)
def test_strictness(validator: jsonschema.Draft7Validator, doc: dict[str, object], ok: bool) -> None:
    assert validator.is_valid(doc) is ok


def test_not_a_crd() -> None:
    with pytest.raises(ContractError, match="not a CustomResourceDefinition"):
        crd_schema.convert({"kind": "ConfigMap"})


def test_offline_fetch_fails_clearly(tmp_path: Path) -> None:
    lock = tmp_path / "schemas.lock"
    lock.write_text("crds:\n- {name: x, version: v1, url: 'http://127.0.0.1:9/x.yaml', sha256: null}\n")
    with pytest.raises(ContractError, match=r"cannot download http://127\.0\.0\.1:9/x\.yaml"):
        crd_schema.fetch(lock, tmp_path / "out")


def test_shipped_lock_lists_the_sources() -> None:
    entries = yaml.safe_load((Path(__file__).parents[2] / "schemas.lock").read_text())["crds"]
    assert {e["name"].split()[0] for e in entries} >= {"argo-rollouts", "argo-cd", "istio", "prometheus-operator"}
    assert all(e["url"].startswith("https://") and e["version"] for e in entries)
