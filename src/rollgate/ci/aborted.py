"""`rollgate pr revert --event FILE`: when Argo Rollouts aborts a rollout, open the pull request that
reverts what caused it, so that git, the truth, matches the cluster again (stable kept serving).

The event is the `repository_dispatch` the rollout's notification sends (`rollgate-rollout-aborted`,
client_payload {env, namespace, rollout, revision, model_sha256, message}) with the cluster's GitHub
App identity, which is checked first: anyone with a token that may dispatch could send the same JSON.
The cause is the environment's live promotion of that digest; when it is a re-render (the model did not
change), the cause is the commit behind it (`Rollgate-Source-Commit`: a config, template or image
change). The revert is pushed as a branch with the App token and proposed as a pull request, which its
own checks then judge (an exact revert of a promotion passes them). A repeated event finds the open
pull request instead of opening a second one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgate.adapters import git, github, identity, trust
from rollgate.contracts import ledger, paths, trailers
from rollgate.contracts.errors import RollgateError

EVENT = "rollgate-rollout-aborted"
FIELDS = ("env", "namespace", "rollout", "revision", "model_sha256", "message")
DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Aborted:
    env: str
    namespace: str
    rollout: str
    revision: str
    model_sha256: str
    message: str
    sender: str


def dispatch(
    path: Path, cluster_app: str, kind: str, fields: tuple[str, ...], envs: list[str], *, optional: tuple[str, ...] = ()
) -> dict[str, str]:
    """The `repository_dispatch` event `kind` at `path`, checked: its type, its sender (`cluster_app`, the
    App's bot login), every payload field a non-empty string (each `optional` one a string, "" when
    absent), `env` one of `envs`, `model_sha256` when given a digest.

    Raises:
        RollgateError: naming the file and what is wrong.
    """
    try:
        event: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RollgateError(f"{path}: not a readable JSON event ({exc})") from exc
    action = event.get("action") if isinstance(event, dict) else None
    if action != kind:
        raise RollgateError(f"{path}: not a {kind} repository_dispatch (action {action!r})")
    who = event.get("sender")
    sender = str(who.get("login") or "") if isinstance(who, dict) else ""
    if not cluster_app:
        raise RollgateError("ROLLGATE_CLUSTER_APP is not set: the cluster App's login the event must come from")
    if sender != cluster_app:
        raise RollgateError(f"{path}: sent by {sender or 'nobody'}, not by the cluster's App {cluster_app}: ignored")
    payload = event.get("client_payload")
    if not isinstance(payload, dict):
        raise RollgateError(f"{path}: client_payload is missing")
    missing = [f for f in fields if not isinstance(payload.get(f), str) or not payload[f].strip()]
    if missing:
        raise RollgateError(f"{path}: client_payload lacks {', '.join(missing)} (each a non-empty string)")
    wrong = [f for f in optional if not isinstance(payload.get(f, ""), str)]
    if wrong:
        raise RollgateError(f"{path}: client_payload.{wrong[0]} is not a string")
    found = {f: payload[f] for f in fields} | {f: payload.get(f, "").strip() for f in optional}
    if found["env"] not in envs:
        raise RollgateError(f"{path}: client_payload.env {found['env']!r} is none of {', '.join(envs)}")
    if found.get("model_sha256") and not DIGEST.match(found["model_sha256"]):
        raise RollgateError(f"{path}: client_payload.model_sha256 is not 64 hex digits")
    return found | {"sender": sender}


def read_event(path: Path, cluster_app: str, envs: list[str]) -> Aborted:
    """The abort event at `path`, checked (`dispatch`).

    Raises:
        RollgateError: naming the file and what is wrong.
    """
    return Aborted(**dispatch(path, cluster_app, EVENT, FIELDS, envs))


def cause(root: Path, env: str, digest: str) -> tuple[str, str] | None:
    """The commit to revert to take `digest` out of `env` and why, or None when no live promotion of that
    digest is left (reverted already)."""
    live = [e for e in trust.ledger(root, env).live if e.digest == digest]
    if not live:
        return None
    entry = live[-1]
    if entry.kind == ledger.PROMOTION:
        return entry.commit.sha, f"the promotion {entry.commit.sha[:12]} ({entry.commit.subject})"
    source = (entry.commit.found.get(trailers.SOURCE_COMMIT) or [""])[0]
    if source and git.is_ancestor(root, source, "HEAD") and source != entry.commit.sha:
        return source, f"{source[:12]}, the change the re-render {entry.commit.sha[:12]} rendered"
    return entry.commit.sha, f"the re-render {entry.commit.sha[:12]} ({entry.commit.subject})"


def body(aborted: Aborted, sha: str, why: str) -> str:
    return "\n".join(
        [
            f"Argo Rollouts aborted the rollout of `{aborted.model_sha256}` in **{aborted.env}**: stable kept serving.",
            "",
            "| | |",
            "|---|---|",
            f"| namespace | `{aborted.namespace}` |",
            f"| rollout | `{aborted.rollout}` |",
            f"| revision synced | `{aborted.revision}` |",
            f"| model | `{aborted.model_sha256}` |",
            f"| message | {aborted.message.replace('|', '/').replace(chr(10), ' ')} |",
            "",
            f"This reverts {why}, so that `manifests/{aborted.env}/` says again what the cluster runs. Merging it "
            "withdraws the model from this environment: promote refuses it again unless it is re-allowed "
            f"(`deploy-state/{aborted.env}/reallowed/`).",
        ]
    )


def push_revert(root: Path, env: str, sha: str, branch: str, base: str) -> None:
    """`branch` from `base` with the revert of `sha` by `env`'s promotion identity, pushed."""
    git.git(root, "checkout", "-q", "-B", branch, git.require_commit(root, base, "--base"))
    git.revert(root, [sha], identity.load(root, env))
    git.push(root)


def run(root: Path, event: Path, cluster_app: str, base: str = "main") -> str:
    """`rollgate pr revert`: push the revert branch and open (or find) its pull request into `base`;
    what happened."""
    aborted = read_event(event, cluster_app, paths.environments(root))
    found = cause(root, aborted.env, aborted.model_sha256)
    if found is None:
        return f"{aborted.env}: no live promotion of {aborted.model_sha256[:12]}: reverted already, nothing to open"
    sha, why = found
    branch = f"rollgate/revert-{aborted.env}-{sha[:12]}"
    client = github.Client.from_env()
    opened = github.find_pull(branch, base, client)  # a retried notification: nothing new to push
    if opened is None:
        push_revert(root, aborted.env, sha, branch, base)
        subject = git.git(root, "log", "-1", "--format=%s", sha).strip()
        title = f'Revert "{subject}": rollout aborted in {aborted.env}'
        opened = github.create_pull(branch, base, title, body(aborted, sha, why), client)
    return f"{opened.action} #{opened.number} {opened.url}: reverts {why}"
