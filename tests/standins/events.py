"""Webhook event payloads for tests, built from GitHub's own examples (npm `@octokit/webhooks-examples`).

Only the examples the tests use are kept (a `pull_request` opened and synchronize, a `push`, a
`repository_dispatch`), cached per package version like the OpenAPI operations. A builder changes the
fields a test is about and keeps the rest of GitHub's example as it is.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from tests.standins import Unavailable, cache_dir, cached_json, npm_member, unavailable

PACKAGE, VERSION = "@octokit/webhooks-examples", "7.6.1"
MEMBER = "package/api.github.com/index.json"
KEPT = {"pull_request": ("opened", "synchronize"), "push": (None,), "repository_dispatch": (None,)}
EXAMPLE_REPO = "Codertocat/Hello-World"  # the repository every kept example is about
FORK_OWNER = "forker"  # whose fork a fork's pull request comes from


def _cut(every: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{event: {action or "": its first example}} for KEPT."""
    kept: dict[str, dict[str, Any]] = {}
    for event in every:
        for action in KEPT.get(event["name"], ()):
            found = next((e for e in event["examples"] if action is None or e.get("action") == action), None)
            if found is None:
                raise Unavailable(f"{PACKAGE}@{VERSION} has no {event['name']} {action or ''} example")
            kept.setdefault(event["name"], {})[action or ""] = found
    return kept


def load() -> dict[str, dict[str, Any]]:
    path = cache_dir(PACKAGE, VERSION) / "events.json"
    kept: dict[str, dict[str, Any]] = cached_json(
        path, lambda: _cut(json.loads(npm_member(PACKAGE, VERSION, MEMBER))), lambda d: set(d) == set(KEPT)
    )
    return kept


@functools.cache
def _examples() -> dict[str, dict[str, Any]] | Unavailable:
    try:
        return load()
    except Unavailable as exc:
        return exc


def example(event: str, action: str = "") -> dict[str, Any]:
    """A fresh copy of GitHub's example payload (skips, or fails with CI=true, when it cannot be had)."""
    found = _examples()
    if isinstance(found, Unavailable):
        unavailable(str(found))
    return copy.deepcopy(found[event][action])


def _moved(payload: Any, old: str, new: str) -> Any:
    """`payload` with every mention of the repository `old` (names, URLs) made `new`."""
    return json.loads(json.dumps(payload).replace(old, new))


def pull_request_event(
    action: str, number: int, *, base_sha: str, base_ref: str, head_sha: str, head_ref: str, repo_full_name: str,
    fork: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A `pull_request` event (`opened` or `synchronize`) of pull request `number` in `repo_full_name`, from
    `head_ref` at `head_sha` into `base_ref` at `base_sha`; with `fork`, the head is in FORK_OWNER's fork
    and FORK_OWNER opened it. The rest is GitHub's example."""
    if action not in KEPT["pull_request"]:
        raise ValueError(f"no example for pull_request {action!r}: one of {KEPT['pull_request']}")
    old = example("pull_request", action)
    old_number = old["number"]
    text = json.dumps(old)
    for kind in ("pulls", "pull", "issues"):  # the pull request's own URLs
        text = text.replace(f"{EXAMPLE_REPO}/{kind}/{old_number}", f"{EXAMPLE_REPO}/{kind}/{number}")
    event: dict[str, Any] = _moved(json.loads(text), EXAMPLE_REPO, repo_full_name)
    owner, name = repo_full_name.split("/")
    pull = event["pull_request"]
    event["number"] = pull["number"] = number
    for repo in (event["repository"], pull["base"]["repo"]):
        repo["name"], repo["owner"]["login"] = name, owner
    pull["base"].update(ref=base_ref, sha=base_sha, label=f"{owner}:{base_ref}")
    pull["base"]["user"]["login"] = owner
    head_owner = FORK_OWNER if fork else owner
    head_repo = _moved(pull["base"]["repo"], repo_full_name, f"{head_owner}/{name}")
    head_repo["owner"]["login"] = head_owner
    head_repo.update(fork=fork, id=head_repo["id"] + (1 if fork else 0))
    pull["head"].update(ref=head_ref, sha=head_sha, label=f"{head_owner}:{head_ref}", repo=head_repo)
    pull["head"]["user"] = copy.deepcopy(head_repo["owner"])
    if fork:
        pull["user"] = copy.deepcopy(head_repo["owner"])
        event["sender"] = copy.deepcopy(head_repo["owner"])
        pull["author_association"] = "NONE"
    if "after" in event:  # synchronize: the push that moved the head
        event["after"] = head_sha
    return event
