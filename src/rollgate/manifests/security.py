"""What `check-manifests` proves about a rendered environment's security, beyond strict schemas.

Two kinds of check. Structural: every object the deploy config calls for is there and not weakened (an
ALLOW rule without a principal, a wildcard, a public route to more than the scoring paths, a
RequestAuthentication nothing requires, a Namespace without its admission labels, an image no
signature policy covers). Semantic: the rendered Istio policies are evaluated (`authz.decide`) for a
table of requests — who, which port, which path, with or without a token — and each answer must be
the expected one. A check that reads the policies the way Istio does catches what a review misses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rollgate.manifests import authz
from rollgate.manifests.deploy_config import DeployConfig
from rollgate.manifests.render import PORTS, SCORING_PATHS

Docs = Mapping[str, Mapping[str, Any]]  # file name -> parsed object
INTRUDER = "cluster.local/ns/intruder/sa/default"
MODEL_PATHS = ("/v1/model", "/openapi.json")


@dataclass(frozen=True)
class Probe:
    """One request and the status the rendered policies must give it."""

    what: str
    port: int
    method: str
    path: str
    principal: str | None
    token: authz.Token | None
    expected: int  # 200, 401, 403, or 0 (the connection refused: no mTLS)


def _token(cfg: DeployConfig, *, claims: bool = True, valid: bool = True) -> authz.Token:
    jwt = cfg.security.jwt
    extra: dict[str, object] = {}
    if claims and jwt.required_claim is not None:
        extra[jwt.required_claim.name] = jwt.required_claim.values[0]
    return authz.Token(jwt.issuer, "client-1", (jwt.audiences[0],), extra, valid)


def probes(cfg: DeployConfig) -> list[Probe]:
    """The table of requests the rendered policies are judged on, from the deploy config alone."""
    sec, gw = cfg.security, cfg.security.gateway_principal
    public, http, admin = PORTS["public"], PORTS["http"], PORTS["admin"]
    out = []
    for path in SCORING_PATHS:
        out += [
            Probe(f"the gateway with a valid token scoring {path}", public, "POST", path, gw, _token(cfg), 200),
            Probe(f"the gateway WITHOUT a token scoring {path}", public, "POST", path, gw, None, 403),
            Probe(
                f"the gateway with an invalid token scoring {path}",
                public,
                "POST",
                path,
                gw,
                _token(cfg, valid=False),
                401,
            ),
            Probe(f"the gateway with a token on the full-answer port {path}", http, "POST", path, gw, _token(cfg), 403),
            Probe(f"a workload not listed scoring {path}", http, "POST", path, INTRUDER, None, 403),
            Probe(f"a plain-text client scoring {path}", http, "POST", path, None, None, 0),
            Probe(f"a plain-text client on the public port {path}", public, "POST", path, None, None, 0),
        ]
        if sec.jwt.required_claim is not None:
            lacking = _token(cfg, claims=False)
            out.append(
                Probe(f"the gateway with a token lacking the claim, {path}", public, "POST", path, gw, lacking, 403)
            )
        out += [Probe(f"caller {c} scoring {path}", http, "POST", path, c, None, 200) for c in sec.callers]
    for path in ("/metrics", *MODEL_PATHS):
        out.append(Probe(f"the gateway with a token reading {path}", admin, "GET", path, gw, _token(cfg), 403))
        out.append(Probe(f"a workload not listed reading {path}", admin, "GET", path, INTRUDER, None, 403))
    for operator in sec.operators:
        out += [
            Probe(f"operator {operator} reading {p}", admin, "GET", p, operator, None, 200 if sec.model_info else 403)
            for p in MODEL_PATHS
        ]
        out.append(Probe(f"operator {operator} scoring", http, "POST", SCORING_PATHS[0], operator, None, 403))
    if sec.scrape.mode == "mesh":
        out.append(Probe("Prometheus reading /metrics", admin, "GET", "/metrics", sec.scrape.principal, None, 200))
        out.append(Probe("Prometheus reading /v1/model", admin, "GET", "/v1/model", sec.scrape.principal, None, 403))
        out.append(Probe("a plain-text client reading /metrics", admin, "GET", "/metrics", None, None, 0))
    else:
        out.append(Probe("Prometheus in plain text reading /metrics", admin, "GET", "/metrics", None, None, 200))
        out.append(Probe("a plain-text client reading /v1/model", admin, "GET", "/v1/model", None, None, 403))
        mesh = Probe(
            "a mesh workload reading /metrics on the permissive port", admin, "GET", "/metrics", INTRUDER, None, 403
        )
        out.append(mesh)
    return out


def judge(where: str, cfg: DeployConfig, objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every probe whose answer under `objects` is not the expected one."""
    labels = {"app": cfg.app}
    problems = []
    for p in probes(cfg):
        request = authz.Request(cfg.namespace, labels, p.port, p.method, p.path, cfg.host, p.principal, p.token)
        try:
            got = authz.decide(objects, request)
        except authz.UnsupportedPolicy as exc:
            return [f"{where}: {exc}: check-manifests cannot prove what the policies allow"]
        if got.status != p.expected:
            problems.append(
                f"{where}: {p.what} (port {p.port} {p.method} {p.path}): expected {_word(p.expected)}, "
                f"the rendered policies give {_word(got.status)} ({got.reason})"
            )
    return problems


def explain(cfg: DeployConfig, objects: Sequence[Mapping[str, Any]]) -> str:
    """What the rendered policies answer to each probe, as a Markdown table (`check-manifests --explain`)."""
    labels = {"app": cfg.app}
    lines = [f"### {cfg.env}: what the rendered policies allow", "", "| request | port | answer | expected |"]
    lines.append("|---|---|---|---|")
    for p in probes(cfg):
        request = authz.Request(cfg.namespace, labels, p.port, p.method, p.path, cfg.host, p.principal, p.token)
        got = authz.decide(objects, request)
        mark = "" if got.status == p.expected else " **(wrong)**"
        lines.append(f"| {p.what} | {p.port} {p.method} {p.path} | {_word(got.status)}{mark} | {_word(p.expected)} |")
    return "\n".join(lines) + "\n"


def _word(status: int) -> str:
    return {0: "connection refused (mTLS required)", 200: "allowed", 401: "401 (token rejected)"}.get(
        status, f"{status} (denied)"
    )
