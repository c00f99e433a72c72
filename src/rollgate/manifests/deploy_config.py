"""`configs/deploy/<env>.yaml`: where and how an environment runs the model, validated once.

Like `params.yaml`: frozen pydantic models, unknown keys rejected, strict types, declared ranges, and
an error that names the file and the dotted key. No secrets live here (tokens stay in Kubernetes
Secrets and the CI's environment).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rollgate.adapters.identity import REPO_PATH, PromotionConfig
from rollgate.contracts import paths, strict_yaml
from rollgate.contracts.errors import ContractError
from rollgate.contracts.release import Image
from rollgate.manifests.security_config import SecurityConfig, quantity

CONFIG_DIR = Path(paths.DEPLOY_CONFIGS)
_DNS = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ImageConfig(_Strict):
    repository: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?[a-z0-9._/-]*$")]
    digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]

    def pinned(self) -> Image:
        """The image as the release record pins it."""
        return Image(self.repository, self.digest)

    def pipeline_repository(self) -> str:
        """The pipeline image's repository: `rollgate-pipeline` beside the server's (one registry namespace)."""
        return f"{self.repository.rsplit('/', 1)[0]}/rollgate-pipeline"


class Quantities(_Strict):
    cpu: Annotated[str, Field(pattern=_QUANTITY)]
    memory: Annotated[str, Field(pattern=_QUANTITY)]


class Resources(_Strict):
    requests: Quantities
    limits: Quantities


class ServerConfig(_Strict):
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    drain_seconds: Annotated[float, Field(ge=0, le=120)] = 5.0
    grace_seconds: Annotated[float, Field(ge=1, le=600)] = 25.0


class HpaConfig(_Strict):
    min_replicas: Annotated[int, Field(ge=1, le=1000)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 10
    target_cpu_utilization: Annotated[int, Field(ge=10, le=100)] = 70

    @model_validator(mode="after")
    def _bounds(self) -> HpaConfig:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be at least min_replicas")
        return self


class RolloutConfig(_Strict):
    shadow_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    canary_weights: Annotated[tuple[int, ...], Field(min_length=1)] = (5, 25, 100)
    pause_minutes: Annotated[int, Field(ge=0, le=1440)] = 10
    progress_deadline_seconds: Annotated[int, Field(ge=60, le=7200)] = 600
    rollback_window_revisions: Annotated[int, Field(ge=1, le=10)] = 3

    @model_validator(mode="after")
    def _weights(self) -> RolloutConfig:
        w = self.canary_weights
        if any(x < 1 or x > 100 for x in w) or any(b <= a for a, b in pairwise(w)):
            raise ValueError(f"canary_weights must increase strictly within 1..100 (got {list(w)})")
        if w[-1] != 100:
            raise ValueError(f"canary_weights must end at 100: the last step is full traffic (got {list(w)})")
        return self


class AnalysisConfig(_Strict):
    prometheus_url: Annotated[str, Field(pattern=r"^https?://")]
    interval_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    samples: Annotated[int, Field(ge=1, le=100)] = 5
    failure_limit: Annotated[int, Field(ge=0, le=10)] = 1
    min_requests: Annotated[int, Field(ge=1, le=10_000_000)] = 200
    max_error_rate_delta: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    error_critical: Annotated[float, Field(gt=0.0, le=10.0)] = 1.95
    max_p99_ratio: Annotated[float, Field(ge=1.0, le=100.0)] = 1.25
    max_rejection_rate_delta: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    min_expected_positives: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    max_positive_rate_ratio: Annotated[float, Field(gt=1.0, le=100.0)] = 2.0
    max_mean_score_ratio: Annotated[float, Field(gt=1.0, le=100.0)] = 2.0
    score_ks_critical: Annotated[float, Field(gt=0.0, le=10.0)] = 1.95
    min_score_distance: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1


class AlertsConfig(_Strict):
    """The environment's PrometheusRule: objectives and floors of the alerts on the server's metrics."""

    max_error_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.01  # of scoring answers that are 5xx
    p99_objective_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 0.1  # the scoring route's latency objective
    max_rejected_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.05  # of rows refused by the input contract
    max_score_distance: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1  # KS distance from the holdout's scores
    psi_warning: Annotated[float, Field(gt=0.0, le=10.0)] = 0.1  # per-feature PSI: moderate drift
    psi_critical: Annotated[float, Field(gt=0.0, le=10.0)] = 0.25  # major drift
    drift_window: Annotated[str, Field(pattern=r"^[0-9]+[mhd]$")] = "1d"  # the rows drift is judged on
    min_drift_rows: Annotated[int, Field(ge=1, le=100_000_000)] = 1_000  # fewer rows in the window: not judged
    runbook_url: Annotated[str, Field(pattern=r"^https://")] | None = None  # default: docs/runbook.md on GitHub

    @model_validator(mode="after")
    def _ordered(self) -> AlertsConfig:
        if self.psi_critical <= self.psi_warning:
            raise ValueError("alerts.psi_critical must be above alerts.psi_warning")
        return self


class SyncWindow(_Strict):
    """A window in which Argo CD holds this environment's automated syncs; manual syncs always run."""

    kind: Literal["allow", "deny"]
    schedule: Annotated[str, Field(pattern=r"^\S+( \S+){4}$")]  # cron, five fields
    duration: Annotated[str, Field(pattern=r"^[0-9]+[smh]$")]
    timezone: Annotated[str, Field(min_length=1)] = "UTC"


class ArgoRoles(_Strict):
    deployers: tuple[Annotated[str, Field(min_length=1)], ...] = ()  # SSO groups that may sync (roll back)
    viewers: tuple[Annotated[str, Field(min_length=1)], ...] = ()


class ArgoCdConfig(_Strict):
    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)")]
    revision: Annotated[str, Field(min_length=1)] = "main"
    project: Annotated[str, Field(pattern=_DNS)] = "rollgate"
    destination_server: Annotated[str, Field(pattern=r"^https://")] = "https://kubernetes.default.svc"
    github_repo: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    # More public keys (files, one key each) Argo CD accepts on main's head commit besides the promotion
    # key: GitHub's web-flow key, which signs squash merges and reverts merged on GitHub. Only with
    # promotion.verify_signatures.
    signature_keys: tuple[Annotated[str, Field(pattern=REPO_PATH)], ...] = ()
    sync_windows: tuple[SyncWindow, ...] = ()
    roles: ArgoRoles = ArgoRoles()  # the AppProject's; the same in every environment


class DeployConfig(_Strict):
    """Everything the manifests of one environment need besides the release record."""

    env: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    app: Annotated[str, Field(pattern=_DNS)]
    namespace: Annotated[str, Field(pattern=_DNS)]
    host: Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")]
    gateway: Annotated[str, Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")]
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]+\.[0-9]+$")] = "1.33.0"
    image: ImageConfig
    model_storage_base: Annotated[str, Field(pattern=r"^(https?|file)://")]
    server: ServerConfig = ServerConfig()
    resources: Resources
    hpa: HpaConfig = HpaConfig()
    rollout: RolloutConfig = RolloutConfig()
    analysis: AnalysisConfig
    alerts: AlertsConfig = AlertsConfig()
    argocd: ArgoCdConfig
    promotion: PromotionConfig  # who makes promotion commits (`rollgate.adapters.trust` checks it)
    security: SecurityConfig

    @model_validator(mode="after")
    def _fits(self) -> DeployConfig:
        quota, limits = self.security.quota, self.resources.limits
        # A full-weight canary runs beside stable: up to twice the HPA's maximum at once.
        if quota.pods < 2 * self.hpa.max_replicas:
            raise ValueError(
                f"security.quota.pods {quota.pods} is under 2 x hpa.max_replicas ({2 * self.hpa.max_replicas}): "
                "a full-weight canary beside stable would not fit"
            )
        for name in ("cpu", "memory"):
            ceiling = getattr(self.security.container_max, name)
            if quantity(getattr(limits, name)) > quantity(ceiling):
                raise ValueError(f"resources.limits.{name} exceeds security.container_max.{name} ({ceiling})")
            # The quota counts every container's limits: the server's and the injected proxy's.
            per_pod = quantity(getattr(limits, name)) + quantity(getattr(self.security.sidecar_limits, name))
            total = getattr(quota, name)
            if per_pod * quota.pods > quantity(total):
                raise ValueError(
                    f"security.quota.{name} {total} is under quota.pods x (resources.limits.{name} + "
                    f"security.sidecar_limits.{name}): pods the quota admits could not all start"
                )
        return self


def path_of(env: str) -> Path:
    return CONFIG_DIR / f"{env}.yaml"


def parse(raw: Any, source: str) -> DeployConfig:
    return strict_yaml.validate(DeployConfig.model_validate, raw, source, "deploy config", ContractError)


def load_deploy_config(root: Path, env: str) -> DeployConfig:
    """`configs/deploy/<env>.yaml`, validated; its `env` must be the file's name."""
    path = root / path_of(env)
    if not path.is_file():
        known = ", ".join(environments(root)) or "none"
        raise ContractError(f"{path_of(env)}: no such environment (configured: {known})")
    config = parse(strict_yaml.load(path, ContractError, str(path_of(env))), str(path_of(env)))
    if config.env != env:
        raise ContractError(f"{path_of(env)}: env: {config.env!r} does not match the file name {env!r}")
    return config


def environments(root: Path) -> list[str]:
    """Every configured environment, sorted."""
    return paths.environments(root)
