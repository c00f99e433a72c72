"""Rendering the manifests of an environment: Jinja2 templates, deterministic, one object per file.

Jinja's delimiters are `[[ ]]`, `[% %]` and `[# #]` here, so the `{{args.x}}` placeholders of Argo
Rollouts and the Go templates of the notification engines pass through untouched, and a leftover
Jinja token is unambiguous (`rollgate.manifests.lint` looks for it).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from rollgate.contracts import atomic, jsonio, paths
from rollgate.contracts.errors import ContractError
from rollgate.contracts.release import Release
from rollgate.contracts.release import read as read_release
from rollgate.manifests import alerts, analysis, dashboard, lint
from rollgate.manifests.deploy_config import DeployConfig, load_deploy_config
from rollgate.serve.auth import PATH_SCOPES
from rollgate.serve.settings import Limits

RELEASE_FILE = "release.json"  # written by promotion beside the rendered files, never by render

# The shadow step's one number: the canary runs at this share of stable's replicas (`setCanaryScale`)
# and gets this share of the scoring requests mirrored (`setMirrorRoute.percentage`). They must match:
# a quarter of the pods taking a copy of all traffic runs at four times a stable pod's load, and the
# p99 and error comparisons would then judge load, not the model. Argo rounds the canary's replicas
# up, so a canary pod gets at most a stable pod's share (3 stable pods: 1 canary pod, 75 % of it).
SHADOW_WEIGHT = 25

# The mesh waits this much longer than the server's own deadline (`--request-timeout`, left at its
# default by the Rollout), so a slow request ends as the server's 503 + Retry-After, not a proxy 504.
ROUTE_TIMEOUT_MARGIN_S = 2


# The server's container ports: scoring for mesh callers (full answers), admin (metrics, model
# information, probes; never on a Service) and the public route's label-only scoring port.
PORTS = {"http": 8080, "admin": 8081, "public": 8082}
SERVICE_PORTS = {"http": 80, "public": 8082}  # the Services' ports in front of `http` and `public`
SCORING_PATHS = sorted(p for p, scope in PATH_SCOPES.items() if scope == "score")  # the server's, one list
# The authorization policies, each a file: default deny, then the explicit allows (see the template).
POLICIES = ("allow-nothing", "require-jwt", "scoring", "operators", "metrics")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rollgate.manifests", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    env.filters["q"] = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    env.filters["chomp"] = lambda text: str(text).rstrip("\n")  # a macro's block, its last newline dropped
    return env


def configmap_name(cfg: DeployConfig, release: Release) -> str:
    """`<app>-release-<hash>`: a new release record is a new name, so a new pod template."""
    digest = hashlib.sha256(jsonio.dumps(release.to_dict()).encode()).hexdigest()[:10]
    return f"{cfg.app}-release-{digest}"


def _files(cfg: DeployConfig) -> dict[str, tuple[str, dict[str, object]]]:
    """Output file name -> (template, extra context), in a fixed order."""
    a, sec = cfg.app, cfg.security
    files: dict[str, tuple[str, dict[str, object]]] = {
        f"{a}-namespace.yaml": ("namespace.yaml.j2", {}),
        f"{a}-resourcequota.yaml": ("resourcequota.yaml.j2", {}),
        f"{a}-limitrange.yaml": ("limitrange.yaml.j2", {}),
        f"{a}-serviceaccount.yaml": ("serviceaccount.yaml.j2", {}),
        f"{a}-configmap.yaml": ("configmap.yaml.j2", {}),
        f"{a}-stable-service.yaml": ("service.yaml.j2", {"role": "stable"}),
        f"{a}-canary-service.yaml": ("service.yaml.j2", {"role": "canary"}),
        f"{a}-virtualservice.yaml": ("virtualservice.yaml.j2", {"public": False}),
        f"{a}-public-virtualservice.yaml": ("virtualservice.yaml.j2", {"public": True}),
        f"{a}-stable-destinationrule.yaml": ("destinationrule.yaml.j2", {"role": "stable"}),
        f"{a}-canary-destinationrule.yaml": ("destinationrule.yaml.j2", {"role": "canary"}),
        f"{a}-analysistemplate.yaml": ("analysistemplate.yaml.j2", {}),
        f"{a}-rollout.yaml": ("rollout.yaml.j2", {}),
        f"{a}-horizontalpodautoscaler.yaml": ("horizontalpodautoscaler.yaml.j2", {}),
        f"{a}-poddisruptionbudget.yaml": ("poddisruptionbudget.yaml.j2", {}),
        f"{a}-networkpolicy.yaml": ("networkpolicy.yaml.j2", {}),
        f"{a}-podmonitor.yaml": ("podmonitor.yaml.j2", {}),
        f"{a}-prometheusrule.yaml": ("prometheusrule.yaml.j2", {}),
        f"{a}-dashboard-configmap.yaml": ("dashboard-configmap.yaml.j2", dashboard.context(cfg)),
    }
    if sec.mesh_identity:
        files[f"{a}-peerauthentication.yaml"] = ("peerauthentication.yaml.j2", {})
        files[f"{a}-requestauthentication.yaml"] = ("requestauthentication.yaml.j2", {})
        for policy in POLICIES:
            if policy != "operators" or sec.model_info:
                files[f"{a}-{policy}-authorizationpolicy.yaml"] = ("authorizationpolicy.yaml.j2", {"policy": policy})
    if urlsplit(cfg.model_storage_base).scheme in ("http", "https"):
        files[f"{a}-model-store-serviceentry.yaml"] = ("serviceentry.yaml.j2", {})
    files[f"{a}-signed-images-clusterimagepolicy.yaml"] = ("clusterimagepolicy.yaml.j2", {"mesh_images": ()})
    if sec.image_policy.mesh_images:
        mesh: dict[str, object] = {"mesh_images": sec.image_policy.mesh_images}
        files[f"{a}-mesh-images-clusterimagepolicy.yaml"] = ("clusterimagepolicy.yaml.j2", mesh)
    return files


def service_hosts(cfg: DeployConfig) -> dict[str, str]:
    """Role -> FQDN of its Service: what the VirtualService routes to and each DestinationRule's host."""
    return {role: f"{cfg.app}-{role}.{cfg.namespace}.svc.cluster.local" for role in ("stable", "canary")}


def _export_to(cfg: DeployConfig) -> list[str]:
    """This namespace and the gateway's: the proxies that route to the Services (NetworkPolicy's callers)."""
    gateway_namespace = cfg.gateway.split("/")[0]
    return ["."] if gateway_namespace == cfg.namespace else [".", gateway_namespace]


def signer(cfg: DeployConfig) -> str:
    """The keyless identity that signs the images: the image workflow of this repository, on its ref."""
    policy = cfg.security.image_policy
    return f"https://github.com/{cfg.argocd.github_repo}/{policy.workflow}@{policy.ref}"


def _security_context(cfg: DeployConfig) -> dict[str, object]:
    store = urlsplit(cfg.model_storage_base)
    major, minor, _ = cfg.kubernetes_version.split(".")
    return {
        "sec": cfg.security,
        "net": cfg.security.network,
        "store": cfg.security.network.model_store,
        "store_host": store.hostname or "",
        "store_scheme": store.scheme,
        "ip": cfg.security.image_policy,
        "signer": signer(cfg),
        "pipeline_repository": cfg.image.pipeline_repository(),
        "pss_version": f"v{major}.{minor}",
        "ports": PORTS,
        "service_ports": SERVICE_PORTS,
        "scoring_paths": SCORING_PATHS,
    }


def _context(cfg: DeployConfig, release: Release) -> dict[str, object]:
    jinja = environment()
    labels = {"app": cfg.app, "app.kubernetes.io/part-of": "rollgate", "rollgate.dev/env": cfg.env}
    base: dict[str, object] = {
        "cfg": cfg,
        "a": cfg.analysis,
        "release": release,
        "labels": json.dumps(labels),
        "configmap_name": configmap_name(cfg, release),
        "release_json": jsonio.dumps(release.to_dict()).rstrip("\n"),
        "weights": list(cfg.rollout.canary_weights[:-1]),
        "interval": f"{cfg.analysis.interval_seconds}s",
        "window": f"{2 * cfg.analysis.interval_seconds}s",
        "metrics": analysis.criteria(),
        "alert_groups": alerts.groups(cfg, release),
        "gateway_namespace": cfg.gateway.split("/")[0],
        "shadow_weight": SHADOW_WEIGHT,
        "service_hosts": service_hosts(cfg),
        "export_to": _export_to(cfg),
        "route_timeout": f"{math.ceil(Limits().request_timeout_s) + ROUTE_TIMEOUT_MARGIN_S}s",
        "termination_seconds": int(cfg.server.drain_seconds + cfg.server.grace_seconds) + 5,
        **_security_context(cfg),
    }
    base["analysis_step"] = jinja.get_template("_analysis_step.j2").render(base).rstrip("\n")
    return base


def render_texts(cfg: DeployConfig, release: Release) -> dict[str, str]:
    """File name -> rendered text, the kustomization included. Pure: no files touched."""
    if release.env != cfg.env:
        raise ContractError(f"the release record is for {release.env!r}, the deploy config for {cfg.env!r}")
    jinja, context = environment(), _context(cfg, release)
    out = {}
    for name, (template, extra) in _files(cfg).items():
        out[name] = jinja.get_template(template).render({**context, **extra, "file": name})
    kustomization = {**context, "file": "kustomization.yaml", "resources": list(out)}
    out["kustomization.yaml"] = jinja.get_template("kustomization.yaml.j2").render(kustomization)
    for name, text in out.items():
        lint.check_text(name, text)
    return out


def write(texts: dict[str, str], out: Path) -> list[Path]:
    """Write `texts` into `out`, removing rendered files that are no longer produced (not release.json)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out.glob("*.yaml")):
        if stale.name not in texts:
            stale.unlink()
    written = []
    for name, text in texts.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic.write_text(path, text)
        written.append(path)
    return written


def render(root: Path, env: str, release: Release | None, out: Path) -> list[Path]:
    """Render every manifest of `env` for `release` into `out` (release.json is promotion's to write)."""
    if release is None:
        raise ContractError(f"{env} has no model yet (its release record pins none): nothing to render")
    return write(render_texts(load_deploy_config(root, env), release), out)


def render_env(root: Path, env: str, release_file: Path | None = None, out: Path | None = None) -> list[Path]:
    """`rollgate render --env`: the env's manifests from its committed (or a given) release record."""
    source = release_file or root / paths.release_record(env)
    record = read_release(source)
    if record is None:
        raise ContractError(f"{source}: {env} has no model yet (release record pins none): nothing to render")
    texts = render_texts(load_deploy_config(root, env), record)
    return write(texts, out if out is not None else root / paths.release_record(env).parent)
