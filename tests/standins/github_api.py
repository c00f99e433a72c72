"""A stand-in for GitHub's REST API on 127.0.0.1, held to GitHub's own OpenAPI description.

Every request is routed to an operation of the cut description (`tests.standins.openapi`), and its path,
query and JSON body are validated against that operation's schemas; every answer is validated against
the operation's response schema before it is sent (a failure is the stand-in's bug: it is kept in
`failures`, recorded and answered as 500). State lives in memory: issues and pull requests (one number
space, as on GitHub), their comments, repository dispatches. It records calls; it decides nothing the
product decides. In another process: `python -m tests.standins.github_api --port-file F --record F`.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.standins import Unavailable, openapi

HTML = "https://github.com"
DOCS = "https://docs.github.com/rest"
API_VERSIONS = ("2022-11-28",)  # what GitHub accepts in X-GitHub-Api-Version (absent means this one)


@dataclass(frozen=True)
class Identity:
    """Who a token authenticates as: a `simple-user`'s login, type (`Bot` or `User`) and id."""

    login: str
    type: str = "User"
    id: int = 1

    def user(self) -> dict[str, Any]:
        api = f"https://api.github.com/users/{self.login.replace('[', '%5B').replace(']', '%5D')}"
        html = f"{HTML}/apps/{self.login.removesuffix('[bot]')}" if self.type == "Bot" else f"{HTML}/{self.login}"
        links = {f"{k}_url": f"{api}/{k}" for k in ("followers", "subscriptions", "repos", "received_events")}
        return {
            "login": self.login, "id": self.id, "node_id": f"U_{self.id}", "type": self.type, "site_admin": False,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.id}?v=4", "gravatar_id": "",
            "url": api, "html_url": html, "organizations_url": f"{api}/orgs", "user_view_type": "public",
            "following_url": f"{api}/following{{/other_user}}", "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}", "events_url": f"{api}/events{{/privacy}}", **links,
        }  # fmt: skip


_REACTIONS = ("total_count", "+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
BOT = Identity("github-actions[bot]", "Bot", 41898282)  # what GITHUB_TOKEN comments as


@dataclass
class State:
    """What the stand-in's repository holds. Tests arrange it directly; the product changes it over HTTP."""

    repository: str
    issues: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # number -> its pull request, if one
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> issue-comment (+ "_issue")
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)  # ref -> sha; an unknown ref gets a made-up sha
    _next_comment: int = 1_000_001

    def open_issue(self, number: int | None = None) -> int:
        number = number or max(self.issues, default=0) + 1
        self.issues.setdefault(number, None)
        return number

    def add_comment(self, number: int, body: str, who: Identity, api: str = "https://api.github.com") -> dict[str, Any]:
        """A comment on issue `number` as `who` (its `url` under `api`); the issue-comment GitHub returns."""
        cid, self._next_comment, now = self._next_comment, self._next_comment + 1, _now()
        kind = "pull" if self.issues.get(number) else "issues"
        url = f"{api}/repos/{self.repository}/issues/comments/{cid}"
        self.comments[cid] = {
            "id": cid, "node_id": f"IC_{cid}", "body": body, "user": who.user(), "created_at": now, "updated_at": now,
            "url": url,
            "html_url": f"{HTML}/{self.repository}/{kind}/{number}#issuecomment-{cid}",
            "issue_url": f"{api}/repos/{self.repository}/issues/{number}",
            "author_association": "NONE" if who.type == "Bot" else "MEMBER", "performed_via_github_app": None,
            "reactions": dict.fromkeys(_REACTIONS, 0) | {"url": f"{url}/reactions"},
            "pin": None, "minimized": None, "_issue": number,
        }  # fmt: skip
        return _public(self.comments[cid])

    def on(self, number: int) -> list[dict[str, Any]]:
        """The comments on issue `number`, oldest first, as GitHub lists them."""
        return [_public(c) for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["_issue"] == number]


def _json(raw: bytes) -> Any:
    """A request body for the record: its JSON, else its text."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _public(comment: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in comment.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """A request that passed every check, as an operation's handler sees it."""

    args: dict[str, Any]  # path and query parameters, typed, with their defaults
    body: Any
    who: Identity
    here: str  # this request's URL without its query (Link headers, `url` fields)
    docs: str  # the operation's documentation URL, for error bodies


def _error(status: int, message: str, errors: list[Any] | None = None, docs: str = DOCS) -> Answer:
    body: dict[str, Any] = {"message": message, "documentation_url": docs, "status": str(status)}
    return Answer(status, body | ({"errors": errors} if errors else {}))


class GitHubAPI:
    """The stand-in as a context manager: `with GitHubAPI(openapi.operations()) as api: ... api.url ...`."""

    def __init__(
        self,
        description: openapi.Description,
        repository: str = "octo-org/rollgate-demo",
        identities: Mapping[str, Identity] | None = None,
        default: Identity | None = BOT,
        record: Path | None = None,
    ) -> None:
        """`identities` maps tokens to who they authenticate as; any other token is `default` (None: 401)."""
        self.description, self.state = description, State(repository)
        self.identities, self.default, self.record = dict(identities or {}), default, record
        self.calls: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []  # responses that broke their schema: must stay empty
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GitHubAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, port: int = 0) -> GitHubAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.api = self  # type: ignore[attr-defined]
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)  # stop() waits one interval
        threading.Thread(target=serve, name="github-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, method: str, target: str, headers: Mapping[str, str], raw: bytes, host: str) -> Answer:
        """The whole exchange for one request (what the HTTP handler calls), recorded."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        routed = self.description.route(method, url.path)
        who = self._who(headers)
        with self.lock:
            if routed is None:
                answer = _error(404, "Not Found")
            else:
                answer = self._checked(
                    routed, query=query, raw=raw, headers=headers, who=who, here=f"http://{host}{url.path}"
                )
            op = routed[0] if routed else None
            problems = self.description.response_problems(op, answer.status, answer.body)
            call = {"method": method, "path": url.path, "query": query, "body": _json(raw), "status": answer.status,
                    "operation": op.id if op else None, "user": who.login if who else None,
                    "api_version": headers.get("x-github-api-version"), "accept": headers.get("accept"),
                    "problems": problems}  # fmt: skip
            if problems:
                self.failures.append(call)
                answer = _error(500, f"stand-in bug: its {answer.status} answer breaks the schema: {problems[0]}")
            self.calls.append(call)
            if self.record is not None:
                with self.record.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(call, sort_keys=True) + "\n")
        return answer

    def _who(self, headers: Mapping[str, str]) -> Identity | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            return None
        return self.identities.get(token.strip(), self.default)

    def _checked(
        self, routed: tuple[openapi.Operation, dict[str, str]], *, query: dict[str, str], raw: bytes,
        headers: Mapping[str, str], who: Identity | None, here: str,
    ) -> Answer:  # fmt: skip
        """GitHub's checks in GitHub's order, then the operation itself."""
        op, given = routed
        docs = op.spec.get("externalDocs", {}).get("url", DOCS)
        if (refused := _refused(headers, docs)) is not None or who is None:
            return refused or _error(401, "Bad credentials", docs=docs)
        path, wrong = self.description.arguments(op, "path", given)
        if wrong or f"{path['owner']}/{path['repo']}".lower() != self.state.repository.lower():
            return _error(404, "Not Found", docs=docs)
        args, wrong = self.description.arguments(op, "query", query)
        body = None
        if not wrong and (schema := self.description.body_schema(op)) is not None:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "Problems parsing JSON", docs=docs)
            wrong = self.description.problems(schema, body, "body")
        if wrong:
            return _error(422, f"Invalid request.\n\n{wrong[0]['message']}", wrong, docs)
        return _HANDLERS[op.id](self, Call({**path, **args}, body, who, here, docs))


def _refused(headers: Mapping[str, str], docs: str) -> Answer | None:
    """What GitHub answers before it looks at the operation: no User-Agent, an API version, no token."""
    if not headers.get("user-agent"):
        text = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
        return _error(403, text, docs=docs)
    if headers.get("x-github-api-version", API_VERSIONS[0]) not in API_VERSIONS:
        return _error(400, f"Unsupported 'X-GitHub-Api-Version': {headers['x-github-api-version']}", docs=docs)
    if not headers.get("authorization", "").strip():
        return _error(401, "Requires authentication", docs=docs)
    return None


def _page(call: Call, items: list[Any], kept: Mapping[str, Any]) -> Answer:
    """One page of `items` with GitHub's Link header (per_page at most 100, as GitHub caps it); `kept` are
    the query parameters the page links repeat."""
    size, page = min(max(int(call.args["per_page"]), 1), 100), max(int(call.args["page"]), 1)
    last = max((len(items) + size - 1) // size, 1)
    before = {"prev": page - 1, "first": 1} if page > 1 else {}
    rels = ({"prev": page - 1} if before else {}) | ({"next": page + 1, "last": last} if page < last else {}) | before
    links = [f'<{call.here}?{urlencode({**kept, "per_page": size, "page": n})}>; rel="{r}"' for r, n in rels.items()]
    return Answer(200, items[(page - 1) * size : page * size], {"Link": ", ".join(links)} if links else {})


def _list_comments(api: GitHubAPI, call: Call) -> Answer:
    number, since = call.args["issue_number"], call.args.get("since")
    if number not in api.state.issues:
        return _error(404, "Not Found", docs=call.docs)
    items = [c for c in api.state.on(number) if since is None or c["updated_at"] >= since]
    return _page(call, items, {"since": since} if since else {})


def _create_comment(api: GitHubAPI, call: Call) -> Answer:
    if call.args["issue_number"] not in api.state.issues:
        return _error(404, "Not Found", docs=call.docs)
    base = call.here.split("/repos/", maxsplit=1)[0]
    made = api.state.add_comment(call.args["issue_number"], call.body["body"], call.who, base)
    return Answer(201, made, {"Location": made["url"]})


def _update_comment(api: GitHubAPI, call: Call) -> Answer:
    if (comment := api.state.comments.get(call.args["comment_id"])) is None:
        return _error(404, "Not Found", docs=call.docs)
    comment.update(body=call.body["body"], updated_at=_now())
    return Answer(200, _public(comment))


def _pull(api: GitHubAPI, number: int, call: Call) -> dict[str, Any]:
    """A pull-request object: GitHub's own example with this repository, number, branches and author."""
    example = api.description.doc["components"]["examples"]["pull-request"]["value"]
    pull: dict[str, Any] = json.loads(json.dumps(example).replace("octocat/Hello-World", api.state.repository))
    owner, now, spec = api.state.repository.split("/")[0], _now(), call.body
    for side in ("head", "base"):
        ref = spec[side].split(":")[-1]
        sha = api.state.branches.get(ref) or hashlib.sha1(ref.encode(), usedforsecurity=False).hexdigest()
        pull[side].update(ref=ref, sha=sha, label=f"{owner}:{ref}")
    pull.update(number=number, id=900_000 + number, node_id=f"PR_{number}", title=spec.get("title", ""),
                body=spec.get("body"), user=call.who.user(), draft=bool(spec.get("draft")), state="open",
                created_at=now, updated_at=now, closed_at=None, merged_at=None, merge_commit_sha=None,
                merged=False, merged_by=None, mergeable=None, labels=[], assignee=None, assignees=[],
                requested_reviewers=[], requested_teams=[], milestone=None, comments=0, review_comments=0,
                url=f"{call.here}/{number}", html_url=f"{HTML}/{api.state.repository}/pull/{number}")  # fmt: skip
    return pull


def _create_pull(api: GitHubAPI, call: Call) -> Answer:
    head, base = call.body["head"].split(":")[-1], call.body["base"]
    if "title" not in call.body and "issue" not in call.body:
        missing = {"resource": "PullRequest", "field": "title", "code": "missing_field"}
        return _error(422, "Validation Failed", [missing], call.docs)
    for pull in (p for p in api.state.issues.values() if p and p["state"] == "open"):
        if (pull["head"]["ref"], pull["base"]["ref"]) == (head, base):
            message = f"A pull request already exists for {pull['head']['label']}."
            exists = {"resource": "PullRequest", "code": "custom", "message": message}
            return _error(422, "Validation Failed", [exists], call.docs)
    number = max(api.state.issues, default=0) + 1
    api.state.issues[number] = _pull(api, number, call)
    return Answer(201, copy.deepcopy(api.state.issues[number]), {"Location": f"{call.here}/{number}"})


def _update_pull(api: GitHubAPI, call: Call) -> Answer:
    pull = api.state.issues.get(call.args["pull_number"])
    if pull is None:
        return _error(404, "Not Found", docs=call.docs)
    pull.update({k: v for k, v in call.body.items() if k in ("title", "body", "state")}, updated_at=_now())
    return Answer(200, copy.deepcopy(pull))


_FULL_ONLY = ("merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments", "review_comments",
              "maintainer_can_modify", "commits", "additions", "deletions", "changed_files")  # fmt: skip


def _list_pulls(api: GitHubAPI, call: Call) -> Answer:
    args, owner = call.args, api.state.repository.split("/")[0]
    pulls = [p for p in api.state.issues.values() if p and args["state"] in ("all", p["state"])]
    pulls = [p for p in pulls if "head" not in args or args["head"] == f"{owner}:{p['head']['ref']}"]
    pulls = [p for p in pulls if "base" not in args or args["base"] == p["base"]["ref"]]
    key = "updated_at" if args["sort"] == "updated" else "created_at"
    descending = args.get("direction", "desc" if args["sort"] == "created" else "asc") == "desc"
    pulls.sort(key=lambda p: (p[key], p["number"]), reverse=descending)
    items = [{k: copy.deepcopy(v) for k, v in p.items() if k not in _FULL_ONLY} for p in pulls]
    return _page(call, items, {k: args[k] for k in ("state", "head", "base", "sort", "direction") if k in args})


def _dispatch(api: GitHubAPI, call: Call) -> Answer:
    api.state.dispatches.append(copy.deepcopy(call.body))
    return Answer(204)


_HANDLERS = {
    "issues/list-comments": _list_comments,
    "issues/create-comment": _create_comment,
    "issues/update-comment": _update_comment,
    "pulls/create": _create_pull,
    "pulls/list": _list_pulls,
    "pulls/update": _update_pull,
    "repos/create-dispatch-event": _dispatch,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host") or self.server.api.url.removeprefix("http://")  # type: ignore[attr-defined]
        answer = self.server.api.answer(self.command, self.path, headers, raw, host)  # type: ignore[attr-defined]
        data = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", API_VERSIONS[0])
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # the record is the log
        pass


def read_record(path: Path) -> Iterator[dict[str, Any]]:
    """The calls another process's stand-in recorded, in order."""
    for line in path.read_text(encoding="utf-8").splitlines():
        yield json.loads(line)


def _identity(text: str) -> tuple[str, Identity]:
    token, _, who = text.partition("=")
    login, _, kind = who.partition(":")
    return token, Identity(login, kind or "User", 1000 + len(login))


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m tests.standins.github_api", description=__doc__.splitlines()[0])
    cli.add_argument("--port-file", type=Path, required=True, help="written (atomically) with the port once listening")
    cli.add_argument("--record", type=Path, help="every call appended as one JSON line")
    cli.add_argument("--repository", default="octo-org/rollgate-demo", help="the one repository it serves")
    cli.add_argument("--issue", type=int, action="append", default=[], help="an open issue number (repeatable)")
    cli.add_argument("--identity", action="append", default=[], help="TOKEN=LOGIN[:TYPE]; other tokens are the bot")
    cli.add_argument("--port", type=int, default=0, help="default: an ephemeral one")
    args = cli.parse_args(argv)
    try:
        description = openapi.Description(openapi.load())
    except Unavailable as exc:
        print(f"github_api: {exc}", file=sys.stderr)
        return 2
    api = GitHubAPI(description, args.repository, dict(map(_identity, args.identity)), record=args.record)
    for number in args.issue:
        api.state.open_issue(number)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with api.start(args.port):
        fd, tmp = tempfile.mkstemp(dir=args.port_file.parent, prefix=f".{args.port_file.name}.")
        with os.fdopen(fd, "w") as out:
            out.write(f"{api.url.rsplit(':', 1)[1]}\n")
        Path(tmp).replace(args.port_file)
        print(api.url, flush=True)  # a line to wait for instead of polling the port file
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
