"""`rollgate re-anchor`: start the trust checks here, keeping what every environment runs.

For a history whose manifests were changed by ordinary commits (the shipped example's, or a
repository that used rollgate before its trust rules): one commit resets every environment to no
model and writes its trust anchor (an adopt reset, which `rollgate check-changes` accepts), then one
commit per environment puts its manifests back byte for byte as the promotion identity, with the
promotion trailers of the record it pins. Afterwards the history since the anchor passes
`rollgate check-changes`, `check-manifests` sees the same bytes, and the gate knows each model as
deployed. It commits locally and pushes nothing: review, then push (the promotion commits go straight
to main, as every promotion does, never through a pull request).
"""

from __future__ import annotations

from pathlib import Path

from rollgate.adapters import git, gitlog, identity
from rollgate.contracts import paths, release, trailers
from rollgate.contracts.errors import RollgateError
from rollgate.delivery import adopt, message
from rollgate.manifests import deploy_config


def _snapshot(root: Path, env: str) -> dict[str, bytes]:
    folder = root / paths.release_record(env).parent
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _folders(env: str) -> list[str]:
    return [paths.release_record(env).parent.as_posix(), trailers.anchor(env).as_posix()]


def _repin(root: Path, env: str, files: dict[str, bytes]) -> str | None:
    """Put the env's manifests back as the promotion identity; None when it pinned no model."""
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    pinned = release.read_env(root, env)
    if pinned is None:
        return None
    folder = paths.release_record(env).parent.as_posix()
    return git.commit(root, [folder], message.repin(pinned), identity.load(root, env))


def run(root: Path) -> str:
    """The anchor commit and one re-pinning commit per environment with a model; what was done.

    Raises:
        RollgateError: a dirty work tree or a shallow clone (nothing is committed then).
    """
    gitlog.require_full_history(root, "re-anchoring")
    if git.status(root):
        raise RollgateError("the work tree has changes: commit or stash them before re-anchoring")
    envs = deploy_config.environments(root)
    kept = {env: _snapshot(root, env) for env in envs}
    for env in envs:
        adopt.reset(root, env, by="rollgate re-anchor")
    anchor = git.commit(root, [p for env in envs for p in _folders(env)], "adopt: the trust anchor (checks start here)")
    lines = [f"{anchor[:12]} the trust anchor of {', '.join(envs)}: every environment reset to no model"]
    for env in envs:
        done = _repin(root, env, kept[env])
        lines.append(f"{done[:12]} {env} re-pinned as the promotion identity" if done else f"{env}: no model to re-pin")
    return "\n".join([*lines, "review the commits, then push them (`git push`)"])
