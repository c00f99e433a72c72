"""`rollgate check-manifests --preview`: a pull request's render check. What merging would leave in each
`manifests/<env>/` (`preview.merged_texts`) is rendered into a temporary directory and validated
strictly; `manifests/argocd/` must be exactly what the configs render. Apart from `preview`, which the
PR report imports without the validation stack."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.delivery.preview import merged_texts
from rollgate.manifests import argocd
from rollgate.manifests import check as check_manifests
from rollgate.manifests.check import SCHEMA_CACHE as SCHEMAS
from rollgate.manifests.diff import diff


def check(root: Path, schema_dir: Path | None) -> int:
    """`rollgate check-manifests --preview`: what merging would render for each environment, written to a
    temporary directory (never to manifests/) and validated strictly; 0 when every one is valid, else 1.

    Byte equality with the committed folders is main's check (`rollgate check-manifests`); a pull request
    changes what renders, and its report shows the diff.
    """
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rollgate-preview-") as tmp:
        for env in paths.environments(root):
            try:
                problems += _check_env(root, env, Path(tmp) / env, schema_dir)
            except RollgateError as exc:
                problems.append(f"{env}: {exc}")
        try:
            problems += _check_argocd(root, schema_dir or root / SCHEMAS)
        except RollgateError as exc:
            problems.append(f"{argocd.ARGOCD_DIR}: {exc}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _check_env(root: Path, env: str, out: Path, schema_dir: Path | None) -> list[str]:
    texts = merged_texts(root, env)
    if texts is None:
        print(f"{env}: merging deploys nothing here (nothing to render)")
        return []
    out.mkdir()
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    written = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.yaml"))}
    found = [f"{env}: {problem}" for problem in check_manifests.validate_rendered(root, env, written, schema_dir)]
    if not found:
        print(f"{env}: what merging would render is valid ({len(written)} manifests, strict schemas)")
    return found


def _check_argocd(root: Path, schema_dir: Path) -> list[str]:
    """manifests/argocd/ is rendered from configs/deploy by whoever changes them (`rollgate render --argocd`):
    in a pull request too it must be exactly that render, and valid."""
    texts = argocd.render_texts(root)
    found = [f"{argocd.ARGOCD_DIR}: {p}" for p in check_manifests.validate_argocd(root, texts, schema_dir)]
    # A repository without the folder (Argo CD set up another way) has nothing to compare.
    committed = (root / argocd.ARGOCD_DIR).is_dir()
    changed = diff(root / argocd.ARGOCD_DIR, texts, str(argocd.ARGOCD_DIR)) if committed else ""
    if changed:
        found.append(
            f"{argocd.ARGOCD_DIR} differs from what configs/deploy renders (`rollgate render --argocd`):\n{changed}"
        )
    elif not found:
        print(f"{argocd.ARGOCD_DIR}: what configs/deploy renders, and valid ({len(texts)} manifests)")
    return found
