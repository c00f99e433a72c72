"""What a rendered set of Istio security objects allows: a pure evaluator of PeerAuthentication,
RequestAuthentication and AuthorizationPolicy for one HTTP request to one sidecar workload.

The semantics follow Istio's own reference, cited per function: the API protos of istio/api
(`security/v1beta1/*.proto`) and where they are silent, how istio/istio builds the proxy's config
(`pilot/pkg/security/authn/policy_applier.go`, `pilot/pkg/security/authz/{builder,model,matcher}`,
`pilot/pkg/model/{authorization,authentication,policyattachment}.go`) and Envoy's jwt_authn filter.
Whatever it does not model raises `UnsupportedPolicy`: a proof must never rest on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rollgate.contracts.errors import ContractError

GROUP, VERSIONS, MODES = "security.istio.io", ("v1", "v1beta1"), ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
# Envoy splits these claims on spaces into lists whatever the rule says (buildSpaceDelimitedClaims).
SPACE_DELIMITED = ("scope", "permission")
DRY_RUN_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool, as builder.isDryRun reads it


class UnsupportedPolicy(ContractError):  # noqa: N818 - the name the checks catch, fixed by the interface
    """An object uses a field or value this evaluator does not model; the message names kind/name and field."""


@dataclass(frozen=True)
class Token:
    """A bearer JWT as the proxy would see it, at a location its issuer's rule reads."""

    issuer: str
    subject: str
    audiences: tuple[str, ...] = ()
    claims: Mapping[str, object] = field(default_factory=dict)
    valid: bool = True  # False: bad signature, expired or signed by an unknown key


@dataclass(frozen=True)
class Request:
    """One HTTP request as the destination's sidecar sees it; `principal` None is a plaintext peer."""

    namespace: str
    labels: Mapping[str, str]
    port: int
    method: str
    path: str
    host: str = ""
    principal: str | None = None
    token: Token | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The verdict: 200 allowed, 401 JWT rejected, 403 denied by a policy, 0 connection refused."""

    allowed: bool
    status: int
    reason: str


@dataclass(frozen=True)
class _Policy:
    kind: str
    namespace: str
    name: str
    spec: Mapping[str, Any]
    annotations: Mapping[str, str]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def selects(self) -> bool:
        """Whether the policy has a workload selector (an empty `matchLabels` selects the whole namespace)."""
        return bool((self.spec.get("selector") or {}).get("matchLabels"))


@dataclass(frozen=True)
class _Attrs:
    principal: str | None  # the peer identity authz sees: None when plaintext or mTLS DISABLE
    payload: Mapping[str, object] | None  # the verified JWT's claims: None without a verified token
    request: Request


Pred = Callable[[_Attrs], bool]
Tester = Callable[[_Attrs, str], bool]  # does the attribute match one policy string?


def _policies(objects: Iterable[Mapping[str, Any]], kind: str) -> list[_Policy]:
    """The objects of one security kind; targetRef(s) and a missing namespace are refused, since
    which workloads they bind cannot be read from labels (policyattachment.go ShouldAttachPolicy)."""
    found = []
    for obj in objects:
        group, _, version = str(obj.get("apiVersion", "")).partition("/")
        if obj.get("kind") != kind or group != GROUP or version not in VERSIONS:
            continue
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        policy = _Policy(kind, meta.get("namespace", ""), meta.get("name", ""), spec, meta.get("annotations") or {})
        for key in ("targetRef", "targetRefs"):
            if key in spec:
                raise UnsupportedPolicy(f"{policy}: `spec.{key}` is not modelled (gateway/waypoint attachment)")
        if not policy.namespace:
            raise UnsupportedPolicy(f"{policy}: no `metadata.namespace`, so its scope is unknown")
        found.append(policy)
    return found


def _scope(policies: list[_Policy], namespace: str, labels: Mapping[str, str], root: str) -> list[_Policy]:
    """Those in the root or the workload's namespace whose `matchLabels` are a subset of the pod's labels."""
    return [
        p
        for p in policies
        if p.namespace in (root, namespace)
        and ((p.spec.get("selector") or {}).get("matchLabels") or {}).items() <= dict(labels).items()
    ]


def _single(policies: list[_Policy], level: str) -> _Policy | None:
    """The one policy of a level; Istio keeps the oldest by creationTimestamp, which rendered objects lack."""
    if len(policies) > 1:
        raise UnsupportedPolicy(f"{', '.join(map(str, policies))}: more than one {level}-level policy")
    return policies[0] if policies else None


def _mode(policy: _Policy, mtls: Mapping[str, Any] | None, where: str) -> str:
    mode = str((mtls or {}).get("mode", "UNSET"))
    if mode not in MODES:
        raise UnsupportedPolicy(f"{policy}: `{where}.mode` {mode!r} is not one of {MODES}")
    return mode


def _mtls(policies: list[_Policy], port: int, root: str) -> tuple[str, str]:
    """The effective mode and the object that set it (policy_applier.go ComposePeerAuthentication):
    workload > namespace > mesh, UNSET inherits, nothing = PERMISSIVE; a selector in the root namespace
    is ignored (peer_authentication.proto); `portLevelMtls` of the workload policy overrides per port."""
    for p in policies:
        if "portLevelMtls" in p.spec and not p.selects():
            raise UnsupportedPolicy(f"{p}: `spec.portLevelMtls` requires a selector (the CRD refuses it)")
    mesh = _single([p for p in policies if not p.selects() and p.namespace == root], "mesh")
    namespace = _single([p for p in policies if not p.selects() and p.namespace != root], "namespace")
    workload = _single([p for p in policies if p.selects() and p.namespace != root], "workload")
    mode, source = "PERMISSIVE", "no PeerAuthentication (Istio's default PERMISSIVE)"
    for policy in (mesh, namespace, workload):
        if policy is not None and (level := _mode(policy, policy.spec.get("mtls"), "spec.mtls")) != "UNSET":
            mode, source = level, str(policy)
    if workload is not None:
        # YAML reads `8080:` as an int, JSON as a string: compare both as strings.
        ports = {str(k): v for k, v in (workload.spec.get("portLevelMtls") or {}).items()}
        if str(port) in ports and (level := _mode(workload, ports[str(port)], f"portLevelMtls.{port}")) != "UNSET":
            mode, source = level, f"{workload} portLevelMtls {port}"
    return mode, source


def mtls_mode(
    objects: Iterable[Mapping[str, Any]],
    namespace: str,
    labels: Mapping[str, str],
    port: int,
    root_namespace: str = "istio-system",
) -> str:
    """The mTLS mode (STRICT, PERMISSIVE or DISABLE) a workload's sidecar enforces on one container port."""
    peers = _scope(_policies(objects, "PeerAuthentication"), namespace, labels, root_namespace)
    return _mtls(peers, port, root_namespace)[0]


def _payload(token: Token, rule: Mapping[str, Any]) -> dict[str, object]:
    """The claims as Envoy stores them for authz: iss/sub/aud beside the rest, space-delimited claims
    (scope, permission and the rule's `spaceDelimitedClaims`, top level only) split into lists."""
    payload: dict[str, object] = {**token.claims, "iss": token.issuer, "sub": token.subject}
    if token.audiences:
        payload["aud"] = list(token.audiences)
    for name in (*SPACE_DELIMITED, *(rule.get("spaceDelimitedClaims") or ())):
        if isinstance(value := payload.get(name), str):
            payload[name] = [part for part in value.split(" ") if part]
    return payload


def _authenticate(policies: list[_Policy], token: Token | None) -> tuple[dict[str, object] | None, Decision | None]:
    """The verified claims, or a 401. request_authentication.proto: no token passes without identity;
    an invalid one is rejected; "a JWT with different `iss` claim will be rejected" (Envoy's allow_missing
    excuses only a missing JWT, not JwtUnknownIssuer); with `audiences`, one must match (JwtAudienceNotAllowed)."""
    rules = [(p, i, r) for p in policies for i, r in enumerate(p.spec.get("jwtRules") or [])]
    if not rules or token is None:
        return None, None  # without any jwtRules there is no JWT filter: the token is ignored
    named = [(p, i, r) for p, i, r in rules if r.get("issuer") == token.issuer]
    if not named:
        names = ", ".join(f"{p} jwtRules[{i}]" for p, i, _ in rules)
        return None, Decision(False, 401, f"issuer {token.issuer!r} is named by no rule of {names}")
    if not token.valid:
        return None, Decision(False, 401, f"invalid token of {token.issuer!r} ({named[0][0]} jwtRules[{named[0][1]}])")
    for _, _, rule in named:
        if not rule.get("audiences") or set(rule["audiences"]) & set(token.audiences):
            return _payload(token, rule), None
    where = ", ".join(f"{p} jwtRules[{i}]" for p, i, _ in named)
    return None, Decision(False, 401, f"audiences {list(token.audiences)} match no `audiences` of {where}")


def _match(pattern: str, value: str) -> bool:
    """Istio's string match (authorization_policy.proto Rule): exact, `abc*`, `*abc`, `*` = non-empty."""
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _claims(a: _Attrs, path: tuple[str, ...]) -> list[str]:
    """The string values at a claim path; a list claim offers each element (matcher.MetadataListValueMatcher)."""
    value: object = a.payload
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return []
        value = value[key]
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def _claim(path: tuple[str, ...]) -> Tester:
    return lambda a, pattern: any(_match(pattern, v) for v in _claims(a, path))


def _request_principal(a: _Attrs, pattern: str) -> bool:  # noqa: PLR0911 - Istio's cases, one each
    """`<iss>/<sub>`, split at the last `/`, each part matched on its own (generator.go
    requestPrincipalGenerator): a leading `*` applies to the issuer, a trailing one to the subject."""
    i, s = ((a.payload or {}).get(k) for k in ("iss", "sub"))
    if not isinstance(i, str) or not isinstance(s, str):
        return False
    head, slash, tail = pattern.rpartition("/")
    if pattern == "*":
        return i != "" and s != ""
    if pattern.startswith("*"):
        if not slash:  # `*suffix`: any issuer, the subject's suffix
            return i != "" and s.endswith(pattern[1:])
        return (i != "" if head == "*" else i.endswith(head[1:])) and s == tail
    if pattern.endswith("*"):
        if not slash:  # `prefix*`: the issuer's prefix, any subject
            return i.startswith(pattern[:-1]) and s != ""
        return i == head and (s != "" if tail == "*" else s.startswith(tail[:-1]))
    return (i, s) == ((head, tail) if slash else (pattern, ""))


def _principal(a: _Attrs, pattern: str) -> bool:
    return a.principal is not None and _match(pattern, a.principal)


def _namespace(a: _Attrs, pattern: str) -> bool:
    """Istio's regex `.*/ns/<ns>/.*` over the peer's SPIFFE URI, each `*` in the value being `.*`."""
    regex = ".*/ns/" + ".*".join(map(re.escape, pattern.split("*"))) + "/.*"
    return a.principal is not None and re.fullmatch(regex, f"spiffe://{a.principal}") is not None


def _header(name: str) -> Tester:
    """A request header, names case-insensitive; `*` is Envoy's present_match (matcher.HeaderMatcher)."""

    def test(a: _Attrs, pattern: str) -> bool:
        value = next((v for k, v in a.request.headers.items() if k.lower() == name.lower()), None)
        return value is not None and (pattern == "*" or _match(pattern, value))

    return test


def _port(a: _Attrs, pattern: str) -> bool:
    return int(pattern) == a.request.port


SOURCE: dict[str, Tester] = {
    "principals": _principal,
    "requestPrincipals": _request_principal,
    "namespaces": _namespace,
}
OPERATION: dict[str, Tester] = {
    "hosts": lambda a, p: a.request.host != "" and (p == "*" or _match(p.lower(), a.request.host.lower())),
    "ports": _port,
    "methods": lambda a, p: p == "*" or _match(p, a.request.method),
    "paths": lambda a, p: _match(p, a.request.path.partition("?")[0]),  # Envoy's path matcher ignores the query
}
WHEN: dict[str, Tester] = {
    "source.principal": _principal,
    "source.namespace": _namespace,
    "request.auth.principal": _request_principal,
    "request.auth.audiences": _claim(("aud",)),
    "request.auth.presenter": _claim(("azp",)),
    "destination.port": _port,
}


def _values(test: Tester, values: list[str], not_values: list[str]) -> Pred:
    """Values OR'ed, then NOT(any notValue): an absent attribute fails `values` but passes `notValues`,
    since Envoy's matchers miss on it and the builder wraps notValues in `not` (model.go rule.principal)."""
    return lambda a: (not values or any(test(a, v) for v in values)) and not any(test(a, v) for v in not_values)


def _check(policy: _Policy, where: str, key: str, values: list[str]) -> None:
    """Refuse what is not modelled rather than guess: path templates, non-numeric ports."""
    if key in ("paths", "notPaths") and any("{" in v for v in values):
        raise UnsupportedPolicy(f"{policy} {where}: `{key}` path templates are not modelled")
    if key in ("ports", "notPorts", "destination.port") and not all(
        str(v).isdigit() and int(v) < 65536 for v in values
    ):
        raise UnsupportedPolicy(f"{policy} {where}: `{key}` {values} is not a list of port numbers")


def _fields(policy: _Policy, obj: Mapping[str, Any], testers: dict[str, Tester], where: str) -> Pred:
    """One source or operation: every present field must match (AND), the values of one field OR."""
    preds = []
    for key, values in obj.items():
        base = key[3].lower() + key[4:] if key.startswith("not") else key
        if base not in testers:
            raise UnsupportedPolicy(f"{policy} {where}: `{key}` is not modelled")
        _check(policy, where, key, values)
        preds.append(_values(testers[base], [], values) if base != key else _values(testers[base], values, []))
    return lambda a: all(p(a) for p in preds)


def _when(policy: _Policy, condition: Mapping[str, Any], where: str) -> Pred:
    """One `when` condition; the keys of model.go New, less those on IPs, SNI, trust domains and accounts."""
    key = str(condition.get("key", ""))
    values, not_values = condition.get("values") or [], condition.get("notValues") or []
    claims = re.fullmatch(r"request\.auth\.claims((?:\[[^\[\]]+\])+)", key)
    header = re.fullmatch(r"request\.headers\[([^\[\]]+)\]", key)
    if claims:
        test = _claim(tuple(re.findall(r"\[([^\[\]]+)\]", claims[1])))
    elif header:
        test = _header(header[1])
    elif key in WHEN:
        test = WHEN[key]
    else:
        raise UnsupportedPolicy(f"{policy} {where}: `when` key {key!r} is not modelled")
    _check(policy, where, key, values + not_values)
    return _values(test, values, not_values)


def _rule(policy: _Policy, rule: Mapping[str, Any], where: str) -> Pred:
    """A rule: any `from` (absent = any source) AND any `to` (absent = any) AND every `when`."""
    sources = [_fields(policy, f.get("source") or {}, SOURCE, f"{where}.from") for f in rule.get("from") or []]
    operations = [_fields(policy, t.get("operation") or {}, OPERATION, f"{where}.to") for t in rule.get("to") or []]
    conditions = [_when(policy, c, f"{where}.when") for c in rule.get("when") or []]
    return lambda a: (
        (not sources or any(s(a) for s in sources))
        and (not operations or any(o(a) for o in operations))
        and all(c(a) for c in conditions)
    )


def _matched(policy: _Policy, a: _Attrs) -> int | None:
    """The first matching rule's index; every rule is compiled first so an unsupported field always raises.
    No `rules` matches nothing (builder.go rbacPolicyMatchNever): ALLOW allows nothing, DENY denies nothing."""
    rules = [_rule(policy, r or {}, f"rules[{i}]") for i, r in enumerate(policy.spec.get("rules") or [])]
    return next((i for i, rule in enumerate(rules) if rule(a)), None)


def _authorize(policies: list[_Policy], a: _Attrs) -> Decision:
    """authorization_policy.proto: CUSTOM (refused here), then DENY, then ALLOW; AUDIT and `istio.io/dry-run`
    policies do not enforce (builder.go build/isDryRun)."""
    enforced = [p for p in policies if p.annotations.get("istio.io/dry-run") not in DRY_RUN_TRUE]
    for policy in enforced:
        action = policy.spec.get("action", "ALLOW")
        if action not in ("ALLOW", "DENY", "AUDIT") or "provider" in policy.spec:
            raise UnsupportedPolicy(f"{policy}: `spec.action` {action} (an external CUSTOM check) is not modelled")
    matches = [(p, _matched(p, a)) for p in enforced if p.spec.get("action", "ALLOW") != "AUDIT"]
    deny = [(p, i) for p, i in matches if p.spec.get("action") == "DENY" and i is not None]
    if deny:
        return Decision(False, 403, f"denied by {deny[0][0]} rules[{deny[0][1]}]")
    allow = [(p, i) for p, i in matches if p.spec.get("action", "ALLOW") == "ALLOW"]
    if not allow:
        return Decision(True, 200, "no ALLOW AuthorizationPolicy applies to the workload")
    hit = next(((p, i) for p, i in allow if i is not None), None)
    if hit is None:
        return Decision(False, 403, f"no rule of {', '.join(str(p) for p, _ in allow)} matches (ALLOW policies apply)")
    return Decision(True, 200, f"allowed by {hit[0]} rules[{hit[1]}]")


def decide(objects: Iterable[Mapping[str, Any]], request: Request, root_namespace: str = "istio-system") -> Decision:
    """What the destination's sidecar does with the request, in the proxy's order: the mTLS handshake, the JWT
    filter, then RBAC (listener_builder.go: authn filters before authz filters)."""
    objects = list(objects)

    def scope(kind: str) -> list[_Policy]:
        return _scope(_policies(objects, kind), request.namespace, request.labels, root_namespace)

    mode, source = _mtls(scope("PeerAuthentication"), request.port, root_namespace)
    if mode == "STRICT" and request.principal is None:
        return Decision(False, 0, f"{source}: STRICT mTLS refuses a plaintext connection on port {request.port}")
    payload, refused = _authenticate(scope("RequestAuthentication"), request.token)
    if refused is not None:
        return refused
    peer = None if mode == "DISABLE" else request.principal  # DISABLE: no mTLS, so authz sees no peer identity
    return _authorize(scope("AuthorizationPolicy"), _Attrs(peer, payload, request))
