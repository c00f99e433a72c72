"""`rollgate promote --env ENV`: pin the gated model in `manifests/<env>/` with one commit, pushed.

Order, chosen so that every failure leaves a consistent state:
1. check (read-only): verdict, digests, withdrawal, source commit, work tree (`preconditions.inspect`);
2. make sure the DVC default remote holds the model (`landing.stored`: `dvc push models/model.skops`,
   a no-op when it is there), since the record pins a URI under that remote's layout; a failed push
   refuses with the command to run. When the remote is a folder inside the work tree (the embedded
   `dvc-remote/`, committed to git), the object the push adds is part of the promotion commit, and
   any later failure removes it again;
3. register the exact artifact bytes in MLflow (idempotent; a failure stops here, nothing written)
   and record the version in the release record;
4. render the manifests and the record into a temporary directory, then move them into place,
   refresh the gate's entry in `dvc.lock`, commit;
5. push, fetching and replaying on a rejection; a push rejected every time undoes the commit and
   restores the work tree as it was (commits are made as the promotion identity);
6. point the environment's alias at the version. Git is the truth: after a pushed commit a
   registry failure is only a warning, and the next `rollgate promote` (same model) repairs it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from rollgate.adapters import registry, trust
from rollgate.contracts import paths, release
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.release import Image, Release
from rollgate.delivery import landing, message, preconditions, record
from rollgate.delivery.preconditions import Ready
from rollgate.manifests import deploy_config, render


def settings(root: Path, env: str) -> tuple[Image, str]:
    """The image pinned by digest and the model storage base of the environment's deploy config."""
    deploy = deploy_config.load_deploy_config(root, env)
    return deploy.image.pinned(), deploy.model_storage_base


def write_render(root: Path, rel: Release, out: Path) -> Path:
    """Render the manifests and write the release record into `out` (a new directory)."""
    out.mkdir(parents=True)
    render.render(root, rel.env, rel, out)
    release.write(out / paths.release_record(rel.env).name, rel)
    return out


def alias(root: Path, rel: Release, registered: bool = True) -> str:
    """Point the environment's alias at the model; `registered=False` first finds or registers its digest.

    The registry mirrors git: a store that lacks the pinned model (a fresh clone's local store, a
    registry failure after an earlier push) gets it here, by digest, whatever version the record names.
    """
    try:
        if not registered:
            version = registry.register(root, rel, root / paths.MODEL_ARTIFACT)
            rel = dataclasses.replace(rel, model=dataclasses.replace(rel.model, registry_version=version))
        return f"MLflow {rel.model.name} version {rel.model.registry_version}, alias {registry.point_alias(root, rel)}"
    except RollgateError as exc:
        return f"warning: {exc} (git is updated; re-run `rollgate promote --env {rel.env}` to sync the registry)"


def _deploy(root: Path, ready: Ready) -> str:
    env = ready.verdict.env
    image, storage = settings(root, env)
    rel = record.build(
        ready.candidate,
        env=env,
        verdict=ready.verdict.verdict,
        champion_sha256=ready.pinned.model.sha256 if ready.pinned else None,
        storage_base=storage,
        image=image,
    )
    with landing.stored(root, ready) as pushed, tempfile.TemporaryDirectory(prefix="rollgate-promote-") as tmp:
        version = registry.register(root, rel, root / paths.MODEL_ARTIFACT)
        rel = dataclasses.replace(rel, model=dataclasses.replace(rel.model, registry_version=version))
        staged = write_render(root, rel, Path(tmp) / env)
        done = landing.deliver(root, pushed, staged, message.deploy(rel, ready.verdict))
    if done is None:
        return f"nothing to deploy: a concurrent promotion already pinned {rel.model.sha256[:12]} in {env}"
    return (
        f"deployed {rel.model.name} {rel.model.sha256[:12]} to {env} (verdict {rel.gate.verdict}): "
        f"commit {done[:12]}\n{alias(root, rel)}"
    )


def allowed_render(root: Path, env: str, staged: Path) -> str:
    """The staged render's tree id, unless reverting a re-render withdrew exactly that render: promote
    would otherwise re-render to it again on every merge (abort, revert, re-render, abort ...)."""
    render = trust.render_id(root, staged)
    if render in trust.ledger(root, env).history().withdrawn_renders:
        raise RollgateError(
            f"withdrawn render: re-rendering {env} would commit the manifests {render[:12]} again, and a revert "
            f"withdrew them; change configs/deploy/{env}.yaml, the templates or the image so that the render "
            "differs"
        )
    return render


def _rerender(root: Path, ready: Ready, pinned: Release) -> str:
    """The pinned model again: a commit only if configs, templates or the image changed the manifests."""
    image, storage = settings(root, pinned.env)
    rel = record.refresh(pinned, storage_base=storage, image=image, baseline=ready.candidate.baseline)
    registered = rel.model.registry_version is None  # registered here: the alias need not look again
    if registered:
        version = registry.register(root, rel, root / paths.MODEL_ARTIFACT)
        rel = dataclasses.replace(rel, model=dataclasses.replace(rel.model, registry_version=version))
    with tempfile.TemporaryDirectory(prefix="rollgate-promote-") as tmp:
        staged = write_render(root, rel, Path(tmp) / pinned.env)
        changed = landing.differences(staged, root / paths.release_record(pinned.env).parent)
        if not changed:
            synced = alias(root, rel, registered=registered)
            return f"nothing to deploy: {pinned.env} already runs {pinned.model.sha256[:12]}\n{synced}"
        preconditions.stale(root, pinned, ready.candidate.source_commit)
        render = allowed_render(root, pinned.env, staged)
        with landing.stored(root, ready) as pushed:  # the URI may name a new storage base
            done = landing.deliver(root, pushed, staged, message.rerender(rel, changed, render))
    what = f"re-rendered {pinned.env} ({', '.join(changed)}) for {rel.model.sha256[:12]}"
    return (
        f"{what}: commit {(done or '')[:12]}\n{alias(root, rel, registered=registered)}"
        if done
        else f"nothing to deploy: {what} upstream"
    )


def run(root: Path, env: str) -> str:
    """Promote the gated model on disk to `env`; what happened, in words.

    Raises:
        RollgateError: a refusal (bad verdict, digest, withdrawn, stale, dirty tree, the model not
            pushable to the DVC remote, push rejected): nothing is committed and the work tree is as it was.
    """
    ready = preconditions.inspect(root, env)
    if ready.pinned is not None and ready.pinned.model.sha256 == ready.candidate.meta.sha256:
        return _rerender(root, ready, ready.pinned)
    return _deploy(root, ready)
