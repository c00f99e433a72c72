"""`rollgate monitor pr` (`make monitor-pr`): open or update the one pull request the judge's evidence
calls for, with the App token (a pull request opened with the workflow's token would start no checks).

In order, so that a refusal leaves nothing half-written: the full history is required and the
suppression file is checked (an unknown key or cause, a past expiry: exit 2, nothing pushed); the
decision is made (`rollgate.ci.monitor_decide`); only then is a branch touched.

- **retrain**: on `rollgate/monitor-<env>-retrain-<sha12>` (the open branch when there is one, else from
  the base), the matured weeks of `build/monitor/rows/` are copied into the dataset's batch folder, `dvc
  add data` records them in `data.dvc`, `dvc push` sends them to the default remote, and the commit is
  pushed; the pull request's body is the monitor's report.
- **revert**: on `rollgate/monitor-<env>-revert-<sha12>`, the revert of the environment's live promotion
  of the deployed model (`rollgate.ci.aborted`'s cause and revert).

A pull request open for the branch already is updated (its body, and the branch when the data changed);
otherwise one is opened. After success the window's report is kept as the next run's `--judged`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollgate.adapters import dvc, dvc_cli, dvc_store, git, github, gitlog, identity
from rollgate.ci import aborted, monitor_body, monitor_suppress
from rollgate.ci.monitor_collect import ROWS, WORK
from rollgate.ci.monitor_decide import REVERT, Decision, Evidence, Key, Paired, decide
from rollgate.ci.monitor_judge import EVIDENCE, JUDGED, JUDGED_EVIDENCE
from rollgate.contracts import paths
from rollgate.contracts.errors import ContractError


@dataclass(frozen=True)
class Change:
    title: str
    body: str


@dataclass(frozen=True)
class _Job:
    """One pull request to make: where, for which key and decision, on what evidence, into which base."""

    root: Path
    key: Key
    decision: Decision
    doc: dict[str, Any]
    base: str
    run_url: str


def evidence(root: Path, env: str) -> dict[str, Any] | None:
    """The judge's evidence for `env`, or None when it judged nothing (no model, nothing collected)."""
    path = root / WORK / EVIDENCE
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{WORK / EVIDENCE}: unreadable ({exc}): run `make monitor-judge` first") from exc
    if doc.get("env") != env:
        raise ContractError(f"{WORK / EVIDENCE}: judged {doc.get('env')!r}, not {env!r}")
    return doc if doc.get("model_sha256") else None


def as_evidence(doc: dict[str, Any]) -> Evidence:
    paired = doc["paired"]
    alarms = tuple(paired.get("alarms", ()))
    return Evidence(doc["env"], doc["model_sha256"], tuple(doc["retrain"]),
                    Paired(int(paired["positives"]), alarms, paired.get("why_not", "")))  # fmt: skip


def _start(root: Path, branch: str, base: str) -> bool:
    """Check out `branch` as the remote has it, else anew from `base`; whether the remote had it."""
    if git.git(root, "ls-remote", "--heads", "origin", branch).strip():
        git.git(root, "fetch", "-q", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        git.git(root, "checkout", "-q", "-B", branch, f"origin/{branch}")
        return True
    git.git(root, "checkout", "-q", "-B", branch, git.require_commit(root, base, "--base"))
    return False


def _retrain(job: _Job) -> Change | None:
    from rollgate.data.schema import DATASET

    root, key, weeks = job.root, job.key, list(job.doc["matured"])
    if not weeks:
        return None
    existed = _start(root, key.branch, job.base)
    dvc_cli.cli(root, "pull", "-q", "--force", str(paths.DATA_DVC))  # data/ as this branch records it
    for name in weeks:
        shutil.copy2(root / WORK / ROWS / name, root / DATASET.batches / name)
    dvc_cli.cli(root, "add", "-q", str(paths.DATA_DIR))
    if git.git(root, "status", "--porcelain", "--", str(paths.DATA_DVC)).strip():
        in_tree = dvc_store.push_output(root, str(paths.DATA_DIR), dvc.recorded_md5_of(root / paths.DATA_DVC))
        remote = [str(Path(in_tree).parents[3])] if in_tree else []  # <remote>/files/md5/xx/<md5>.dir
        reasons = "\n".join(f"- {r}" for r in job.decision.reasons[:20])
        message = f"data: the matured weeks {', '.join(weeks)} ({key.env} monitor: retrain)\n\n{reasons}\n"
        # As the promotion identity, unsigned: a pull request's commit lands on main only through its merge.
        who = replace(identity.load(root, key.env), signing_key=None)
        git.commit(root, [str(paths.DATA_DVC), *remote], message, who)
        git.push(root)
    elif not existed:
        git.push(root)
    report = (root / WORK / "report/report.md").read_text(encoding="utf-8")
    body = monitor_body.retrain(key, job.decision, weeks, report, job.run_url)
    return Change(monitor_body.retrain_title(key, weeks), body)


def _revert(job: _Job) -> Change | None:
    root, key = job.root, job.key
    found = aborted.cause(root, key.env, key.sha256)
    if found is None:
        return None
    sha, why = found
    if not git.git(root, "ls-remote", "--heads", "origin", key.branch).strip():
        aborted.push_revert(root, key.env, sha, key.branch, job.base)
    subject = git.git(root, "log", "-1", "--format=%s", sha).strip()
    body = monitor_body.revert(key, job.decision, job.doc["paired"], why, job.run_url)
    return Change(monitor_body.revert_title(key, subject), body)


def _propose(job: _Job) -> str:
    """The branch pushed and the pull request opened or updated; what happened."""
    root, key = job.root, job.key
    here = git.git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    here = git.head(root) if here == "HEAD" else here  # detached: back to the commit
    client = github.Client.from_env()  # a missing token fails before anything is pushed
    try:
        change = (_revert if key.cause == REVERT else _retrain)(job)
    finally:
        git.git(root, "checkout", "-q", here)
    if key.cause != REVERT:  # data/ back as the checkout's data.dvc records it
        dvc_cli.cli(root, "checkout", "-q", "--force", str(paths.DATA_DVC))
    if change is None:
        return f"nothing to propose ({'reverted already' if key.cause == REVERT else 'no matured week yet'})"
    opened = github.find_pull(key.branch, job.base, client)
    done = (
        github.update_pull(opened.number, change.title, change.body, client)
        if opened
        else github.create_pull(key.branch, job.base, change.title, change.body, client)
    )
    return f"{done.action} #{done.number} {done.url} ({key.branch})"


def pr(root: Path, env: str, base: str = "main", run_url: str = "", today: datetime | None = None) -> str:
    """Decide and open, update or leave the pull request; what happened.

    Raises:
        RollgateError: a shallow clone, a bad suppression file, missing evidence, or a failed git, DVC or
            GitHub call (naming which).
    """
    gitlog.require_full_history(root, f"which promotion of {env} a revert would undo")
    day = (today or datetime.now(UTC)).date()
    suppressions = monitor_suppress.load(root, paths.environments(root), day)
    doc = evidence(root, env)
    if doc is None:
        return f"monitor pr ({env}): nothing was judged: no pull request"
    decision = decide(as_evidence(doc), suppressions)
    said = f"monitor pr ({env}): {decision.summary()}"
    if decision.key is not None:
        said += ": " + _propose(_Job(root, decision.key, decision, doc, base, run_url))
    _remember(root)
    return said


def _remember(root: Path) -> None:
    """The window's report becomes the next run's `--judged`, and the evidence says which weeks the
    revert comparison has judged (the workflow caches the folder)."""
    (root / JUDGED).parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((root / WORK / "report/report.json", JUDGED), (root / WORK / EVIDENCE, JUDGED_EVIDENCE)):
        if source.is_file():
            shutil.copy2(source, root / dest)
