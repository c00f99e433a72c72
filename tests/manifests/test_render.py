"""Rendered manifests: deterministic, one object per file, strictly valid, and every guard catches what it
is there for (a misspelt field, a leftover token, an undeclared arg, a metric the contract lacks)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from rollgate.contracts import metrics, release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import argocd, check, lint, render
from rollgate.manifests import schemas as validate
from rollgate.manifests.deploy_config import load_deploy_config
from rollgate.serve.settings import Limits
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None
CFG = load_deploy_config(ROOT, "prod")
TEXTS = render.render_texts(CFG, EXAMPLE)


def _docs(texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(text) for name, text in texts.items()}


def _by_kind(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in _docs(TEXTS).values() if d["kind"] == kind]
    return doc


def test_rendering_is_deterministic() -> None:
    assert render.render_texts(CFG, EXAMPLE) == TEXTS
    assert argocd.render_texts(ROOT) == argocd.render_texts(ROOT)


def test_one_object_per_file_named_app_kind_with_a_header() -> None:
    for name, text in TEXTS.items():
        doc = yaml.safe_load(text)
        assert text.startswith(f"# {name} — rendered by `rollgate render --env prod`")
        if name != "kustomization.yaml":
            assert name.startswith(f"{CFG.app}-") and name.endswith(f"-{doc['kind'].lower()}.yaml"), name
    kustomization = yaml.safe_load(TEXTS["kustomization.yaml"])
    assert kustomization["resources"] == [n for n in TEXTS if n != "kustomization.yaml"]


@pytest.mark.requires_schemas
@pytest.mark.parametrize("name", sorted(TEXTS) + [f"argocd/{n}" for n in sorted(argocd.render_texts(ROOT))])
def test_every_rendered_object_validates_strictly(name: str, schemas: Path) -> None:
    texts = argocd.render_texts(ROOT) if name.startswith("argocd/") else TEXTS
    text = texts[name.removeprefix("argocd/")]
    assert validate.validate(name, lint.check_text(name, text), schemas, CFG.kubernetes_version) == []


@pytest.mark.requires_schemas
@pytest.mark.parametrize(
    ("name", "find", "typo"),
    [
        (f"{CFG.app}-rollout.yaml", "- setMirrorRoute:", "- setMirorRoute:"),  # a custom resource
        (f"{CFG.app}-rollout.yaml", "progressDeadlineAbort:", "progressDeadlineAbrot:"),
        (f"{CFG.app}-virtualservice.yaml", "gateways:", "gateway:"),
        (f"{CFG.app}-podmonitor.yaml", "podMetricsEndpoints:", "podMetricEndpoints:"),
        (f"{CFG.app}-stable-service.yaml", "targetPort:", "tragetPort:"),  # a core kind
        (f"{CFG.app}-horizontalpodautoscaler.yaml", "minReplicas:", "minReplica:"),
    ],
)
def test_a_misspelt_field_fails_validation(name: str, find: str, typo: str, schemas: Path) -> None:
    text = TEXTS[name].replace(find, typo, 1)
    problems = validate.validate(name, lint.check_text(name, text), schemas, CFG.kubernetes_version)
    assert problems and all(p.startswith(f"{name}: ") for p in problems)


@pytest.mark.requires_schemas
def test_a_template_typo_is_caught_by_check_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schemas: Path
) -> None:
    """A misspelt field in a template (loaded ahead of the packaged one) makes check-manifests fail."""
    project = _project(tmp_path)
    original = render.environment
    source = (Path(render.__file__).parent / "templates" / "rollout.yaml.j2").read_text()
    override = tmp_path / "templates"
    override.mkdir()
    (override / "rollout.yaml.j2").write_text(source.replace("progressDeadlineAbort:", "progressDeadlineAbrot:"))

    def with_typo() -> jinja2.Environment:
        env = original()
        env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(override), env.loader])  # type: ignore[list-item]
        return env

    monkeypatch.setattr(render, "environment", with_typo)
    problems = check.check(project, schemas)
    assert any("progressDeadlineAbrot" in p and "Additional properties" in p for p in problems), problems


def test_leftover_jinja_tokens_and_undeclared_args_are_caught() -> None:
    with pytest.raises(ContractError, match=r"x.yaml:2: leftover template token '\[\['"):
        lint.check_text("x.yaml", "kind: X\nname: [[ cfg.app ]]\n")
    template = TEXTS[f"{CFG.app}-analysistemplate.yaml"].replace("{{args.max-p99-ratio}}", "{{args.max-p99}}")
    with pytest.raises(ContractError, match="undeclared args: max-p99"):
        lint.check_text("t.yaml", template)
    with pytest.raises(ContractError, match="exactly one object"):
        lint.check_text("two.yaml", "a: 1\n---\nb: 2\n")


def test_argo_placeholders_pass_through_jinja_untouched() -> None:
    assert "{{args.canary-hash}}" in TEXTS[f"{CFG.app}-analysistemplate.yaml"]
    texts = argocd.render_texts(ROOT)
    assert '{{index .rollout.metadata.annotations "rollgate.dev/model-sha256"}}' in "".join(texts.values())
    assert '"{{.app.status.operationState.syncResult.revision}}"' in "".join(texts.values())


def test_analysis_queries_only_contract_metrics() -> None:
    known = {m.name for m in metrics.ALL}
    template = _by_kind("AnalysisTemplate")
    used = set()
    for metric in template["spec"]["metrics"]:
        for name in re.findall(r"\b(rollgate_[a-z_]+)", metric["provider"]["prometheus"]["query"]):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name) if name not in known else name)
        assert "rollouts_pod_template_hash" in metric["provider"]["prometheus"]["query"]
        assert metric["successCondition"].startswith("len(result) > 0")  # no data is never a pass
        assert metric["failureCondition"].startswith("len(result) > 0")
    assert used <= known, used - known
    assert {"rollgate_requests_total", "rollgate_request_duration_seconds", "rollgate_input_rejected_total",
            "rollgate_prediction_score", "rollgate_predictions_total"} <= used  # fmt: skip


def test_rollout_shape() -> None:
    rollout = _by_kind("Rollout")
    spec = rollout["spec"]
    assert "replicas" not in spec
    assert spec["progressDeadlineAbort"] is True and spec["rollbackWindow"]["revisions"] >= 1
    canary = spec["strategy"]["canary"]
    assert canary["trafficRouting"]["managedRoutes"] == [{"name": "shadow"}]
    steps = canary["steps"]
    kinds = [next(iter(s)) for s in steps]
    assert kinds[:4] == ["setCanaryScale", "setMirrorRoute", "pause", "analysis"]
    assert steps[4] == {"setMirrorRoute": {"name": "shadow"}}  # mirror route removed after the shadow
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 25]  # then 100: the end of the steps
    assert kinds[-1] == "analysis"
    args = {a["name"]: a["valueFrom"] for a in steps[3]["analysis"]["args"]}
    assert args["canary-hash"] == {"podTemplateHashValue": "Latest"}
    assert args["stable-hash"] == {"podTemplateHashValue": "Stable"}


def _shadow(texts: dict[str, str]) -> tuple[int, int]:
    """(canary scale weight, mirror percentage) of the shadow step."""
    (rollout,) = [d for d in _docs(texts).values() if d["kind"] == "Rollout"]
    scale, mirror = rollout["spec"]["strategy"]["canary"]["steps"][:2]
    return scale["setCanaryScale"]["weight"], mirror["setMirrorRoute"]["percentage"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_shadow_mirrors_the_share_the_canary_is_scaled_to(env: str) -> None:
    """A canary at a quarter of stable's pods that gets a copy of all traffic runs at 4x a stable pod's load."""
    cfg = load_deploy_config(ROOT, env)
    weight, percentage = _shadow(render.render_texts(cfg, replace(EXAMPLE, env=env)))
    assert weight == percentage == render.SHADOW_WEIGHT
    assert 0 < percentage < 100


def test_the_shadow_share_is_one_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "SHADOW_WEIGHT", 10)
    assert _shadow(render.render_texts(CFG, EXAMPLE)) == (10, 10)


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m)", duration)
    assert match, duration
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


# Conditions that retry an answer the server gave: its 503 + Retry-After is load shedding, never retried.
_RETRIES_AN_ANSWER = {"5xx", "gateway-error", "retriable-status-codes", "retriable-4xx", "503"}


def test_every_http_route_has_explicit_retries_and_a_timeout() -> None:
    services = [d for d in _docs(TEXTS).values() if d["kind"] == "VirtualService"]
    routes = [r for vs in services for r in vs["spec"]["http"]]
    assert [r["name"] for r in routes] == ["primary", "public"]  # `shadow` is Argo's, generated during the shadow
    for route in routes:
        retries, timeout = route["retries"], _seconds(route["timeout"])
        assert timeout > Limits().request_timeout_s  # the server's own 503 comes first, not a proxy 504
        assert isinstance(retries["attempts"], int) and 0 <= retries["attempts"] <= 2
        assert _seconds(retries["perTryTimeout"]) == timeout  # a slow answer is not retried
        conditions = set(retries["retryOn"].split(","))
        assert conditions and not conditions & _RETRIES_AN_ANSWER, conditions


def _destination_rules(texts: dict[str, str]) -> list[dict[str, Any]]:
    return [d for d in _docs(texts).values() if d["kind"] == "DestinationRule"]


def test_the_destination_rules_cover_exactly_what_the_virtualservice_routes_to() -> None:
    services = [d for d in _docs(TEXTS).values() if d["kind"] == "VirtualService"]
    vs = services[0]
    destinations = [d["destination"] for s in services for r in s["spec"]["http"] for d in r["route"]]
    rules = _destination_rules(TEXTS)
    assert sorted({d["host"] for d in destinations}) == sorted(r["spec"]["host"] for r in rules)
    assert all("subset" not in d for d in destinations) and all("subsets" not in r["spec"] for r in rules)
    canary = _by_kind("Rollout")["spec"]["strategy"]["canary"]
    # Argo finds the Services in the routes by the host's first label, and mirrors to the bare canary
    # name, which Istio resolves in the VirtualService's namespace: the rules' namespace.
    assert sorted({d["host"].split(".")[0] for d in destinations}) == sorted(
        [canary["canaryService"], canary["stableService"]]
    )
    assert {r["metadata"]["namespace"] for r in rules} == {vs["metadata"]["namespace"]}


def test_the_destination_rules_are_visible_to_the_gateway() -> None:
    gateway_namespace = CFG.gateway.split("/")[0]
    assert gateway_namespace != CFG.namespace
    for rule in _destination_rules(TEXTS):
        assert rule["spec"]["exportTo"] == [".", gateway_namespace]
    same = CFG.model_copy(update={"gateway": f"{CFG.namespace}/gateway"})
    for rule in _destination_rules(render.render_texts(same, EXAMPLE)):
        assert rule["spec"]["exportTo"] == ["."]  # the namespace once: Istio refuses duplicates


def test_pods_are_hardened_and_pinned() -> None:
    pod = _by_kind("Rollout")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert (
        sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]} and not sc["allowPrivilegeEscalation"]
    )
    assert re.fullmatch(r".+@sha256:[0-9a-f]{64}", container["image"])
    assert {"requests", "limits"} <= set(container["resources"])
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
    assert _option(container["args"], "--release") == "/etc/rollgate/release.json"
    (configmap,) = [d for d in _docs(TEXTS).values() if d["kind"] == "ConfigMap" and "release.json" in d["data"]]
    assert pod["volumes"][0]["configMap"]["name"] == configmap["metadata"]["name"]
    served = release.loads(configmap["data"]["release.json"], "configmap")
    assert served == EXAMPLE  # the pod verifies exactly this URI and sha256


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_pod_says_what_runs_and_on_which_ports() -> None:
    (container,) = _by_kind("Rollout")["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["rollgate", "serve"]  # not left to the image's ENTRYPOINT
    args = container["args"]
    assert (_option(args, "--host"), _option(args, "--port"), _option(args, "--admin-port")) == (
        "0.0.0.0",
        "8080",
        "8081",
    )
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "admin": 8081, "public": 8082}
    assert (_option(args, "--public-port"), _option(args, "--public-answer"), _option(args, "--auth")) == (
        "8082",
        "label",  # the public route answers the label only unless the deploy config says otherwise
        "mesh",
    )


@pytest.mark.parametrize("kind", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_every_probe_targets_the_admin_port_with_a_timeout(kind: str) -> None:
    (container,) = _by_kind("Rollout")["spec"]["template"]["spec"]["containers"]
    probe = container[kind]
    assert probe["httpGet"]["port"] == "admin"
    assert isinstance(probe["timeoutSeconds"], int) and 1 <= probe["timeoutSeconds"] <= probe["periodSeconds"]


def test_the_admin_port_is_never_on_a_service() -> None:
    services = [d for d in _docs(TEXTS).values() if d["kind"] == "Service"]
    assert len(services) == 2
    for service in services:
        assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [
            ("http", "http"),
            ("http-public", "public"),
        ]
        assert not {8081, "admin"} & {p.get("port") for p in service["spec"]["ports"]}


def test_only_prometheus_reaches_the_admin_port() -> None:
    rules = _by_kind("NetworkPolicy")["spec"]["ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in rules}
    assert set(by_port) == {8082, 8081} and all(len(rule["ports"]) == 1 for rule in rules)  # no callers listed
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    operators = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml-ops"}}}
    assert by_port[8081] == [prometheus, operators]  # Prometheus by pod and namespace; operators' namespace
    assert prometheus not in by_port[8082] and {"podSelector": {}} not in by_port[8082]


def test_a_new_release_is_a_new_pod_template() -> None:
    other = replace(EXAMPLE, model=replace(EXAMPLE.model, sha256="e" * 64))
    assert render.configmap_name(CFG, other) != render.configmap_name(CFG, EXAMPLE)
    assert render.render_texts(CFG, other)[f"{CFG.app}-rollout.yaml"] != TEXTS[f"{CFG.app}-rollout.yaml"]


def test_podmonitor_scrapes_the_admin_port_and_copies_the_pod_template_hash() -> None:
    (endpoint,) = _by_kind("PodMonitor")["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("admin", "/metrics")
    assert endpoint["relabelings"] == [
        {
            "sourceLabels": ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
            "targetLabel": "rollouts_pod_template_hash",
        }
    ]


def test_applicationset_ignores_what_rollouts_manages() -> None:
    appset = yaml.safe_load(argocd.render_texts(ROOT)["rollgate-applicationset.yaml"])
    assert [e["env"] for e in appset["spec"]["generators"][0]["list"]["elements"]] == ["prod", "staging"]
    spec = appset["spec"]["template"]["spec"]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert {"ApplyOutOfSyncOnly=true", "RespectIgnoreDifferences=true"} <= set(spec["syncPolicy"]["syncOptions"])
    assert [i["name"] for i in spec["ignoreDifferences"]] == ["fraud-detector", "fraud-detector-public"]
    for ignored in spec["ignoreDifferences"]:
        assert ignored["jqPathExpressions"] == [
            ".spec.http[].route[].weight",
            '.spec.http[] | select(.name == "shadow")',
        ]


def test_the_abort_event_carries_the_contract_payload() -> None:
    notifications = yaml.safe_load(argocd.render_texts(ROOT)["rollgate-rollouts-notifications-configmap.yaml"])
    body = notifications["data"]["template.rollgate-rollout-aborted"]
    assert '"event_type": "rollgate-rollout-aborted"' in body
    for key in ("env", "namespace", "rollout", "revision", "model_sha256", "message"):
        assert f'"{key}":' in body
    assert "rollgate-rollout-aborted" in notifications["data"]["trigger.on-rollout-aborted"]


def _project(tmp_path: Path) -> Path:
    """A directory with the deploy configs and a committed-looking manifests/prod for EXAMPLE."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "configs", project / "configs")
    release.write(project / "manifests/prod/release.json", replace(EXAMPLE))
    release_staging = replace(EXAMPLE, env="staging")
    release.write(project / "manifests/staging/release.json", release_staging)
    render.render(project, "prod", EXAMPLE, project / "manifests/prod")
    render.render(project, "staging", release_staging, project / "manifests/staging")
    render.write(argocd.render_texts(project), project / argocd.ARGOCD_DIR)
    return project


@pytest.mark.requires_schemas
def test_check_manifests_passes_then_catches_a_hand_edit(tmp_path: Path, schemas: Path) -> None:
    project = _project(tmp_path)
    assert check.check(project, schemas) == []
    rollout = project / f"manifests/prod/{CFG.app}-rollout.yaml"
    rollout.write_text(rollout.read_text().replace("setWeight: 25", "setWeight: 50", 1))
    (problem,) = check.check(project, schemas)
    assert "manifests/prod differs from what its inputs render" in problem and "+        - setWeight: 25" in problem


def test_check_manifests_refuses_to_run_without_schemas(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"no JSON Schemas .* run `make schemas`"):
        check.check(_project(tmp_path), tmp_path / "nowhere")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_kustomize_builds(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for folder in ("manifests/prod", "manifests/argocd"):
        built = subprocess.run(
            ["kubectl", "kustomize", str(project / folder)], capture_output=True, text=True, check=False
        )
        assert built.returncode == 0, built.stderr
        assert len(list(yaml.safe_load_all(built.stdout))) == len(list((project / folder).glob("*.yaml"))) - 1
