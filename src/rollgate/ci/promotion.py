"""What the promotion workflow asks before and around a promotion (`rollgate promotion plan|event|settle`).

- **plan** (a push to main, run with the base commit's rollgate): the loop guard first — a push made
  only of promotion or re-render commits by the promotion identity never starts another promotion —
  then the kind of the change, as a pull request's (`rollgate.ci.classify`): only a pipeline change
  promotes (a revert is itself the rollback; docs change nothing). `review` is true when the merge
  changed how the gate judges (its code, the contracts, its policy in `params.yaml`): the base's
  verdict then decides and a person approves in the protected environment `rollgate-review`.
- **event** (`rollgate-rollout-succeeded`, sent by the cluster's App through Argo CD's notifications):
  checked like the abort event; the next environment then promotes the digest the synced one pins.
- **settle** records that an environment's rollout is over (`rollgate/synced/<env>`, a branch moved only
  forward along main); **wait** holds a promotion while the environment's last change is not yet
  reported over, so a promotion never starts during that environment's rollout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollgate.adapters import git, trust
from rollgate.ci import aborted, classify, runner
from rollgate.contracts import ledger, paths, release, strict_yaml
from rollgate.contracts.errors import RollgateError

SUCCEEDED = "rollgate-rollout-succeeded"
OPTIONAL = ("model_sha256",)  # sent for a promotion commit; a revision that is none: what the env pins there
# What decides a verdict: a merge changing any of it is judged by the base's gate and needs an approval.
JUDGE = (
    "src/rollgate/gate",
    "src/rollgate/contracts",
    "src/rollgate/params.py",
    "src/rollgate/pipeline/gate.py",
    "src/rollgate/pipeline/verify.py",
    "src/rollgate/delivery",
    "src/rollgate/adapters/trust.py",
    "src/rollgate/adapters/gitlog.py",
    "src/rollgate/adapters/history.py",
    "src/rollgate/adapters/identity.py",
)
SYNCED = "rollgate/synced/"
NO_COMMIT = "0" * 40


@dataclass(frozen=True)
class Planned:
    promote: bool
    review: bool
    why: str
    judge_changes: tuple[str, ...] = ()


def _gate_policy(root: Path, rev: str) -> object:
    text = git.show(root, rev, str(paths.PARAMS))
    raw = strict_yaml.parse(text, RollgateError, f"{paths.PARAMS}@{rev[:12]}") if text else None
    return raw.get("gate") if isinstance(raw, dict) else None


def judge_changes(root: Path, before: str, after: str, changed: list[str]) -> tuple[str, ...]:
    """What the push (its `changed` files) changes of how the gate judges (files, and `params.yaml:gate`)."""
    found = [name for name in changed if classify.under(name, JUDGE)]
    if _gate_policy(root, before) != _gate_policy(root, after):
        found.append(f"{paths.PARAMS}: gate")
    return tuple(found)


def plan(root: Path, before: str, after: str = "HEAD") -> Planned:
    """Whether the push `before..after` to main promotes, and whether it needs the base's judgement approved.

    Raises:
        RollgateError: no base commit, or a forbidden change to manifests/<env>/ on main.
    """
    if not before or before == NO_COMMIT:
        raise RollgateError("the push has no base commit (github.event.before): nothing to judge against")
    judged = trust.judged_in_range(root, before, after)
    forbidden = [trust.line(env, j) for env, j in judged if j.kind == ledger.FORBIDDEN]
    if forbidden:
        raise RollgateError("forbidden change(s) to manifests/<env>/ on main:\n  " + "\n  ".join(forbidden))
    pushed = set(git.git(root, "rev-list", f"{before}..{after}").split())
    made = {j.commit.sha for _, j in judged if j.kind in (ledger.PROMOTION, ledger.RERENDER)}
    if pushed and pushed <= made:
        return Planned(False, False, "loop guard: the push is only promotion commits, which never promote again")
    changed = classify.changed_files(root, before, after)
    kind, _ = classify.decide(changed, classify.reads(root), [j for _, j in judged])
    if kind != classify.PIPELINE:
        return Planned(False, False, f"{kind}: {classify.WHY[kind]}; nothing to promote")
    changes = judge_changes(root, before, after, changed)
    return Planned(True, bool(changes), classify.WHY[kind], changes)


def run_plan(root: Path, before: str) -> str:
    found = plan(root, before)
    runner.output("promote", str(found.promote).lower())
    runner.output("review", str(found.review).lower())
    lines = [f"promotion plan: {'promote' if found.promote else 'no promotion'} ({found.why})"]
    if found.review:
        lines.append("the merge changes how the gate judges, so the base's verdict decides and a reviewer approves:")
        lines += [f"  {c}" for c in found.judge_changes]
    text = "\n".join(lines)
    runner.summary("### rollgate promotion plan\n\n```\n" + text + "\n```")
    return text


def event(root: Path, path: Path, cluster_app: str) -> str:
    """`rollgate promotion event`: the succeeded event checked; the synced revision must be on main and
    its environment must pin the reported digest there. Sets the outputs `env`, `revision`, `sha256`."""
    envs = paths.environments(root)
    payload = aborted.dispatch(path, cluster_app, SUCCEEDED, ("env", "revision"), envs, optional=OPTIONAL)
    env, digest = payload["env"], payload["model_sha256"]
    revision = git.require_commit(root, payload["revision"], "client_payload.revision")
    if not git.is_ancestor(root, revision, "HEAD"):
        raise RollgateError(f"{path}: revision {revision[:12]} is not on main")
    record = paths.release_record(env)
    text = git.show(root, revision, str(record))
    pinned = release.loads(text, f"{record}@{revision[:12]}") if text else None
    if pinned is None or (digest and pinned.model.sha256 != digest):
        have = pinned.model.sha256[:12] if pinned else "no model"
        raise RollgateError(f"{path}: {env} pins {have} at {revision[:12]}, not the reported {digest[:12] or 'model'}")
    for name, value in (("env", env), ("revision", revision), ("sha256", pinned.model.sha256)):
        runner.output(name, value)
    return f"{env} is synced and healthy at {revision[:12]} with {pinned.model.sha256[:12]}"


def _synced(root: Path, env: str) -> str | None:
    """The commit origin's `rollgate/synced/<env>` names (fetched), or None when there is none yet."""
    listed = git.git(root, "ls-remote", "origin", f"refs/heads/{SYNCED}{env}").split()
    if not listed:
        return None
    git.git(root, "fetch", "-q", "origin", f"refs/heads/{SYNCED}{env}")
    return listed[0]


def settle(root: Path, env: str, revision: str = "HEAD") -> str:
    """Move `rollgate/synced/<env>` forward to `revision` and push it (never backwards, never forced)."""
    target = git.require_commit(root, revision, "--revision")
    branch = SYNCED + env
    current = _synced(root, env)
    if current and git.is_ancestor(root, target, current):
        return f"{env}: already recorded as settled at {current[:12]}"
    git.git(root, "push", "-q", "origin", f"{target}:refs/heads/{branch}")
    return f"{env}: settled at {target[:12]}"


def _in_progress(root: Path, env: str) -> str | None:
    """The last change to `manifests/<env>/` not yet reported over, or None."""
    synced = _synced(root, env)
    last = git.git(root, "log", "-1", "--format=%H", "HEAD", "--", str(paths.release_record(env).parent)).strip()
    if synced is None or not last or git.is_ancestor(root, last, synced):
        return None
    return last


def wait(root: Path, env: str, timeout: float, sleep: Callable[[float], None] = time.sleep) -> str:
    """Return once no rollout of `env` is in progress; refuse after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (busy := _in_progress(root, env)) is not None:
        if time.monotonic() >= deadline:
            raise RollgateError(
                f"a rollout of {env} is in progress ({busy[:12]} changed manifests/{env}/ and Argo CD has not reported "
                f"it over): no {env} promotion during a rollout; run the workflow again once it is"
            )
        sleep(min(15.0, max(0.0, deadline - time.monotonic())))
    return f"no rollout of {env} in progress"
