"""The rendered security objects: what each environment renders, what its Istio policies allow (judged
request by request by the evaluator), and every weakening check-manifests must catch."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from rollgate.contracts import release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import authz, check, render, security
from rollgate.manifests.deploy_config import load_deploy_config, parse
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None
CFG = load_deploy_config(ROOT, "prod")
TEXTS = render.render_texts(CFG, EXAMPLE)
APP = CFG.app


def _raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "configs/deploy/prod.yaml").read_text())
    return loaded


def _edited(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    doc = yaml.safe_load(TEXTS[name])
    change(doc)
    return {**TEXTS, name: yaml.safe_dump(doc, sort_keys=False)}


def test_every_environment_renders_its_security_objects_and_they_hold() -> None:
    for env in ("prod", "staging"):
        cfg = load_deploy_config(ROOT, env)
        record = release.read(ROOT / f"manifests/{env}/release.json")
        assert record is not None
        texts = render.render_texts(cfg, record)
        kinds = sorted(yaml.safe_load(t)["kind"] for n, t in texts.items() if n != "kustomization.yaml")
        for kind in ("Namespace", "PeerAuthentication", "RequestAuthentication", "ResourceQuota", "LimitRange",
                     "ClusterImagePolicy", "ServiceEntry", "NetworkPolicy"):  # fmt: skip
            assert kind in kinds, (env, kind)
        assert kinds.count("AuthorizationPolicy") == 5
        assert check.secured(f"manifests/{env}", cfg, texts) == []


def test_the_probe_table_covers_the_mistakes_that_matter() -> None:
    table = {p.what: p.expected for p in security.probes(CFG)}
    assert table["the gateway WITHOUT a token scoring /v1/predict"] == 403  # RequestAuthentication alone admits it
    assert table["the gateway with an invalid token scoring /v1/predict"] == 401
    assert table["the gateway with a token reading /metrics"] == 403
    assert table["Prometheus in plain text reading /metrics"] == 200  # scrape.mode permissive, as shipped
    assert table["a mesh workload reading /metrics on the permissive port"] == 403
    assert table["a plain-text client scoring /v1/predict"] == 0


def test_request_authentication_alone_lets_a_tokenless_request_through_which_the_rendered_set_does_not() -> None:
    docs = [yaml.safe_load(t) for n, t in TEXTS.items() if n != "kustomization.yaml"]
    gateway = CFG.security.gateway_principal
    tokenless = authz.Request(CFG.namespace, {"app": APP}, 8082, "POST", "/v1/predict", principal=gateway)
    only_jwt = [d for d in docs if d["kind"] in ("RequestAuthentication", "PeerAuthentication")]
    assert authz.decide(only_jwt, tokenless).allowed  # the trap
    assert authz.decide(docs, tokenless).status == 403  # what we render
    without_deny = [d for d in docs if d["metadata"]["name"] != f"{APP}-require-jwt"]
    assert authz.decide(without_deny, tokenless).status == 403  # and the ALLOW alone also requires one


def _drop(*names: str) -> dict[str, str]:
    return {n: t for n, t in TEXTS.items() if n not in names}


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return change


SCORING = f"{APP}-scoring-authorizationpolicy.yaml"
WEAKENED = [
    (
        "an ALLOW rule without a principal",
        _edited(SCORING, _set(["spec", "rules", 0, "from"], None)),
        "without a principal",
    ),
    (
        "a wildcard caller",
        _edited(SCORING, _set(["spec", "rules", 0, "from", 0, "source", "principals"], ["*"])),
        "wildcards",
    ),
    (
        "no requiring policy and no requestPrincipals",
        {
            **_drop(f"{APP}-require-jwt-authorizationpolicy.yaml"),
            SCORING: _edited(SCORING, _set(["spec", "rules", 0, "from", 0, "source", "requestPrincipals"], None))[
                SCORING
            ],
        },
        "without a requiring policy",
    ),
    ("no default deny", _drop(f"{APP}-allow-nothing-authorizationpolicy.yaml"), "allow-nothing"),
    (
        "mTLS permissive",
        _edited(f"{APP}-peerauthentication.yaml", _set(["spec", "mtls", "mode"], "PERMISSIVE")),
        "STRICT",
    ),
    (
        "a public route to everything",
        _edited(f"{APP}-public-virtualservice.yaml", _set(["spec", "http", 0, "match"], [{"uri": {"prefix": "/"}}])),
        "exact scoring paths",
    ),
    (
        "a public route to the full-answer port",
        _edited(
            f"{APP}-public-virtualservice.yaml",
            _set(["spec", "http", 0, "route", 0, "destination", "port", "number"], 80),
        ),
        "label-only port",
    ),
    (
        "a whole namespace admitted",
        _edited(f"{APP}-networkpolicy.yaml", _set(["spec", "ingress", 0, "from", 0, "podSelector"], None)),
        "whole namespace",
    ),
    ("egress left open", _edited(f"{APP}-networkpolicy.yaml", _set(["spec", "policyTypes"], ["Ingress"])), "Egress"),
    (
        "baseline pod security",
        _edited(
            f"{APP}-namespace.yaml", _set(["metadata", "labels", "pod-security.kubernetes.io/enforce"], "baseline")
        ),
        "pod-security",
    ),
    (
        "an image policy any signer passes",
        _edited(
            f"{APP}-signed-images-clusterimagepolicy.yaml",
            _set(["spec", "authorities", 0, "keyless", "identities"], [{"issuer": "https://x", "subjectRegExp": ".*"}]),
        ),
        "no ClusterImagePolicy requires",
    ),
    (
        "an empty JWKS URI",
        _edited(f"{APP}-requestauthentication.yaml", _set(["spec", "jwtRules", 0, "jwksUri"], "")),
        "jwksUri",
    ),
    ("no quota", _drop(f"{APP}-resourcequota.yaml"), "ResourceQuota"),
    (
        "the admin port on a Service",
        _edited(f"{APP}-stable-service.yaml", _set(["spec", "ports", 0, "targetPort"], "admin")),
        "admin port",
    ),
]


@pytest.mark.parametrize(("texts", "expected"), [w[1:] for w in WEAKENED], ids=[w[0] for w in WEAKENED])
def test_check_manifests_fails_a_weakened_set(texts: dict[str, str], expected: str) -> None:
    found = check.secured("manifests/prod", CFG, texts)
    assert any(expected in p for p in found), found


def test_a_metrics_rule_for_the_gateway_is_caught_by_the_probes() -> None:
    def widen(doc: dict[str, Any]) -> None:
        doc["spec"]["rules"].append({"from": [{"source": {"principals": [CFG.security.gateway_principal]}}]})

    found = check.secured("manifests/prod", CFG, _edited(f"{APP}-metrics-authorizationpolicy.yaml", widen))
    assert any("the gateway with a token reading /metrics" in p and "expected 403" in p for p in found), found


def test_a_sync_window_must_allow_manual_syncs() -> None:
    from rollgate.manifests import argocd

    texts = argocd.render_texts(ROOT)
    doc = yaml.safe_load(texts["rollgate-appproject.yaml"])
    assert all(w["manualSync"] is True for w in doc["spec"]["syncWindows"])
    doc["spec"]["syncWindows"][0]["manualSync"] = False
    bad = {**texts, "rollgate-appproject.yaml": yaml.safe_dump(doc)}
    found = check._validate_all(bad, ROOT.parent / "shared/schemas", CFG.kubernetes_version)
    assert any("manual syncs" in p for p in found), found


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["callers"], ["payments/checkout"], "security.callers"),
        (["callers"], ["cluster.local/ns/payments/sa/*"], "wildcards are refused"),
        (["gateway_principal"], "*", "wildcards are refused"),
        (["jwt", "jwks_uri"], "", "security.jwt.jwks_uri"),
        (["jwt", "issuer"], "*", "wildcard issuer"),
        (["operators"], [], "operators: empty while model_info is true"),
        (["mesh_identity"], False, "api_keys must be true"),
        (["istio_cni"], False, "needs istio_cni"),
        (["scrape", "mode"], "mesh", "principal and tls_secret: required with mode mesh"),
        (["network", "gateway", "pods"], {}, "security.network.gateway.pods"),
        (["network", "model_store", "addresses"], ["0.0.0.0/0"], "whole address space"),
        (["quota", "pods"], 3, "2 x hpa.max_replicas"),
    ],
)
def test_a_deploy_config_that_would_open_something_is_refused_naming_the_key(
    path: list[str], value: Any, message: str
) -> None:
    raw = _raw()
    node = raw["security"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ContractError) as caught:
        parse(copy.deepcopy(raw), "configs/deploy/prod.yaml")
    assert "configs/deploy/prod.yaml" in str(caught.value)
    assert message in str(caught.value), caught.value


def test_mesh_scraping_is_a_stated_choice_and_still_holds() -> None:
    scrape = {"mode": "mesh", "principal": "cluster.local/ns/monitoring/sa/prometheus-k8s", "tls_secret": "prom-certs"}
    sec = CFG.security.model_copy(update={"scrape": CFG.security.scrape.model_copy(update=scrape)})
    cfg = CFG.model_copy(update={"security": sec})
    texts = render.render_texts(cfg, EXAMPLE)
    assert "PERMISSIVE" not in texts[f"{APP}-peerauthentication.yaml"]
    monitor = yaml.safe_load(texts[f"{APP}-podmonitor.yaml"])["spec"]["podMetricsEndpoints"][0]
    assert monitor["scheme"] == "https" and monitor["tlsConfig"]["keySecret"]["name"] == "prom-certs"
    assert check.secured("manifests/prod", cfg, texts) == []
    table = {p.what: p.expected for p in security.probes(cfg)}
    assert table["Prometheus reading /metrics"] == 200 and table["a plain-text client reading /metrics"] == 0


def test_api_keys_are_rendered_when_asked_and_required_without_mesh_identity() -> None:
    cfg = CFG.model_copy(
        update={"security": CFG.security.model_copy(update={"api_keys": True, "mesh_identity": False})}
    )
    texts = render.render_texts(cfg, EXAMPLE)
    rollout = texts[f"{APP}-rollout.yaml"]
    assert "--api-keys" in rollout and f"secretName: {APP}-api-keys" in rollout
    assert not any("authorizationpolicy" in n for n in texts)
    assert check.secured("manifests/prod", cfg, texts) == []
    stripped = {**texts, f"{APP}-rollout.yaml": rollout.replace("--api-keys", "--auth")}
    assert any("API keys" in p for p in check.secured("manifests/prod", cfg, stripped))


def test_explain_lists_every_probe_with_its_answer() -> None:
    text = check.explain(ROOT)
    for env in ("prod", "staging"):
        assert f"### {env}: what the rendered policies allow" in text
    assert (
        "| the gateway WITHOUT a token scoring /v1/predict | 8082 POST /v1/predict | 403 (denied) | 403 (denied) |"
        in text
    )
    assert "(wrong)" not in text


def test_check_manifests_explain_prints_the_table() -> None:
    import subprocess

    from tests.helpers import BIN

    done = subprocess.run(
        [str(BIN / "rollgate"), "check-manifests", "--explain"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "### prod: what the rendered policies allow" in done.stdout and "(wrong)" not in done.stdout
