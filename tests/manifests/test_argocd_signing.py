"""`rollgate render --argocd` with signed promotion commits: the AppProject's `signatureKeys` and Argo CD's
keyring (`argocd-gpg-keys-cm`) from real gpg keys, schema-valid, deterministic; the configs that would
make Argo CD refuse to sync are refused first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rollgate.adapters import signing
from rollgate.contracts.errors import ContractError
from rollgate.manifests import argocd, check
from tests.gpg_keys import Key, make_key
from tests.helpers import ROOT

pytestmark = pytest.mark.integration

KEY_FILE, WEB_FLOW = "configs/deploy/promotion-key.asc", "configs/deploy/github-web-flow.asc"
CONFIGMAP = "rollgate-gpg-keys-configmap.yaml"


@pytest.fixture
def keys(made: list[Path]) -> tuple[Key, Key]:
    """The promotion key and a stand-in for GitHub's web-flow key."""
    return make_key(made), make_key(made, "GitHub (web-flow commit signing) <noreply@github.com>")


def project(
    tmp_path: Path, promotion: Key | None, extra: tuple[str, ...] = (), envs: tuple[str, ...] = ("prod", "staging")
) -> Path:
    """The shipped deploy configs, with `envs` verifying signatures by `promotion` and listing `extra`."""
    shutil.copytree(ROOT / "configs" / "deploy", tmp_path / "configs" / "deploy")
    if promotion is not None:
        (tmp_path / KEY_FILE).write_text(promotion.public)
    for env in envs:
        config = tmp_path / f"configs/deploy/{env}.yaml"
        text = config.read_text()
        if promotion is not None:
            text = text.replace("verify_signatures: false", f"verify_signatures: true\n  signing_key: {KEY_FILE}")
        if extra:
            listed = "".join(f"\n    - {path}" for path in extra)
            text = text.replace("  github_repo:", f"  signature_keys:{listed}\n  github_repo:", 1)
        config.write_text(text)
    return tmp_path


def test_the_shipped_configs_render_no_keys() -> None:
    texts = argocd.render_texts(ROOT)
    assert CONFIGMAP not in texts
    assert "signatureKeys" not in texts["rollgate-appproject.yaml"]


@pytest.mark.requires_schemas
def test_signature_keys_and_keyring_render_and_validate_strictly(
    keys: tuple[Key, Key], tmp_path: Path, schemas: Path
) -> None:
    promotion, web_flow = keys
    root = project(tmp_path, promotion, (WEB_FLOW,))
    (root / WEB_FLOW).write_text(web_flow.public)
    texts = argocd.render_texts(root)
    assert check.validate_argocd(root, texts, schemas) == []
    project_doc = yaml.safe_load(texts["rollgate-appproject.yaml"])
    assert project_doc["spec"]["signatureKeys"] == [{"keyID": promotion.key_id}, {"keyID": web_flow.key_id}]
    keyring = yaml.safe_load(texts[CONFIGMAP])
    assert keyring["metadata"] == {
        "name": "argocd-gpg-keys-cm",
        "namespace": "argocd",
        "labels": {"app.kubernetes.io/name": "argocd-gpg-keys-cm", "app.kubernetes.io/part-of": "argocd"},
    }
    assert list(keyring["data"]) == [promotion.key_id, web_flow.key_id]
    for key in (promotion, web_flow):  # each entry is that key, armoured, as gpg reads it back
        assert signing.public_key(keyring["data"][key.key_id], "cm").fingerprint == key.fingerprint
    assert texts[CONFIGMAP].startswith(f"# {CONFIGMAP} — rendered by `rollgate render --argocd`")
    assert f"  - {CONFIGMAP}\n" in texts["kustomization.yaml"]
    assert argocd.render_texts(root) == texts  # same inputs, same bytes


def test_the_promotion_key_once_whatever_the_environments(keys: tuple[Key, Key], tmp_path: Path) -> None:
    root = project(tmp_path, keys[0], (KEY_FILE,))  # listed again under signature_keys: still once
    texts = argocd.render_texts(root)
    assert yaml.safe_load(texts["rollgate-appproject.yaml"])["spec"]["signatureKeys"] == [{"keyID": keys[0].key_id}]
    assert list(yaml.safe_load(texts[CONFIGMAP])["data"]) == [keys[0].key_id]


def test_verifying_in_one_environment_only_is_refused(keys: tuple[Key, Key], tmp_path: Path) -> None:
    root = project(tmp_path, keys[0], envs=("prod",))
    with pytest.raises(
        ContractError, match=r"staging\.yaml: promotion\.verify_signatures is false while prod's is true"
    ):
        argocd.render_texts(root)


def test_signature_keys_without_verification_are_refused(tmp_path: Path) -> None:
    root = project(tmp_path, None, (WEB_FLOW,))
    with pytest.raises(ContractError, match=r"argocd\.signature_keys is set but no environment verifies signatures"):
        argocd.render_texts(root)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("two", r"holds 2 keys"), ("secret", r"holds a SECRET key")],
    ids=["missing", "two-keys", "secret"],
)
def test_a_bad_signature_key_file_is_a_clear_error(
    keys: tuple[Key, Key], tmp_path: Path, content: str | None, message: str
) -> None:
    root = project(tmp_path, keys[0], (WEB_FLOW,))
    if content is not None:
        (root / WEB_FLOW).write_text(keys[1].public + keys[0].public if content == "two" else keys[1].secret)
    with pytest.raises(ContractError, match=rf"prod\.yaml: argocd\.signature_keys: {WEB_FLOW}: {message}"):
        argocd.render_texts(root)
