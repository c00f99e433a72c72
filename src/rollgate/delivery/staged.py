"""A promotion in two halves, for the promotion workflow's two jobs (`rollgate promotion stage|land`).

`stage` runs unprivileged, with the merged code: every check `rollgate promote` makes, the release
record and the render, written with the pipeline's outputs into a folder the job uploads. Nothing is
pushed, registered or committed.

`land` runs privileged, with rollgate from the base commit, over a checkout of the merged commit (read
as data: its Makefile and dvc.yaml are never run): it places the outputs (each checked against the
merged `dvc.lock`), re-judges each verdict with the base's gate policy and code (`rejudge`), repeats
every check of `rollgate promote`, validates the staged render strictly (schemas, the manifest lint, the
release record against the model on disk), then pushes the model to the store, commits and pushes the
promotion, and points the registry's alias. Any refusal leaves the repository as it was.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rollgate.adapters import dvc_cache, git, trust
from rollgate.contracts import paths, release
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.release import Release
from rollgate.delivery import landing, message, outputs, preconditions, promote, record, rejudge
from rollgate.delivery.preconditions import Ready

OUTPUTS = "outputs"
DEPLOY, RERENDER, NOTHING = "deploy", "rerender", "nothing"


@dataclass(frozen=True)
class Plan:
    """What `stage` decided for one environment (`<env>.json` beside the render)."""

    env: str
    kind: str  # DEPLOY, RERENDER or NOTHING
    sha256: str  # the model on disk
    source_commit: str  # the commit it was staged from
    changed: tuple[str, ...] = ()  # a re-render's changed files
    render: str = ""  # a re-render's tree id

    def write(self, folder: Path) -> None:
        (folder / f"{self.env}.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, folder: Path, env: str) -> Plan:
        path = folder / f"{env}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = cls(**{**raw, "changed": tuple(raw.get("changed", ()))})
        except (OSError, ValueError, TypeError) as exc:
            raise ContractError(
                f"{path}: no staged promotion for {env} ({exc}): run `rollgate promotion stage`"
            ) from exc
        if found.env != env or found.kind not in (DEPLOY, RERENDER, NOTHING):
            raise ContractError(f"{path}: a staged promotion of {found.env!r} ({found.kind!r}), not of {env!r}")
        return found


def _follows(root: Path, env: str, after: str, sha256: str) -> None:
    """Refuse unless `after` (the environment before `env`) pins the model on disk."""
    pinned = release.read_env(root, after)
    if pinned is None or pinned.model.sha256 != sha256:
        have = pinned.model.sha256[:12] if pinned else "no model"
        raise RollgateError(f"{env} promotes what {after} pins, which is {have}; the model on disk is {sha256[:12]}")


def stage(root: Path, env: str, out: Path, after: str | None = None, expect: str | None = None) -> Plan:
    """Check, build the release record and render `env`'s promotion into `out/<env>/`, with the outputs in
    `out/outputs/` (once for every environment) and the plan in `out/<env>.json`; changes nothing else.

    Raises:
        RollgateError: any refusal `rollgate promote` would make.
    """
    ready = preconditions.inspect(root, env)
    sha, source, pinned = ready.candidate.meta.sha256, ready.candidate.source_commit, ready.pinned
    if expect and sha != expect:
        raise RollgateError(f"the model on disk is {sha[:12]}, not {expect[:12]}, the one to promote to {env}")
    if after:
        _follows(root, env, after, sha)
    image, storage = promote.settings(root, env)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / OUTPUTS).exists():
        outputs.collect(root, out / OUTPUTS)
    if pinned is not None and pinned.model.sha256 == sha:
        rel = record.refresh(pinned, storage_base=storage, image=image)
        folder = promote.write_render(root, rel, out / env)
        changed = landing.differences(folder, root / paths.release_record(env).parent)
        if not changed:
            plan = Plan(env, NOTHING, sha, source)
        else:
            preconditions.stale(root, pinned, source)
            plan = Plan(env, RERENDER, sha, source, tuple(changed), promote.allowed_render(root, env, folder))
    else:
        champion = pinned.model.sha256 if pinned else None
        rel = record.build(
            ready.candidate, env=env, verdict=ready.verdict.verdict, champion_sha256=champion, storage_base=storage,
            image=image,
        )  # fmt: skip
        promote.write_render(root, rel, out / env)
        plan = Plan(env, DEPLOY, sha, source)
    plan.write(out)
    return plan


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


def _checked_render(root: Path, ready: Ready, plan: Plan, folder: Path, schemas: Path | None) -> Release:
    """The staged record, once it matches this checkout and the staged manifests validate strictly."""
    from rollgate.manifests import check

    rel = release.read(folder / paths.release_record(plan.env).name)
    if rel is None:
        raise RollgateError(f"{folder}: the staged render has no model in its release record")
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    others = sorted(p.name for p in folder.iterdir() if p.suffix != ".yaml" and p.name != "release.json")
    problems = _expected(root, ready, plan, rel) + [f"unexpected file {n}" for n in others]
    problems += check.validate_rendered(root, plan.env, texts, schemas)
    if not any(f"sha256:{rel.model.sha256}" in t or rel.model.sha256 in t for t in texts.values()):
        problems.append("no manifest names the model's sha256")
    if problems:
        raise RollgateError(f"the staged render of {plan.env} is refused:\n  " + "\n  ".join(problems))
    return rel


def land(root: Path, env: str, staged: Path, *, base: str | None, approved: bool, schemas: Path | None) -> str:
    """Land the promotion `stage` wrote under `staged` for `env`; what happened, in words.

    Raises:
        RollgateError: any refusal; the repository is then as it was.
    """
    plan = Plan.read(staged, env)
    head = git.head(root)
    if plan.source_commit != head:
        raise RollgateError(
            f"{staged}: staged from {plan.source_commit[:12]}, but the checkout is at {head[:12]}: main moved on, "
            "so this run is stale (the run of the newer commit promotes)"
        )
    outputs.place(root, staged / OUTPUTS)
    said = rejudge.confirm(root, env, base, approved) if base else []
    ready = preconditions.inspect(root, env)
    if ready.candidate.meta.sha256 != plan.sha256:
        have = ready.candidate.meta.sha256[:12]
        raise RollgateError(f"staged for model {plan.sha256[:12]}, but the checkout holds {have}")
    if plan.kind == NOTHING:
        return "\n".join([*said, f"nothing to deploy: {env} already runs {plan.sha256[:12]}"])
    folder = staged / env
    rel = _checked_render(root, ready, plan, folder, schemas)
    dvc_cache.add_file(root, str(paths.MODEL_ARTIFACT), ready.candidate.dvc_md5)
    if plan.kind == RERENDER:
        if trust.render_id(root, folder) != plan.render:
            raise RollgateError(f"{folder}: the render is not the one staged ({plan.render[:12]})")
        promote.allowed_render(root, env, folder)
        text = message.rerender(rel, list(plan.changed), plan.render)
    else:
        text = message.deploy(rel, ready.verdict)
    with landing.stored(root, ready) as pushed:
        done = landing.deliver(root, pushed, folder, text)
    if done is None:
        return "\n".join([*said, f"nothing to deploy: a concurrent promotion already pinned this in {env}"])
    what = "re-rendered" if plan.kind == RERENDER else f"deployed {rel.model.name} {rel.model.sha256[:12]} to"
    return "\n".join(
        [*said, f"{what} {env} (verdict {rel.gate.verdict}): commit {done[:12]}", promote.alias(root, rel, False)]
    )
