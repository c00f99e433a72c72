"""Structural security checks of a rendered environment: every object the deploy config calls for is
there, and none is weakened. `security.judge` then proves what the Istio policies allow, request by
request; these checks catch what a table of requests cannot (a wildcard that happens to pass it, a
missing admission label, an image no signature policy covers)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rollgate.manifests.deploy_config import DeployConfig
from rollgate.manifests.render import PORTS, SCORING_PATHS, SERVICE_PORTS, signer

Obj = Mapping[str, Any]
DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")


def _of(docs: Mapping[str, Obj], kind: str) -> Iterator[tuple[str, Obj]]:
    yield from ((name, doc) for name, doc in docs.items() if doc.get("kind") == kind)


def problems(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    """Every missing or weakened security object among `docs` (file name -> object)."""
    found = _namespace(cfg, docs) + _quota(docs) + _public_route(cfg, docs) + _network(cfg, docs)
    found += _images(cfg, docs)
    found += _mesh(cfg, docs) if cfg.security.mesh_identity else _api_keys(docs)
    return found


def _namespace(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    spaces = [(n, d) for n, d in _of(docs, "Namespace") if d["metadata"]["name"] == cfg.namespace]
    if not spaces:
        return [f"no Namespace {cfg.namespace} with its Pod Security and image-policy labels"]
    name, doc = spaces[0]
    labels = doc["metadata"].get("labels", {})
    want = {
        "pod-security.kubernetes.io/enforce": cfg.security.pod_security,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "policy.sigstore.dev/include": "true",
        "istio-injection": "enabled",
    }
    return [f"{name}: label {k} must be {v!r} (is {labels.get(k)!r})" for k, v in want.items() if labels.get(k) != v]


def _quota(docs: Mapping[str, Obj]) -> list[str]:
    out = []
    if not any(
        {"pods", "limits.cpu", "limits.memory"} <= set(d["spec"].get("hard", {})) for _, d in _of(docs, "ResourceQuota")
    ):
        out.append("no ResourceQuota bounding pods, limits.cpu and limits.memory")
    ranges = [d for _, d in _of(docs, "LimitRange")]
    if not any(
        lim.get("type") == "Container" and "max" in lim and "default" in lim
        for d in ranges
        for lim in d["spec"]["limits"]
    ):
        out.append("no LimitRange giving containers default limits and a maximum")
    return out


def _public_route(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    """A VirtualService on the public gateway or host routes the scoring paths only, to the public port."""
    out = []
    for name, doc in _of(docs, "VirtualService"):
        spec = doc["spec"]
        if cfg.gateway not in spec.get("gateways", []) and cfg.host not in spec.get("hosts", []):
            continue
        if "mesh" in spec.get("gateways", []) or cfg.gateway not in spec.get("gateways", []):
            out.append(f"{name}: the public host must be bound to {cfg.gateway} alone")
        for i, route in enumerate(spec.get("http", [])):
            where = f"{name}: http[{i}]"
            matches = route.get("match") or [{}]
            for m in matches:
                if set(m.get("uri", {})) != {"exact"} or m["uri"]["exact"] not in SCORING_PATHS:
                    found = m or "everything"
                    out.append(f"{where}: a public route must match exact scoring paths {SCORING_PATHS}, not {found}")
            for dest in route.get("route", []) + ([route["mirror"]] if "mirror" in route else []):
                d = dest.get("destination", dest)
                if d.get("port", {}).get("number") != SERVICE_PORTS["public"]:
                    out.append(f"{where}: the public route must go to the label-only port {SERVICE_PORTS['public']}")
    for name, doc in _of(docs, "Service"):
        for port in doc["spec"].get("ports", []):
            if port.get("targetPort") in ("admin", PORTS["admin"]):
                out.append(f"{name}: exposes the admin port (metrics, model information)")
    return out


def _network(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    policies = [
        (n, d) for n, d in _of(docs, "NetworkPolicy") if d["spec"]["podSelector"].get("matchLabels") == {"app": cfg.app}
    ]
    if not policies:
        return [f"no NetworkPolicy selecting app={cfg.app}"]
    name, spec = policies[0][0], policies[0][1]["spec"]
    out = (
        [] if set(spec.get("policyTypes", [])) == {"Ingress", "Egress"} else [f"{name}: must govern Ingress and Egress"]
    )
    allowed = set(cfg.security.scoring_namespaces()) | set(cfg.security.operator_namespaces())
    for i, rule in enumerate(spec.get("ingress", [])):
        if not rule.get("ports") or not rule.get("from"):
            out.append(f"{name}: ingress[{i}] must name its peers and ports")
        for peer in rule.get("from", []):
            ns, pods = peer.get("namespaceSelector"), peer.get("podSelector")
            if "ipBlock" in peer or not (ns and ns.get("matchLabels")):
                out.append(f"{name}: ingress[{i}] admits {peer}: peers are pods of named namespaces")
            elif (
                not (pods and pods.get("matchLabels"))
                and ns["matchLabels"].get("kubernetes.io/metadata.name") not in allowed
            ):
                out.append(f"{name}: ingress[{i}] admits a whole namespace {ns['matchLabels']}")
    for i, rule in enumerate(spec.get("egress", [])):
        blocks = [p["ipBlock"]["cidr"] for p in rule.get("to", []) if "ipBlock" in p]
        if not rule.get("ports") or not rule.get("to") or any(c.endswith("/0") for c in blocks):
            out.append(f"{name}: egress[{i}] must name its destinations and ports (never everywhere)")
    return out


def _glob(pattern: str) -> re.Pattern[str]:
    """policy-controller's glob: `*` stays within one path segment, `**` crosses them."""
    parts = [".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in re.split(r"(\*\*|\*)", pattern)]
    return re.compile("^" + "".join(parts) + "$")


def _images(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    images = [c["image"] for _, d in _of(docs, "Rollout") for c in d["spec"]["template"]["spec"]["containers"]]
    out = [f"image {i} is not pinned by digest" for i in images if not DIGEST_REF.match(i)]
    signed = []
    for name, doc in _of(docs, "ClusterImagePolicy"):
        spec = doc["spec"]
        keyless = [a["keyless"] for a in spec.get("authorities", []) if "keyless" in a]
        identities = [i for k in keyless for i in k.get("identities", [])]
        if spec.get("mode", "enforce") != "enforce":
            out.append(f"{name}: mode must be enforce")
        if any("static" in a for a in spec.get("authorities", [])) and any("*" in g["glob"] for g in spec["images"]):
            out.append(f"{name}: a policy that passes images without a signature must name each by digest")
        if keyless and all(
            i == {"issuer": cfg.security.image_policy.issuer, "subject": signer(cfg)} for i in identities
        ):
            signed += [_glob(g["glob"]) for g in spec["images"]]
    for image in images:
        if not any(g.match(image) for g in signed):
            out.append(f"image {image}: no ClusterImagePolicy requires the image workflow's signature ({signer(cfg)})")
    return out


def _api_keys(docs: Mapping[str, Obj]) -> list[str]:
    args = [
        a
        for _, d in _of(docs, "Rollout")
        for c in d["spec"]["template"]["spec"]["containers"]
        for a in c.get("args", [])
    ]
    return [] if "--api-keys" in args else ["without mesh identity the server must check API keys (--api-keys)"]


def _mesh(cfg: DeployConfig, docs: Mapping[str, Obj]) -> list[str]:
    out = []
    mine = {"app": cfg.app}
    strict = [d for _, d in _of(docs, "PeerAuthentication") if d["spec"].get("selector", {}).get("matchLabels") == mine]
    if not strict or strict[0]["spec"].get("mtls", {}).get("mode") != "STRICT":
        out.append("no PeerAuthentication STRICT for the server")
    else:
        levels = {str(k): v.get("mode") for k, v in strict[0]["spec"].get("portLevelMtls", {}).items()}
        permitted = {str(PORTS["admin"]): "PERMISSIVE"} if cfg.security.scrape.mode == "permissive" else {}
        if levels and levels != permitted:
            out.append(
                f"PeerAuthentication portLevelMtls {levels}: only the admin port, and only with scrape.mode permissive"
            )
    policies = list(_of(docs, "AuthorizationPolicy"))
    if not any(d["spec"].get("action", "ALLOW") == "ALLOW" and "rules" not in d["spec"] for _, d in policies):
        out.append("no allow-nothing AuthorizationPolicy (default deny)")
    for name, doc in policies:
        if doc["spec"].get("action", "ALLOW") == "ALLOW":
            out += [
                f"{name}: rules[{i}]: {p}"
                for i, r in enumerate(doc["spec"].get("rules", []))
                for p in _allow_rule(cfg, r)
            ]
    out += _jwt(cfg, docs, policies)
    return out


def _allow_rule(cfg: DeployConfig, rule: Obj) -> list[str]:
    """An ALLOW rule names its principals (no wildcard, no `not*`), unless it is the permissive scrape."""
    sources = [f.get("source", {}) for f in rule.get("from", [])]
    metrics_only = rule.get("to") == [
        {"operation": {"ports": [str(PORTS["admin"])], "methods": ["GET"], "paths": ["/metrics"]}}
    ]
    plain_text = sources == [{"notPrincipals": ["*"]}]
    if cfg.security.scrape.mode == "permissive" and metrics_only and plain_text and "when" not in rule:
        return []  # the stated choice: plain-text scrapes of /metrics alone, Prometheus's pods by NetworkPolicy
    if not sources:
        return ["an ALLOW rule without a principal admits anyone"]
    out = []
    for s in sources:
        if not s.get("principals") or any("*" in p for p in s["principals"]):
            out.append(f"every source must list principals, without wildcards (got {s})")
        if any(k.startswith("not") for k in s):
            out.append(f"a not* field in an ALLOW source admits everyone else (got {s})")
        for rp in s.get("requestPrincipals", []):
            if rp != f"{cfg.security.jwt.issuer}/*":
                out.append(f"requestPrincipals {rp!r}: only {cfg.security.jwt.issuer}/* (the configured issuer)")
    return out


def _jwt(cfg: DeployConfig, docs: Mapping[str, Obj], policies: list[tuple[str, Obj]]) -> list[str]:
    out = []
    rules = [r for _, d in _of(docs, "RequestAuthentication") for r in d["spec"].get("jwtRules", [])]
    if not rules:
        out.append("no RequestAuthentication: the public route's tokens are never checked")
    for r in rules:
        if not r.get("issuer") or not str(r.get("jwksUri", "")).startswith("https://"):
            out.append(f"RequestAuthentication rule {r.get('issuer')!r}: an issuer and an https jwksUri are required")
    gw = cfg.security.gateway_principal
    denies = [
        s for _, d in policies if d["spec"].get("action") == "DENY"
        for r in d["spec"].get("rules", []) for f in r.get("from", []) for s in [f.get("source", {})]
        if s.get("notRequestPrincipals") == ["*"] and gw in s.get("principals", [gw])
    ]  # fmt: skip
    if not denies:
        out.append("a RequestAuthentication without a requiring policy: no DENY of gateway requests without a token")
    return out
