"""The `security:` section of `configs/deploy/<env>.yaml`: who may call what, validated once.

Every choice that opens something is explicit here and every default is the closed one. A value the
renderer cannot turn into a narrow rule (a wildcard principal, an empty JWKS URI, operators missing
while model information is served) is refused at load, naming the key, before anything is rendered.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A mesh identity as Istio's AuthorizationPolicy names it: <trust domain>/ns/<namespace>/sa/<account>.
PRINCIPAL = re.compile(
    r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?/ns/[a-z0-9]([-a-z0-9]*[a-z0-9])?/sa/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"
)
_LABEL_KEY = r"^([a-z0-9]([-.a-z0-9]*[a-z0-9])?/)?[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$"
_LABEL_VALUE = r"^([A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?)?$"
_HTTPS = r"^https://[^\s/]+(/\S*)?$"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def principal(value: str) -> str:
    """`value` if it names exactly one workload identity, else a ValueError saying the accepted format."""
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are refused: name each caller's service account")
    if not PRINCIPAL.match(value):
        raise ValueError(
            f"{value!r}: unknown caller format: expected <trust-domain>/ns/<namespace>/sa/<service-account>, "
            "e.g. cluster.local/ns/payments/sa/checkout"
        )
    return value


_UNITS = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: str) -> float:
    """A Kubernetes quantity (`500m`, `2`, `1Gi`) as a number, to compare limits with ceilings."""
    found = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", value)
    if not found:
        raise ValueError(f"{value!r}: not a quantity")
    return float(found[1]) * _UNITS.get(found[2] or "", 1.0)


def namespace_of(identity: str) -> str:
    """The namespace part of a principal (`cluster.local/ns/<ns>/sa/x` -> `<ns>`)."""
    return identity.split("/")[2]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Labels = dict[Annotated[str, Field(pattern=_LABEL_KEY)], Annotated[str, Field(pattern=_LABEL_VALUE)]]


class Peers(_Strict):
    """Pods a NetworkPolicy admits or reaches: both labels sets, never a whole namespace."""

    namespace: Annotated[Labels, Field(min_length=1)]
    pods: Annotated[Labels, Field(min_length=1)]


class ClaimConfig(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$")]
    values: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]


class JwtConfig(_Strict):
    """External callers' tokens: validated by the workload's proxy, and required (not merely checked)."""

    issuer: Annotated[str, Field(min_length=1)]
    jwks_uri: Annotated[str, Field(pattern=_HTTPS)]
    audiences: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    required_claim: ClaimConfig | None = None  # e.g. scope contains fraud:score

    @field_validator("issuer")
    @classmethod
    def _no_wildcard(cls, value: str) -> str:
        if "*" in value:
            raise ValueError("a wildcard issuer would accept anyone's tokens")
        return value


class ScrapeConfig(_Strict):
    """How Prometheus reaches /metrics under STRICT mTLS.

    `permissive` (the default): plain text to the admin port, left PERMISSIVE, which only Prometheus's
    pods may reach (NetworkPolicy) and where only plain-text clients may read /metrics (no mesh workload).
    `mesh`: Prometheus scrapes over mTLS with Istio certificates of its own identity (`principal`); a
    PodMonitor reads client certificates only from a Secret (`tls_secret`, keys `root-cert.pem`,
    `cert-chain.pem`, `key.pem`, kept current by whatever issues them), so that is a deliberate setup.
    """

    mode: Literal["mesh", "permissive"] = "permissive"
    principal: str | None = None
    tls_secret: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] | None = None

    @model_validator(mode="after")
    def _principal(self) -> ScrapeConfig:
        if self.mode == "mesh":
            if self.principal is None or self.tls_secret is None:
                raise ValueError("principal and tls_secret: required with mode mesh (Prometheus's identity and certs)")
            principal(self.principal)
        elif self.principal is not None or self.tls_secret is not None:
            raise ValueError("principal, tls_secret: only with mode mesh (a permissive port sees no identity)")
        return self


class ModelStoreEgress(_Strict):
    """How pods reach the model store: a NetworkPolicy cannot name a host, so either its addresses, or an
    egress gateway (the mesh routes the store's ServiceEntry through it)."""

    mode: Literal["addresses", "egress_gateway"] = "addresses"
    addresses: tuple[str, ...] = ()
    egress_gateway: Peers | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 443

    @field_validator("addresses")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            network = ipaddress.ip_network(cidr, strict=True)  # ValueError names the bad one
            if network.prefixlen == 0:
                raise ValueError(f"{cidr}: the whole address space is not a model store")
        return value

    @model_validator(mode="after")
    def _mode(self) -> ModelStoreEgress:
        if self.mode == "addresses" and (not self.addresses or self.egress_gateway is not None):
            raise ValueError("mode addresses: list the store's addresses (CIDRs), and no egress_gateway")
        if self.mode == "egress_gateway" and (self.egress_gateway is None or self.addresses):
            raise ValueError("mode egress_gateway: name the egress gateway's pods, and no addresses")
        return self


class NetworkConfig(_Strict):
    gateway: Peers  # the ingress gateway's pods: the public route's only way in
    prometheus: Peers
    control_plane: Peers  # istiod: the sidecar's configuration and certificates
    dns: Peers
    model_store: ModelStoreEgress


class Quota(_Strict):
    pods: Annotated[int, Field(ge=1, le=10_000)]
    cpu: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?m?$")]  # requests and limits alike
    memory: Annotated[str, Field(pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")]


class ContainerMax(_Strict):
    """The LimitRange's ceiling for one container (the server's own limits must fit under it)."""

    cpu: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?m?$")]
    memory: Annotated[str, Field(pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")]


class ImagePolicyConfig(_Strict):
    """sigstore policy-controller's ClusterImagePolicy: keyless signatures of the image workflow."""

    issuer: Annotated[str, Field(pattern=_HTTPS)] = GITHUB_ISSUER
    workflow: Annotated[str, Field(pattern=r"^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$")] = (
        ".github/workflows/image.yml"
    )
    ref: Annotated[str, Field(pattern=r"^refs/(heads|tags)/[A-Za-z0-9_./-]+$")] = "refs/heads/main"
    fulcio_url: Annotated[str, Field(pattern=_HTTPS)] = "https://fulcio.sigstore.dev"
    rekor_url: Annotated[str, Field(pattern=_HTTPS)] = "https://rekor.sigstore.dev"
    # Images the mesh injects (the sidecar): admitted by their own policy, digest-pinned globs only.
    mesh_images: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")], ...] = ()


class SecurityConfig(_Strict):
    """Who may reach which path of the server, and what the cluster checks before it runs."""

    mesh_identity: bool = True  # Istio authenticates (STRICT mTLS) and authorises every caller
    api_keys: bool = False  # the server checks API keys too (Secret <app>-api-keys)
    istio_cni: bool = True
    pod_security: Literal["restricted", "privileged"] = "restricted"
    gateway_principal: str
    callers: tuple[str, ...] = ()  # mesh workloads that may score (scoring port, full answers)
    operators: tuple[str, ...] = ()  # may read /v1/model and /openapi.json on the admin port
    model_info: bool = True  # serve /v1/model and /openapi.json to the operators
    scrape: ScrapeConfig
    jwt: JwtConfig
    public_answer: Literal["label", "score"] = "label"
    network: NetworkConfig
    quota: Quota
    container_max: ContainerMax
    sidecar_limits: ContainerMax  # the injected proxy's limits (the quota counts them too)
    image_policy: ImagePolicyConfig = ImagePolicyConfig()

    @field_validator("gateway_principal")
    @classmethod
    def _gateway(cls, value: str) -> str:
        return principal(value)

    @field_validator("callers", "operators")
    @classmethod
    def _identities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            principal(item)
        if len(set(value)) != len(value):
            raise ValueError("each principal once")
        return value

    @model_validator(mode="after")
    def _choices(self) -> SecurityConfig:
        if self.model_info and not self.operators:
            raise ValueError("operators: empty while model_info is true: name who may read /v1/model, or set false")
        if not self.mesh_identity and not self.api_keys:
            raise ValueError("mesh_identity is false: api_keys must be true (else nothing authenticates callers)")
        if self.pod_security == "restricted" and not self.istio_cni:
            raise ValueError(
                "pod_security restricted needs istio_cni: true (the istio-init container needs NET_ADMIN and runs "
                "as root); install Istio CNI, or choose pod_security: privileged knowingly"
            )
        if self.pod_security == "privileged" and self.istio_cni:
            raise ValueError("pod_security privileged with istio_cni: true: nothing needs it; keep restricted")
        return self

    def scoring_namespaces(self) -> list[str]:
        """Namespaces of the mesh callers (the NetworkPolicy admits their pods to the scoring port)."""
        return sorted({namespace_of(c) for c in self.callers})

    def operator_namespaces(self) -> list[str]:
        return sorted({namespace_of(o) for o in self.operators}) if self.model_info else []
