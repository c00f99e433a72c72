"""`rollgate check-manifests`: the committed manifests are exactly what the committed inputs render,
and every object validates strictly."""

from __future__ import annotations

import sys
from pathlib import Path

from rollgate.contracts import paths, release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import argocd, hardening, lint, render, schemas, security
from rollgate.manifests.deploy_config import DeployConfig, environments, load_deploy_config
from rollgate.manifests.diff import diff

SCHEMA_CACHE = Path(".schemas")  # `make schemas` converts the CRDs of schemas.lock into this directory


def secured(where: str, cfg: DeployConfig, texts: dict[str, str]) -> list[str]:
    """Every missing or weakened security object of an environment's rendered `texts`, and every request
    the rendered Istio policies answer otherwise than the deploy config says (`security.probes`)."""
    docs = {name: lint.check_text(name, text) for name, text in texts.items()}
    found = [f"{where}: {p}" for p in hardening.problems(cfg, docs)]
    if cfg.security.mesh_identity:
        found += security.judge(where, cfg, list(docs.values()))
    return found


def _validate_all(texts: dict[str, str], schema_dir: Path, k8s_version: str) -> list[str]:
    docs = {name: lint.check_text(name, text) for name, text in texts.items()}
    problems = [p for name, doc in docs.items() for p in schemas.validate(name, doc, schema_dir, k8s_version)]
    for name, doc in docs.items():
        for i, window in enumerate(
            doc.get("spec", {}).get("syncWindows", []) if doc.get("kind") == "AppProject" else []
        ):
            if window.get("manualSync") is not True:
                problems.append(f"{name}: syncWindows[{i}] must allow manual syncs (a rollback is never held)")
    templates = {d["metadata"]["name"]: d for d in docs.values() if d.get("kind") == "AnalysisTemplate"}
    for name, doc in docs.items():
        if doc.get("kind") == "Rollout":
            try:
                lint.check_rollout_args(name, doc, templates)
            except ContractError as exc:
                problems.append(str(exc))
    return problems


def _env(root: Path, env: str, schema_dir: Path) -> list[str]:
    folder = root / paths.release_record(env).parent
    record = release.read(root / paths.release_record(env))
    rendered = sorted(folder.glob("*.yaml"))
    if record is None:
        return [f"{folder.relative_to(root)}: rendered files but no model in release.json"] if rendered else []
    cfg = load_deploy_config(root, env)
    texts = render.render_texts(cfg, record)
    problems = _validate_all(texts, schema_dir, cfg.kubernetes_version)
    problems += secured(str(folder.relative_to(root)), cfg, texts)
    changed = diff(folder, texts, str(folder.relative_to(root)))
    if changed:
        problems.append(
            f"{folder.relative_to(root)} differs from what its inputs render "
            f"(`rollgate render --env {env}`):\n{changed}"
        )
    return problems


def validate_rendered(root: Path, env: str, texts: dict[str, str], schema_dir: Path | None) -> list[str]:
    """Every problem with rendered manifests of `env` (file name -> YAML text), byte equality aside."""
    schema_dir = schema_dir or root / SCHEMA_CACHE
    schemas.require(schema_dir)
    cfg = load_deploy_config(root, env)
    return _validate_all(texts, schema_dir, cfg.kubernetes_version) + secured(f"manifests/{env}", cfg, texts)


def validate_argocd(root: Path, texts: dict[str, str], schema_dir: Path) -> list[str]:
    """Every problem with the rendered Argo CD objects (`argocd.render_texts`), byte equality aside."""
    schemas.require(schema_dir)
    version = load_deploy_config(root, environments(root)[0]).kubernetes_version
    return _validate_all(texts, schema_dir, version)


def check(root: Path, schema_dir: Path) -> list[str]:
    """Every problem with the committed manifests; empty when all is well."""
    schemas.require(schema_dir)
    problems = []
    for env in environments(root):
        try:
            problems += _env(root, env, schema_dir)
        except ContractError as exc:
            problems.append(str(exc))
    texts = argocd.render_texts(root)
    problems += validate_argocd(root, texts, schema_dir)
    changed = diff(root / argocd.ARGOCD_DIR, texts, str(argocd.ARGOCD_DIR))
    if changed:
        problems.append(
            f"{argocd.ARGOCD_DIR} differs from what configs/deploy renders (`rollgate render --argocd`):\n{changed}"
        )
    return problems


def explain(root: Path) -> str:
    """`check-manifests --explain`: per environment, what its committed policies answer to each probe."""
    out = []
    for env in environments(root):
        folder = root / paths.release_record(env).parent
        cfg = load_deploy_config(root, env)
        docs = [lint.check_text(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))]
        objects = [d for d in docs if d.get("kind") != "Kustomization"]
        out.append(security.explain(cfg, objects) if cfg.security.mesh_identity else f"### {env}: no mesh identity\n")
    return "\n".join(out)


def run(root: Path, schema_dir: Path | None) -> int:
    """`rollgate check-manifests`: 0 when the committed manifests are current and valid, else 1."""
    problems = check(root, schema_dir or root / SCHEMA_CACHE)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("manifests: current (re-rendered byte for byte) and valid (strict schemas)")
    return 1 if problems else 0
