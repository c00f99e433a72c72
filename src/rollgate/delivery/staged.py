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

from pathlib import Path

from rollgate.adapters import dvc_cache, git, trust
from rollgate.contracts import paths, release
from rollgate.contracts.errors import RollgateError
from rollgate.delivery import landing, message, outputs, preconditions, promote, record, rejudge, staged_check
from rollgate.delivery.plan import DEPLOY, NOTHING, RERENDER, Plan

OUTPUTS = "outputs"


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
        rel = record.refresh(pinned, storage_base=storage, image=image, baseline=ready.candidate.baseline)
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
    verdict = root / paths.gate_verdict(env)
    kept = verdict.read_bytes() if verdict.is_file() else None
    try:
        return _land(root, plan, staged, base=base, approved=approved, schemas=schemas)
    except BaseException:
        if kept is not None:  # a re-judgement may have written the base's verdict
            verdict.write_bytes(kept)
        raise


def _land(root: Path, plan: Plan, staged: Path, *, base: str | None, approved: bool, schemas: Path | None) -> str:
    env = plan.env
    said = rejudge.confirm(root, env, base, approved) if base else []
    ready = preconditions.inspect(root, env)
    if ready.candidate.meta.sha256 != plan.sha256:
        have = ready.candidate.meta.sha256[:12]
        raise RollgateError(f"staged for model {plan.sha256[:12]}, but the checkout holds {have}")
    if plan.kind == NOTHING:
        return "\n".join([*said, f"nothing to deploy: {env} already runs {plan.sha256[:12]}"])
    folder = staged / env
    rel = staged_check.checked_render(root, ready, plan, folder, schemas)
    said += staged_check.compared(root, rel, folder)
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
