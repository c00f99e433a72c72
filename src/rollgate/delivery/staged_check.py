"""The privileged half's checks of a staged render: the release record against the checkout (the model
on disk, the deploy config's image and storage, the verdict, the lineage), the manifests strictly
validated and pinning only that image, and what this rollgate's own templates would render instead."""

from __future__ import annotations

import re
from pathlib import Path

from rollgate.contracts import paths, release
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.release import Release
from rollgate.delivery import promote, record
from rollgate.delivery.plan import DEPLOY, Plan
from rollgate.delivery.preconditions import Ready

IMAGE = re.compile(r"^\s*(?:-\s+)?image:\s*[\"']?([^\"'\s]+)", re.MULTILINE)


def _expected(root: Path, ready: Ready, plan: Plan, rel: Release) -> list[str]:
    """How the staged release record departs from what this checkout says it must be."""
    env, meta = plan.env, ready.candidate.meta
    image, storage = promote.settings(root, env)
    champion = ready.pinned.model.sha256 if ready.pinned else None
    want: dict[str, tuple[object, object]] = {
        "env": (rel.env, env),
        "model.sha256": (rel.model.sha256, meta.sha256),
        "model.dvc_md5": (rel.model.dvc_md5, ready.candidate.dvc_md5),
        "model.uri": (rel.model.uri, record.artifact_uri(storage, ready.candidate.dvc_md5)),
        "image": (rel.image, image),
        "features": (rel.features, meta.features),
    }
    if plan.kind == DEPLOY:
        want["lineage.source_commit"] = (rel.lineage.source_commit, ready.candidate.source_commit)
        want["gate.verdict"] = (rel.gate.verdict, ready.verdict.verdict)
        want["gate.champion_sha256"] = (rel.gate.champion_sha256, champion)
    elif ready.pinned is not None:
        want["lineage"] = (rel.lineage, ready.pinned.lineage)
        want["gate"] = (rel.gate, ready.pinned.gate)
    return [f"{k}: staged {got!r}, expected {exp!r}" for k, (got, exp) in want.items() if got != exp]


def checked_render(root: Path, ready: Ready, plan: Plan, folder: Path, schemas: Path | None) -> Release:
    """The staged record, once it matches this checkout and the staged manifests validate strictly."""
    from rollgate.manifests import check

    rel = release.read(folder / paths.release_record(plan.env).name)
    if rel is None:
        raise RollgateError(f"{folder}: the staged render has no model in its release record")
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    others = sorted(p.name for p in folder.iterdir() if p.suffix != ".yaml" and p.name != "release.json")
    problems = _expected(root, ready, plan, rel) + [f"unexpected file {n}" for n in others]
    problems += check.validate_rendered(root, plan.env, texts, schemas)
    if not any(rel.model.sha256 in t for t in texts.values()):
        problems.append("no manifest names the model's sha256")
    pinned = f"{rel.image.repository}@{rel.image.digest}"
    others = sorted({m.group(1) for t in texts.values() for m in IMAGE.finditer(t)} - {pinned})
    if others:
        problems.append(f"images other than the deploy config's {pinned}: {', '.join(others)}")
    if problems:
        raise RollgateError(f"the staged render of {plan.env} is refused:\n  " + "\n  ".join(problems))
    return rel


def compared(root: Path, rel: Release, folder: Path) -> list[str]:
    """What this rollgate's own templates would render differently (reported; the staged render, validated,
    is what lands: the merged templates are reviewed code)."""
    from rollgate.manifests import deploy_config, render

    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    try:
        mine = render.render_texts(deploy_config.load_deploy_config(root, rel.env), rel)
    except RollgateError as exc:
        return [f"render ({rel.env}): this rollgate cannot render the merged config ({exc}); the staged render lands"]
    changed = sorted(n for n in set(mine) | set(texts) if mine.get(n) != texts.get(n))
    if not changed:
        return [f"render ({rel.env}): the staged manifests are what this rollgate renders"]
    return [f"render ({rel.env}): the merged templates render differently from this rollgate's: {', '.join(changed)}"]
