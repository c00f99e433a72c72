"""`manifests/argocd/`: the AppProject, the ApplicationSet (one Application per environment) and the
notification settings, rendered from every `configs/deploy/<env>.yaml`; with signed promotion commits,
the AppProject's `signatureKeys` and Argo CD's keyring (`argocd-gpg-keys-cm`) too."""

from __future__ import annotations

from pathlib import Path

from rollgate.adapters import identity, signing
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.trailers import SigningKey
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
GPG_KEYS = {"rollgate-gpg-keys-configmap.yaml": "argocd-gpg-keys.yaml.j2"}  # only when signatures are verified
# What the environments' manifests contain: the AppProject allows these kinds and nothing else.
KINDS = (
    ("", "ConfigMap"), ("", "LimitRange"), ("", "ResourceQuota"), ("", "Service"), ("", "ServiceAccount"),
    ("argoproj.io", "AnalysisTemplate"), ("argoproj.io", "Rollout"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("monitoring.coreos.com", "PodMonitor"), ("networking.istio.io", "DestinationRule"),
    ("networking.istio.io", "ServiceEntry"), ("networking.istio.io", "VirtualService"),
    ("networking.k8s.io", "NetworkPolicy"), ("policy", "PodDisruptionBudget"),
    ("security.istio.io", "AuthorizationPolicy"), ("security.istio.io", "PeerAuthentication"),
    ("security.istio.io", "RequestAuthentication"),
)  # fmt: skip


def _shared(configs: list[DeployConfig]) -> DeployConfig:
    """The environments share one repository, project, app and GitHub repo: the first says which."""
    first = configs[0]
    for c in configs[1:]:
        for field in ("repo_url", "project", "github_repo", "roles"):
            if getattr(c.argocd, field) != getattr(first.argocd, field):
                raise ContractError(
                    f"configs/deploy/{c.env}.yaml: argocd.{field} differs from configs/deploy/{first.env}.yaml's: "
                    "one ApplicationSet serves every environment"
                )
        if c.app != first.app:
            raise ContractError(f"configs/deploy/{c.env}.yaml: app {c.app!r} differs from {first.app!r}")
    return first


def signature_keys(root: Path, configs: list[DeployConfig]) -> list[SigningKey]:
    """Every key Argo CD accepts on main's head commit: each environment's promotion key, then
    `argocd.signature_keys`; none when no environment verifies signatures.

    One AppProject serves every environment and Argo CD checks the head commit of main, which may be
    any environment's promotion: so signatures are verified in every environment or in none.
    """
    keys = {c.env: identity.load(root, c.env).signing_key for c in configs}
    extra = [(c.env, path) for c in configs for path in c.argocd.signature_keys]
    if not any(keys.values()):
        if extra:
            raise ContractError(
                f"configs/deploy/{extra[0][0]}.yaml: argocd.signature_keys is set but no environment verifies "
                "signatures (promotion.verify_signatures): Argo CD would refuse every unsigned promotion commit"
            )
        return []
    if unsigned := [env for env, key in keys.items() if key is None]:
        signed = next(env for env, key in keys.items() if key)
        raise ContractError(
            f"configs/deploy/{unsigned[0]}.yaml: promotion.verify_signatures is false while {signed}'s is true: "
            "Argo CD checks one AppProject's keys on main's head commit, which any environment's promotion may "
            "be; verify signatures in every environment or in none"
        )
    found = [key for key in keys.values() if key] + [_key_file(root, env, path) for env, path in extra]
    return list({key.key_id: key for key in found}.values())  # each once, first seen first


def _key_file(root: Path, env: str, path: str) -> SigningKey:
    where = f"configs/deploy/{env}.yaml: argocd.signature_keys: {path}"
    if not (root / path).is_file():
        raise ContractError(f"{where}: no such file")
    try:
        return signing.public_key((root / path).read_text(encoding="utf-8"), where)
    except RollgateError as exc:
        raise ContractError(str(exc)) from None


def render_texts(root: Path) -> dict[str, str]:
    """File name -> text for manifests/argocd/ (pure apart from reading the deploy configs)."""
    configs = [load_deploy_config(root, env) for env in environments(root)]
    if not configs:
        raise ContractError("configs/deploy/: no environment configured")
    first = _shared(configs)
    jinja = environment()
    keys = signature_keys(root, configs)
    windows = [(c, w) for c in configs for w in c.argocd.sync_windows]
    context = {
        "argocd": first.argocd, "app": first.app, "envs": configs, "kinds": KINDS, "signature_keys": keys,
        "roles": first.argocd.roles, "windows": windows,
    }  # fmt: skip
    files = {**FILES, **(GPG_KEYS if keys else {})}
    out = {name: jinja.get_template(t).render({**context, "file": name}) for name, t in files.items()}
    kustomization = {"file": "kustomization.yaml", "resources": list(out)}
    out["kustomization.yaml"] = jinja.get_template("argocd-kustomization.yaml.j2").render(kustomization)
    for name, text in out.items():
        lint.check_text(name, text)
    return out


def render(root: Path, out: Path | None = None) -> list[Path]:
    """`rollgate render --argocd`: write manifests/argocd/ (or `out`)."""
    return write(render_texts(root), root / (out or ARGOCD_DIR))
