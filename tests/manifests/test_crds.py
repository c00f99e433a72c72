"""`make schemas`: the CRD -> strict JSON Schema converter and the sha256 check of `schemas.lock`, on a small
inline CRD and a lock written in the test (offline: `--from DIR` reads the local copies)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import jsonschema
import pytest
import yaml

from rollgate.contracts.errors import ContractError
from rollgate.manifests import crds as crd_schema
from rollgate.manifests import schemas as validation

pytestmark = pytest.mark.unit

CRD_TEXT = """
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
"""
CRD = yaml.safe_load(CRD_TEXT)
ROOT = Path(__file__).parents[2]


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
        ({k: v for k, v in _widget().items() if k != "kind"}, False),  # apiVersion and kind are required
    ],
)
def test_strictness(validator: jsonschema.Draft7Validator, doc: dict[str, object], ok: bool) -> None:
    assert validator.is_valid(doc) is ok


def test_not_a_crd() -> None:
    with pytest.raises(ContractError, match="not a CustomResourceDefinition"):
        crd_schema.convert({"kind": "ConfigMap"})


def test_metadata_is_allowed_where_the_crd_leaves_it_out() -> None:
    # Istio's CRDs list only spec and status: without this every VirtualService would fail.
    text = CRD_TEXT.replace("            metadata: {type: object}\n", "")
    assert text != CRD_TEXT
    crd = yaml.safe_load(text)
    (schema,) = crd_schema.convert(crd).values()
    assert jsonschema.Draft7Validator(schema).is_valid(_widget(size=1) | {"metadata": {"name": "w"}})


SHA = hashlib.sha256(CRD_TEXT.encode()).hexdigest()
HEADER = "# a comment the lock must keep\n"


def _lock(tmp_path: Path, sha256: str | None, covers: str = "[example.io/v1 Widget]") -> Path:
    """A lock with one entry for `widgets.yaml`, whose local copy holds CRD_TEXT, in `tmp_path/crds/`."""
    (tmp_path / "crds").mkdir(exist_ok=True)
    (tmp_path / "crds" / "widgets.yaml").write_text(CRD_TEXT)
    lock = tmp_path / "schemas.lock"
    lock.write_text(
        f"{HEADER}crds:\n- name: example Widget\n  version: v1\n  url: https://example.io/v1/widgets.yaml\n"
        f"  sha256: {sha256 or 'null'}\n  covers: {covers}\n"
    )
    return lock


def _main(tmp_path: Path, *extra: str) -> None:
    lock = tmp_path / "schemas.lock"
    crd_schema.main(["--lock", str(lock), "--out", str(tmp_path / "out"), "--from", str(tmp_path / "crds"), *extra])


def test_a_good_file_converts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _lock(tmp_path, SHA)
    _main(tmp_path)
    assert (tmp_path / "out" / "example.io" / "widget_v1.json").is_file()
    assert "1 schemas in" in capsys.readouterr().out


def test_a_tampered_file_is_refused_naming_the_entry_and_both_digests(tmp_path: Path) -> None:
    _lock(tmp_path, SHA)
    (tmp_path / "crds" / "widgets.yaml").write_text(CRD_TEXT.replace("size", "sise"))
    tampered = hashlib.sha256(CRD_TEXT.replace("size", "sise").encode()).hexdigest()
    with pytest.raises(SystemExit) as exc:
        _main(tmp_path)
    assert "example Widget (https://example.io/v1/widgets.yaml)" in str(exc.value)
    assert f"has sha256 {tampered}, the lock records {SHA}" in str(exc.value)
    assert not (tmp_path / "out").exists()  # nothing written from a refused lock


@pytest.mark.parametrize("trust", [(), ("--trust-new",)])
def test_a_null_digest_is_refused_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trust: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CI", "true")
    lock = _lock(tmp_path, None)
    with pytest.raises(SystemExit, match="never trusts on first use" if trust else f"no sha256 in the lock.*{SHA}"):
        _main(tmp_path, *trust)
    assert "sha256: null" in lock.read_text()


def test_trust_new_outside_ci_records_the_digest_and_keeps_the_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    lock = _lock(tmp_path, None)
    _main(tmp_path, "--trust-new")
    assert lock.read_text().startswith(HEADER)
    assert crd_schema.read_lock(lock)[0].sha256 == SHA


def test_trust_new_never_overwrites_a_recorded_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    _lock(tmp_path, "f" * 64)
    with pytest.raises(SystemExit, match=f"has sha256 {SHA}, the lock records ffff"):
        _main(tmp_path, "--trust-new")


def test_a_file_that_lacks_a_covered_kind_is_refused(tmp_path: Path) -> None:
    _lock(tmp_path, SHA, covers="[example.io/v0 Widget]")  # v0 is not served
    with pytest.raises(SystemExit, match=r"example Widget .*covers example\.io/v0 Widget, which the file does not"):
        _main(tmp_path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("url: http://example.io/w.yaml, sha256: null, covers: []", "the url must be https"),
        ("url: https://example.io/w.yaml, sha256: abc, covers: []", "64 lower-case hex digits"),
        ("url: https://example.io/w.yaml, sha256: null, covers: [Widget]", "covers wants"),
        ("url: https://example.io/w.yaml, sha256: null", "needs exactly name, version, url, sha256 and covers"),
        ("url: https://example.io/w.yaml, sha256: null, covers: [], sha: 1", "needs exactly"),
        (
            "url: https://example.io/w.yaml, sha256: null, covers: []}\n- {name: y, version: v1, "
            "url: https://example.org/w.yaml, sha256: null, covers: []",
            r"same file name \['w\.yaml'\]",
        ),
    ],
)
def test_malformed_lock_entries(tmp_path: Path, entry: str, message: str) -> None:
    lock = tmp_path / "schemas.lock"
    lock.write_text(f"crds:\n- {{name: x, version: v1, {entry}}}\n")
    with pytest.raises(ContractError, match=message):
        crd_schema.read_lock(lock)


def test_missing_local_copy_names_the_entry(tmp_path: Path) -> None:
    _lock(tmp_path, SHA)
    (tmp_path / "crds" / "widgets.yaml").unlink()
    with pytest.raises(SystemExit, match=r"schemas.lock: example Widget .*: no local copy .*widgets\.yaml"):
        _main(tmp_path)


def test_offline_download_fails_clearly(tmp_path: Path) -> None:
    lock = tmp_path / "schemas.lock"
    lock.write_text("crds:\n- {name: x, version: v1, url: 'https://127.0.0.1:9/x.yaml', sha256: null, covers: []}\n")
    with pytest.raises(ContractError, match=r"x \(https://127\.0\.0\.1:9/x\.yaml\): cannot download"):
        crd_schema.run(lock, tmp_path / "out")


@pytest.fixture(scope="module")
def shipped() -> list[crd_schema.Entry]:
    """The entries of the repository's own schemas.lock."""
    return crd_schema.read_lock(ROOT / "schemas.lock")


def _custom_kinds_rendered() -> set[str]:
    """`<apiVersion> <kind>` of every custom resource rollgate renders: each environment's manifests for an
    example release (rendered here, so an adopted template with no model yet is covered too) and Argo CD's."""
    from rollgate.contracts import release
    from rollgate.manifests import argocd, render
    from rollgate.manifests.deploy_config import environments, load_deploy_config

    example = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
    assert example is not None
    texts = [
        text
        for env in environments(ROOT)
        for text in render.render_texts(load_deploy_config(ROOT, env), dataclasses.replace(example, env=env)).values()
    ]
    found = set()
    for text in [*texts, *argocd.render_texts(ROOT).values()]:
        for doc in yaml.safe_load_all(text):
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            if group not in validation.CORE_GROUPS and group != validation.KUSTOMIZE:
                found.add(f"{doc['apiVersion']} {doc['kind']}")
    return found


def test_shipped_lock_pins_every_file_by_digest(shipped: list[crd_schema.Entry]) -> None:
    assert {e.name.split()[0] for e in shipped} >= {"argo-rollouts", "argo-cd", "istio", "prometheus-operator"}
    for entry in shipped:
        assert entry.sha256, f"{entry} has no sha256"
        assert entry.version in entry.url, f"{entry}: the url does not pin version {entry.version}"


def test_shipped_lock_covers_every_custom_kind_rollgate_renders(shipped: list[crd_schema.Entry]) -> None:
    rendered = _custom_kinds_rendered()
    assert {"argoproj.io/v1alpha1 Rollout", "networking.istio.io/v1 VirtualService"} <= rendered
    assert rendered <= {c for e in shipped for c in e.covers}


@pytest.mark.requires_schemas
def test_shipped_lock_covers_agree_with_the_schemas_used(schemas: Path, shipped: list[crd_schema.Entry]) -> None:
    for entry in shipped:
        for cover in entry.covers:
            api, kind = cover.split()
            group, version = api.split("/")
            assert (schemas / group / f"{kind.lower()}_{version}.json").is_file(), f"{entry}: {cover}"
