"""The `render` and `check-manifests` commands: read the inputs, call the renderer, write, report."""

from __future__ import annotations

import sys
from pathlib import Path

from rollgate.contracts import paths, release
from rollgate.contracts.errors import ContractError
from rollgate.delivery import argocd, check, render
from rollgate.delivery.config import load_deploy_config

SCHEMA_CACHE = Path(".schemas")  # `make schemas` converts the CRDs of schemas.lock into this directory


def render_command(root: Path, env: str | None, release_file: Path | None, out: Path | None, argo: bool) -> list[Path]:
    """`rollgate render`: one environment (from its committed or a given release record) or manifests/argocd/."""
    if argo:
        return render.write(argocd.render_texts(root), root / (out or argocd.ARGOCD_DIR))
    assert env is not None
    source = release_file or root / paths.release_record(env)
    record = release.read(source)
    if record is None:
        raise ContractError(f"{source}: {env} has no model yet (release record pins none): nothing to render")
    texts = render.render_texts(load_deploy_config(root, env), record)
    return render.write(texts, out if out is not None else root / paths.release_record(env).parent)


def check_command(root: Path, schemas: Path | None) -> int:
    """`rollgate check-manifests`: 0 when the committed manifests are current and valid, else 1."""
    problems = check.check(root, schemas or root / SCHEMA_CACHE)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("manifests: current (re-rendered byte for byte) and valid (strict schemas)")
    return 1 if problems else 0
