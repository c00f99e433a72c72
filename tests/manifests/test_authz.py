"""The Istio security evaluator (`rollgate.manifests.authz`): mTLS modes by scope and port, JWT
authentication, ALLOW/DENY evaluation and Istio's string matching, on tiny inline objects; whatever it
does not model is refused by name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import yaml

from rollgate.manifests.authz import Decision, Request, Token, UnsupportedPolicy, decide, mtls_mode

pytestmark = pytest.mark.unit

NS, ROOT_NS, LABELS = "prod", "istio-system", {"app": "scorer", "version": "v1"}
GW = "cluster.local/ns/istio-system/sa/gw"
ISS = "https://issuer.example"
CLAIMS = {
    "azp": "web",
    "groups": ["ops", "dev"],
    "scope": "read write",
    "perm": "a b",
    "level": 3,
    "realm": {"roles": ["admin"]},
}
TOKEN = Token(ISS, "alice", ("scorer",), CLAIMS)
REQUEST = Request(NS, LABELS, 8080, "GET", "/predict", host="scorer.prod.svc", principal=GW)


def obj(kind: str, name: str, spec: dict[str, Any], ns: str = NS, **meta: Any) -> dict[str, Any]:
    """One security.istio.io object."""
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, **meta},
        "spec": spec,
    }


def peer(name: str, mode: str | None, ns: str = NS, **spec: Any) -> dict[str, Any]:
    return obj("PeerAuthentication", name, {**({"mtls": {"mode": mode}} if mode else {}), **spec}, ns)


def allow(name: str, *rules: dict[str, Any], ns: str = NS, **spec: Any) -> dict[str, Any]:
    return obj("AuthorizationPolicy", name, {"rules": list(rules), **spec}, ns)


def deny(name: str, *rules: dict[str, Any], ns: str = NS) -> dict[str, Any]:
    return obj("AuthorizationPolicy", name, {"action": "DENY", "rules": list(rules)}, ns)


def jwt(name: str = "jwt", ns: str = NS, **rule: Any) -> dict[str, Any]:
    return obj("RequestAuthentication", name, {"jwtRules": [{"issuer": ISS, **rule}]}, ns)


WORKLOAD = {"selector": {"matchLabels": {"app": "scorer"}}}
NOTHING = obj("AuthorizationPolicy", "allow-nothing", {})  # the allow-nothing pattern: `spec: {}`
FROM_GW = {"from": [{"source": {"principals": [GW]}}]}
NEEDS_JWT = {"from": [{"source": {"requestPrincipals": ["*"]}}]}

# --- PeerAuthentication: the most specific scope wins, UNSET inherits, per-port overrides ----------------
PORT_LEVEL = yaml.safe_load("""
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: scorer, namespace: prod}
spec:
  selector: {matchLabels: {app: scorer}}
  mtls: {mode: STRICT}
  portLevelMtls:
    9090: {mode: PERMISSIVE}
    9091: {mode: UNSET}
""")


@pytest.mark.parametrize(
    ("objects", "port", "expected"),
    [
        ([], 8080, "PERMISSIVE"),
        ([peer("mesh", "STRICT", ROOT_NS)], 8080, "STRICT"),
        ([peer("mesh", "UNSET", ROOT_NS)], 8080, "PERMISSIVE"),
        ([peer("mesh", "STRICT", ROOT_NS), peer("ns", "PERMISSIVE")], 8080, "PERMISSIVE"),
        ([peer("mesh", "STRICT", ROOT_NS), peer("ns", "UNSET")], 8080, "STRICT"),
        ([peer("ns", "STRICT"), peer("wl", "DISABLE", **WORKLOAD)], 8080, "DISABLE"),
        ([peer("ns", "STRICT"), peer("wl", None, **WORKLOAD)], 8080, "STRICT"),
        ([peer("ns", "STRICT"), peer("other", "DISABLE", selector={"matchLabels": {"app": "x"}})], 8080, "STRICT"),
        ([peer("ns", "STRICT", selector={"matchLabels": {}})], 8080, "STRICT"),  # empty selector = namespace
        ([peer("elsewhere", "STRICT", "staging")], 8080, "PERMISSIVE"),
        ([peer("root-wl", "STRICT", ROOT_NS, **WORKLOAD)], 8080, "PERMISSIVE"),  # ignored in the root namespace
        ([PORT_LEVEL], 8080, "STRICT"),
        ([PORT_LEVEL], 9090, "PERMISSIVE"),
        ([PORT_LEVEL], 9091, "STRICT"),  # UNSET on a port inherits the workload's mode
        ([{"apiVersion": "apps/v1", "kind": "PeerAuthentication", "metadata": {}, "spec": {}}], 8080, "PERMISSIVE"),
    ],
)
def test_mtls_mode(objects: list[dict[str, Any]], port: int, expected: str) -> None:
    assert mtls_mode(objects, NS, LABELS, port) == expected


@pytest.mark.parametrize(
    ("objects", "request_", "status"),
    [
        ([peer("ns", "STRICT")], replace(REQUEST, principal=None), 0),
        ([peer("ns", "STRICT")], REQUEST, 200),
        ([peer("ns", "PERMISSIVE")], replace(REQUEST, principal=None), 200),
        ([PORT_LEVEL], replace(REQUEST, port=9090, principal=None), 200),
        ([PORT_LEVEL], replace(REQUEST, port=8080, principal=None), 0),
        # DISABLE: the peer's identity never reaches authz, so a principal rule cannot match.
        ([peer("ns", "DISABLE"), allow("gw", FROM_GW)], REQUEST, 403),
        ([peer("ns", "PERMISSIVE"), allow("gw", FROM_GW)], REQUEST, 200),
    ],
)
def test_mtls_decides_the_connection(objects: list[dict[str, Any]], request_: Request, status: int) -> None:
    assert decide(objects, request_).status == status


def test_refused_connection_names_the_policy() -> None:
    decision = decide([PORT_LEVEL], replace(REQUEST, principal=None))
    assert decision == Decision(False, 0, decision.reason)
    assert "PeerAuthentication prod/scorer" in decision.reason and "8080" in decision.reason


# --- RequestAuthentication ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objects", "token", "status"),
    [
        ([jwt()], None, 200),  # RequestAuthentication alone lets a tokenless request through
        ([jwt(), allow("need-jwt", NEEDS_JWT)], None, 403),
        ([jwt(), deny("no-jwt", {"from": [{"source": {"notRequestPrincipals": ["*"]}}]})], None, 403),
        ([jwt(), allow("need-jwt", NEEDS_JWT)], TOKEN, 200),
        ([jwt(), allow("need-jwt", NEEDS_JWT)], replace(TOKEN, valid=False), 401),
        ([jwt()], replace(TOKEN, issuer="https://other.example"), 401),  # an unknown issuer is rejected
        ([jwt(audiences=["billing"])], TOKEN, 401),
        ([jwt(audiences=["billing", "scorer"]), allow("need-jwt", NEEDS_JWT)], TOKEN, 200),
        ([jwt(audiences=["scorer"])], replace(TOKEN, audiences=()), 401),
        ([allow("need-jwt", NEEDS_JWT)], TOKEN, 403),  # no RequestAuthentication: the token is ignored
        ([obj("RequestAuthentication", "x", {**WORKLOAD, "jwtRules": [{"issuer": "x"}]}, "staging")], TOKEN, 200),
        ([jwt(ns=ROOT_NS), allow("need-jwt", NEEDS_JWT)], TOKEN, 200),  # mesh-wide rule
        ([jwt(), obj("RequestAuthentication", "b", {"jwtRules": [{"issuer": "b"}]})], replace(TOKEN, issuer="b"), 200),
        ([jwt(), deny("all", {})], replace(TOKEN, valid=False), 401),  # the JWT filter runs before RBAC
    ],
)
def test_request_authentication(objects: list[dict[str, Any]], token: Token | None, status: int) -> None:
    assert decide(objects, replace(REQUEST, token=token)).status == status


def test_jwt_refusal_names_the_rule() -> None:
    reason = decide([jwt(audiences=["billing"])], replace(REQUEST, token=TOKEN)).reason
    assert "RequestAuthentication prod/jwt jwtRules[0]" in reason and "audiences" in reason


# --- AuthorizationPolicy: applicability and actions -----------------------------------------------------
OTHER = replace(REQUEST, principal="cluster.local/ns/prod/sa/batch")


@pytest.mark.parametrize(
    ("objects", "request_", "allowed", "reason"),
    [
        ([], REQUEST, True, "no ALLOW"),
        ([NOTHING], REQUEST, False, "AuthorizationPolicy prod/allow-nothing"),
        ([NOTHING, allow("gw", FROM_GW)], REQUEST, True, "AuthorizationPolicy prod/gw rules[0]"),
        ([NOTHING, allow("gw", FROM_GW)], OTHER, False, "prod/allow-nothing, AuthorizationPolicy prod/gw"),
        ([allow("all", {})], OTHER, True, "prod/all rules[0]"),
        ([obj("AuthorizationPolicy", "d", {"action": "DENY"})], REQUEST, True, "no ALLOW"),  # DENY without rules
        (
            [allow("all", {}), deny("d", {"to": [{"operation": {"methods": ["POST"]}}]}, {})],
            REQUEST,
            False,
            "d rules[1]",
        ),
        ([obj("AuthorizationPolicy", "a", {"action": "AUDIT", "rules": [{}]}), NOTHING], REQUEST, False, "nothing"),
        ([obj("AuthorizationPolicy", "a", {"action": "AUDIT", "rules": [{}]})], REQUEST, True, "no ALLOW"),
        (
            [{**NOTHING, "metadata": {**NOTHING["metadata"], "annotations": {"istio.io/dry-run": "true"}}}],
            REQUEST,
            True,
            "",
        ),
        ([allow("nothing", selector={"matchLabels": {"app": "other"}})], REQUEST, True, "no ALLOW"),
        ([allow("nothing", **WORKLOAD)], REQUEST, False, "prod/nothing"),
        ([allow("nothing", ns=ROOT_NS)], REQUEST, False, "istio-system/nothing"),  # mesh-wide
        ([allow("nothing", ns="staging")], REQUEST, True, "no ALLOW"),
        ([{**allow("nothing"), "apiVersion": "security.istio.io/v1beta1"}], REQUEST, False, "prod/nothing"),
    ],
)
def test_authorization_actions(objects: list[dict[str, Any]], request_: Request, allowed: bool, reason: str) -> None:
    decision = decide(objects, request_)
    assert (decision.allowed, decision.status) == (allowed, 200 if allowed else 403)
    assert reason in decision.reason


# --- One ALLOW rule against one request: Istio's matching -----------------------------------------------
def src(**fields: list[str]) -> dict[str, Any]:
    return {"from": [{"source": fields}]}


def op(**fields: list[str]) -> dict[str, Any]:
    return {"to": [{"operation": fields}]}


def when(key: str, values: list[str] | None = None, not_values: list[str] | None = None) -> dict[str, Any]:
    return {
        "when": [
            {"key": key, **({"values": values} if values else {}), **({"notValues": not_values} if not_values else {})}
        ]
    }


PLAIN, JWT = replace(REQUEST, principal=None), replace(REQUEST, token=TOKEN)
MATCHING = [
    (src(principals=[GW]), REQUEST, True),
    (src(principals=["cluster.local/ns/istio-system/*"]), REQUEST, True),
    (src(principals=["*/sa/gw"]), REQUEST, True),
    (src(principals=["*"]), REQUEST, True),
    (src(principals=["*"]), PLAIN, False),
    (src(notPrincipals=["*"]), PLAIN, True),  # an absent attribute passes every not*
    (src(notPrincipals=[GW]), REQUEST, False),
    (src(namespaces=["istio-system"]), REQUEST, True),
    (src(namespaces=["istio-*"]), REQUEST, True),
    (src(namespaces=["prod"]), REQUEST, False),
    (src(namespaces=["istio-system"]), PLAIN, False),
    (src(notNamespaces=["prod"]), PLAIN, True),
    (src(principals=[GW], namespaces=["prod"]), REQUEST, False),  # fields of one source AND
    ({"from": [{"source": {"namespaces": ["prod"]}}, {"source": {"principals": [GW]}}]}, REQUEST, True),  # sources OR
    (src(requestPrincipals=[f"{ISS}/alice"]), JWT, True),
    (src(requestPrincipals=[f"{ISS}/*"]), JWT, True),
    (src(requestPrincipals=[f"{ISS}/al*"]), JWT, True),
    (src(requestPrincipals=["*/alice"]), JWT, True),
    (src(requestPrincipals=["*issuer.example/alice"]), JWT, True),
    (src(requestPrincipals=["*/bob"]), JWT, False),
    (src(requestPrincipals=["*ice"]), JWT, True),  # no `/`: a suffix of the subject
    (src(requestPrincipals=["https://iss*"]), JWT, False),  # split at the URL's last `/`: issuer `https:/`
    (src(requestPrincipals=["*"]), REQUEST, False),
    (src(notRequestPrincipals=[f"{ISS}/alice"]), REQUEST, True),
    (op(hosts=["SCORER.prod.svc"]), REQUEST, True),  # hosts are case-insensitive
    (op(hosts=["*.PROD.svc"]), REQUEST, True),
    (op(notHosts=["scorer*"]), REQUEST, False),
    (op(ports=["8080"]), REQUEST, True),
    (op(ports=["9090"]), REQUEST, False),
    (op(notPorts=["8080"]), REQUEST, False),
    (op(methods=["GET", "HEAD"]), REQUEST, True),
    (op(methods=["get"]), REQUEST, False),  # methods are case-sensitive
    (op(notMethods=["POST"]), REQUEST, True),
    (op(paths=["/predict"]), replace(REQUEST, path="/predict?explain=1"), True),  # the query is not the path
    (op(paths=["/pre*"]), REQUEST, True),
    (op(paths=["*dict"]), REQUEST, True),
    (op(paths=["/health"]), REQUEST, False),
    (op(notPaths=["/admin*"]), REQUEST, True),
    ({"to": [{"operation": {"methods": ["POST"]}}, {"operation": {"paths": ["/predict"]}}]}, REQUEST, True),  # OR
    ({**src(principals=[GW]), **op(methods=["POST"])}, REQUEST, False),  # from AND to
    (when("request.auth.principal", [f"{ISS}/alice"]), JWT, True),
    (when("request.auth.audiences", ["scorer"]), JWT, True),
    (when("request.auth.presenter", ["web"]), JWT, True),
    (when("request.auth.claims[groups]", ["dev"]), JWT, True),  # a list claim: any element
    (when("request.auth.claims[groups]", not_values=["dev"]), JWT, False),
    (when("request.auth.claims[scope]", ["write"]), JWT, True),  # `scope` is split on spaces
    (when("request.auth.claims[scope]", ["read write"]), JWT, False),
    (when("request.auth.claims[perm]", ["a b"]), JWT, True),  # not space-delimited unless the rule says so
    (when("request.auth.claims[realm][roles]", ["admin"]), JWT, True),
    (when("request.auth.claims[realm]", ["*"]), JWT, False),  # a nested object is no string
    (when("request.auth.claims[level]", ["3"]), JWT, False),  # nor is a number
    (when("request.auth.claims[iss]", [ISS]), JWT, True),
    (when("request.auth.claims[groups]", ["*"]), REQUEST, False),
    (when("request.auth.claims[groups]", not_values=["*"]), REQUEST, True),  # no token: not* passes
    (when("source.principal", [GW]), REQUEST, True),
    (when("source.namespace", ["istio-system"]), REQUEST, True),
    (when("source.namespace", not_values=["prod"]), PLAIN, True),
    (when("destination.port", ["8080"]), REQUEST, True),
    (when("destination.port", not_values=["8080"]), REQUEST, False),
    (when("request.headers[X-Tenant]", ["acme"]), replace(REQUEST, headers={"x-tenant": "acme"}), True),
    (when("request.headers[x-tenant]", ["ac*"]), replace(REQUEST, headers={"X-Tenant": "acme"}), True),
    (when("request.headers[x-tenant]", ["*"]), replace(REQUEST, headers={"x-tenant": ""}), True),  # presence
    (when("request.headers[x-tenant]", ["*"]), REQUEST, False),
    (when("request.headers[x-tenant]", ["acme"], ["acme"]), replace(REQUEST, headers={"x-tenant": "acme"}), False),
    ({"when": [*when("source.principal", [GW])["when"], *when("destination.port", ["9090"])["when"]]}, REQUEST, False),
    ({"when": [{"key": "source.principal"}]}, PLAIN, True),  # neither values nor notValues: no constraint
]


@pytest.mark.parametrize(("rule", "request_", "allowed"), MATCHING)
def test_matching(rule: dict[str, Any], request_: Request, allowed: bool) -> None:
    objects = [jwt(spaceDelimitedClaims=["custom"]), allow("rule", rule)]
    assert decide(objects, request_).allowed is allowed


def test_custom_space_delimited_claims() -> None:
    token = replace(TOKEN, claims={"perm": "a b"})
    rule = when("request.auth.claims[perm]", ["b"])
    assert decide([jwt(spaceDelimitedClaims=["perm"]), allow("r", rule)], replace(REQUEST, token=token)).allowed
    assert not decide([jwt(), allow("r", rule)], replace(REQUEST, token=token)).allowed


# --- Refused, never guessed ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [allow("t", {}, targetRefs=[{"kind": "Gateway", "name": "gw"}])],
            "AuthorizationPolicy prod/t: `spec.targetRefs`",
        ),
        ([obj("RequestAuthentication", "r", {"targetRef": {"kind": "Gateway", "name": "gw"}})], "`spec.targetRef`"),
        ([obj("AuthorizationPolicy", "c", {"action": "CUSTOM", "provider": {"name": "ext"}, "rules": [{}]})], "CUSTOM"),
        ([allow("ip", src(ipBlocks=["10.0.0.0/8"]))], "prod/ip rules[0].from: `ipBlocks`"),
        ([allow("ip", src(notRemoteIpBlocks=["10.0.0.1"]))], "`notRemoteIpBlocks`"),
        ([allow("sa", src(serviceAccounts=["prod/gw"]))], "`serviceAccounts`"),
        ([allow("w", when("source.ip", ["10.0.0.1"]))], "prod/w rules[0].when: `when` key 'source.ip'"),
        ([allow("w", when("connection.sni", ["x"]))], "'connection.sni'"),
        ([allow("w", when("request.auth.claims", ["x"]))], "'request.auth.claims'"),
        ([allow("p", op(paths=["/v1/{*}/predict"]))], "path templates"),
        ([allow("p", op(ports=["http"]))], "port numbers"),
        (
            [allow("ok", {}, {"to": [{"operation": {"notIpBlocks": ["1.2.3.4"]}}]})],
            "prod/ok rules[1].to",
        ),  # rule 0 matches
        ([peer("a", "STRICT"), peer("b", "PERMISSIVE")], "more than one namespace-level"),
        ([peer("a", "STRICT", portLevelMtls={8080: {"mode": "DISABLE"}})], "requires a selector"),
        ([{**NOTHING, "metadata": {"name": "x"}}], "no `metadata.namespace`"),
    ],
)
def test_unsupported_policy(objects: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(UnsupportedPolicy) as raised:
        decide(objects, JWT)
    assert message in str(raised.value)
