"""`rollgate check-manifests`: the committed manifests are exactly what the committed inputs render,
and every object validates strictly. Also the diff that `make demo` and the PR report show."""

from __future__ import annotations

import difflib
from pathlib import Path

from rollgate.contracts import paths, release
from rollgate.contracts.errors import ContractError
from rollgate.delivery import argocd, lint, render, validate
from rollgate.delivery.config import environments, load_deploy_config


def diff(committed: Path, texts: dict[str, str], label: str, pattern: str = "*.yaml") -> str:
    """Unified diff from the files matching `pattern` in `committed` to `texts` (empty when identical)."""
    found = sorted(committed.glob(pattern)) if committed.is_dir() else []
    old = {p.name: p.read_text(encoding="utf-8") for p in found}
    chunks: list[str] = []
    for name in sorted(set(old) | set(texts)):
        a, b = old.get(name, ""), texts.get(name, "")
        if a != b:
            chunks += difflib.unified_diff(
                a.splitlines(keepends=True), b.splitlines(keepends=True), f"a/{label}/{name}", f"b/{label}/{name}"
            )
    return "".join(chunks)


def _validate_all(texts: dict[str, str], schemas: Path, k8s_version: str) -> list[str]:
    docs = {name: lint.check_text(name, text) for name, text in texts.items()}
    problems = [p for name, doc in docs.items() for p in validate.validate(name, doc, schemas, k8s_version)]
    templates = {d["metadata"]["name"]: d for d in docs.values() if d.get("kind") == "AnalysisTemplate"}
    for name, doc in docs.items():
        if doc.get("kind") == "Rollout":
            try:
                lint.check_rollout_args(name, doc, templates)
            except ContractError as exc:
                problems.append(str(exc))
    return problems


def _env(root: Path, env: str, schemas: Path) -> list[str]:
    folder = root / paths.release_record(env).parent
    record = release.read(root / paths.release_record(env))
    rendered = sorted(folder.glob("*.yaml"))
    if record is None:
        return [f"{folder.relative_to(root)}: rendered files but no model in release.json"] if rendered else []
    cfg = load_deploy_config(root, env)
    texts = render.render_texts(cfg, record)
    problems = _validate_all(texts, schemas, cfg.kubernetes_version)
    changed = diff(folder, texts, str(folder.relative_to(root)))
    if changed:
        problems.append(
            f"{folder.relative_to(root)} differs from what its inputs render "
            f"(`rollgate render --env {env}`):\n{changed}"
        )
    return problems


def check(root: Path, schemas: Path) -> list[str]:
    """Every problem with the committed manifests; empty when all is well."""
    validate.require_schemas(schemas)
    problems = []
    for env in environments(root):
        try:
            problems += _env(root, env, schemas)
        except ContractError as exc:
            problems.append(str(exc))
    texts = argocd.render_texts(root)
    version = load_deploy_config(root, environments(root)[0]).kubernetes_version
    problems += _validate_all(texts, schemas, version)
    changed = diff(root / argocd.ARGOCD_DIR, texts, str(argocd.ARGOCD_DIR))
    if changed:
        problems.append(
            f"{argocd.ARGOCD_DIR} differs from what configs/deploy renders (`rollgate render --argocd`):\n{changed}"
        )
    return problems
