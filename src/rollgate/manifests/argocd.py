"""`manifests/argocd/`: the AppProject, the ApplicationSet (one Application per environment) and the
notification settings, rendered from every `configs/deploy/<env>.yaml`."""

from __future__ import annotations

from pathlib import Path

from rollgate.contracts.errors import ContractError
from rollgate.manifests import lint
from rollgate.manifests.deploy_config import DeployConfig, environments, load_deploy_config
from rollgate.manifests.render import environment, write

ARGOCD_DIR = Path("manifests/argocd")
FILES = {
    "rollgate-appproject.yaml": "appproject.yaml.j2",
    "rollgate-applicationset.yaml": "applicationset.yaml.j2",
    "rollgate-rollouts-notifications-configmap.yaml": "rollouts-notifications.yaml.j2",
    "rollgate-argocd-notifications-configmap.yaml": "argocd-notifications.yaml.j2",
}
# What the environments' manifests contain: the AppProject allows these kinds and nothing else.
KINDS = (
    ("", "ConfigMap"), ("", "Service"), ("", "ServiceAccount"), ("argoproj.io", "AnalysisTemplate"),
    ("argoproj.io", "Rollout"), ("autoscaling", "HorizontalPodAutoscaler"), ("monitoring.coreos.com", "PodMonitor"),
    ("networking.istio.io", "DestinationRule"), ("networking.istio.io", "VirtualService"),
    ("networking.k8s.io", "NetworkPolicy"), ("policy", "PodDisruptionBudget"),
)  # fmt: skip


def _shared(configs: list[DeployConfig]) -> DeployConfig:
    """The environments share one repository, project, app and GitHub repo: the first says which."""
    first = configs[0]
    for c in configs[1:]:
        for field in ("repo_url", "project", "github_repo"):
            if getattr(c.argocd, field) != getattr(first.argocd, field):
                raise ContractError(
                    f"configs/deploy/{c.env}.yaml: argocd.{field} differs from configs/deploy/{first.env}.yaml's: "
                    "one ApplicationSet serves every environment"
                )
        if c.app != first.app:
            raise ContractError(f"configs/deploy/{c.env}.yaml: app {c.app!r} differs from {first.app!r}")
    return first


def render_texts(root: Path) -> dict[str, str]:
    """File name -> text for manifests/argocd/ (pure apart from reading the deploy configs)."""
    configs = [load_deploy_config(root, env) for env in environments(root)]
    if not configs:
        raise ContractError("configs/deploy/: no environment configured")
    first = _shared(configs)
    jinja = environment()
    context = {"argocd": first.argocd, "app": first.app, "envs": configs, "kinds": KINDS}
    out = {name: jinja.get_template(t).render({**context, "file": name}) for name, t in FILES.items()}
    kustomization = {"file": "kustomization.yaml", "resources": list(out)}
    out["kustomization.yaml"] = jinja.get_template("argocd-kustomization.yaml.j2").render(kustomization)
    for name, text in out.items():
        lint.check_text(name, text)
    return out


def render(root: Path, out: Path | None = None) -> list[Path]:
    """`rollgate render --argocd`: write manifests/argocd/ (or `out`)."""
    return write(render_texts(root), root / (out or ARGOCD_DIR))
