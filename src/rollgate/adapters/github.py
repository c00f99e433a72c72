"""GitHub's REST API: the few calls rollgate makes, with the standard library alone.

Configured from the environment exactly as GitHub's runners set it: `GITHUB_API_URL` (default
https://api.github.com), `GITHUB_TOKEN` (else `GH_TOKEN`) and `GITHUB_REPOSITORY` (`owner/name`).
Each call is a `Route` named as GitHub's OpenAPI description names it, so the tests can hold the list
of routes to that description. A failed call raises RollgateError naming the method, the path, the
HTTP status and GitHub's `message`; never the token. Nothing happens on import.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from rollgate.contracts.errors import RollgateError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "rollgate"
TIMEOUT_S = 30.0  # per request: a stuck connection fails the job instead of holding it
COMMENT_LIMIT = 65536  # GitHub refuses a comment body longer than this many characters
TRUNCATED = (
    "\n\n---\n**Truncated:** this report is {length:,} characters and GitHub allows {limit:,} in a comment; "
    "the rest is cut off."
)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")  # where plain http may carry the token (a local stand-in)


@dataclass(frozen=True)
class Route:
    """One REST operation: its method and its path template, as GitHub's OpenAPI description names them."""

    method: str
    template: str

    def fill(self, **params: str | int) -> str:
        return self.template.format(**{name: quote(str(value), safe="") for name, value in params.items()})


LIST_COMMENTS = Route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
CREATE_COMMENT = Route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
UPDATE_COMMENT = Route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
LIST_PULLS = Route("GET", "/repos/{owner}/{repo}/pulls")
CREATE_PULL = Route("POST", "/repos/{owner}/{repo}/pulls")
UPDATE_PULL = Route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
# every call this module makes
ROUTES = (LIST_COMMENTS, CREATE_COMMENT, UPDATE_COMMENT, LIST_PULLS, CREATE_PULL, UPDATE_PULL)


@dataclass(frozen=True)
class Response:
    status: int
    data: Any  # the decoded JSON body; None when there is none (204)
    headers: Mapping[str, str]  # names in lower case


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the Authorization header to wherever it points: fail on it instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class Client:
    """Where GitHub's API is, who calls it and for which repository (`owner/name`)."""

    api_url: str
    token: str = field(repr=False)
    repository: str
    timeout_s: float = TIMEOUT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Client:
        """The client GitHub's runners configure; a missing or malformed variable is an error naming it."""
        env = os.environ if env is None else env
        api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise RollgateError(f"GITHUB_API_URL: {api_url!r} is not an https:// URL (http:// only on loopback)")
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
        if not token:
            raise RollgateError("GITHUB_TOKEN is not set (nor GH_TOKEN): the GitHub API needs a token")
        repository = env.get("GITHUB_REPOSITORY", "")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            what = "is not set" if not repository else f"is {repository!r}, not owner/name"
            raise RollgateError(f"GITHUB_REPOSITORY {what}: it names the repository, e.g. octo-org/my-model")
        return cls(api_url, token, repository)

    def call(
        self, route: Route, query: Mapping[str, str | int] | None = None, body: Any = None, **params: str | int
    ) -> Response:
        """`route` in this client's repository, its other path parameters from `params`."""
        return self.request(route.method, self.path(route, **params), query, body)

    def path(self, route: Route, **params: str | int) -> str:
        owner, repo = self.repository.split("/")
        return route.fill(owner=owner, repo=repo, **params)

    def request(
        self, method: str, path: str, query: Mapping[str, str | int] | None = None, body: Any = None
    ) -> Response:
        """One call: `path` under the API URL, `body` sent as JSON; an HTTP error is a RollgateError."""
        return self._send(method, self.api_url + path + (f"?{urlencode(query)}" if query else ""), body)

    def pages(self, path: str, query: Mapping[str, str | int] | None = None) -> Iterator[Any]:
        """Every item of a listing, following GitHub's `Link: <...>; rel="next"` from page to page."""
        url: str | None = self.api_url + path + (f"?{urlencode(query)}" if query else "")
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)
            response = self._send("GET", url, None)
            if not isinstance(response.data, list):
                got = type(response.data).__name__
                raise RollgateError(f"GitHub GET {self._shown(url)}: expected a list, got {got}")
            yield from response.data
            url = next_link(response.headers.get("link", ""))
            if url is not None and not url.startswith(self.api_url + "/"):
                raise RollgateError(f"GitHub GET {path}: the next page {url} is not under {self.api_url}; not followed")

    def _shown(self, url: str) -> str:
        """A URL as errors name it: the path (and query) under the API URL."""
        return url.removeprefix(self.api_url) or "/"

    def _send(self, method: str, url: str, body: Any) -> Response:
        data = None if body is None else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        } | ({"Content-Type": "application/json"} if data is not None else {})
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = f"GitHub {method} {self._shown(url)}"
        try:
            with urllib.request.build_opener(_NoRedirect).open(request, timeout=self.timeout_s) as answer:
                status, raw, names = answer.status, answer.read(), dict(answer.headers.items())
        except urllib.error.HTTPError as exc:
            raise RollgateError(f"{where}: HTTP {exc.code}: {self._message(exc.read(), exc.reason)}") from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeout
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise RollgateError(f"{where}: {reason or type(exc).__name__}") from None
        try:
            decoded = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise RollgateError(f"{where}: HTTP {status}: the answer is not JSON") from None
        return Response(status, decoded, {name.lower(): value for name, value in names.items()})

    def _message(self, raw: bytes, reason: object) -> str:
        """GitHub's `message` and a summary of its `errors` (the reason phrase when the body has none)."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return str(reason)
        details = [_detail(e) for e in body.get("errors") or () if isinstance(e, dict | str)]
        text = message + (f" ({'; '.join(details)})" if details else "")
        return text[:1000].replace(self.token, "***")


def _detail(error: Mapping[str, Any] | str) -> str:
    if isinstance(error, str):
        return error
    where = ".".join(str(error[k]) for k in ("resource", "field") if error.get(k))
    return str(error.get("message") or f"{where} {error.get('code', 'invalid')}".strip())


def next_link(header: str) -> str | None:
    """The `rel="next"` URL of a Link header, if it has one."""
    found = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Upserted:
    action: Literal["created", "updated"]
    id: int
    url: str  # the comment on github.com


def comment_body(body: str, marker: str, limit: int = COMMENT_LIMIT) -> str:
    """`body` with `marker` in it (prepended when absent), cut with a note to fit GitHub's limit."""
    text = body if marker in body else f"{marker}\n{body}"
    if len(text) <= limit:
        return text
    note = TRUNCATED.format(length=len(text), limit=limit)
    head = text[: limit - len(note)]
    if marker not in head:  # the marker was in the part cut off
        head = f"{marker}\n{text[: limit - len(note) - len(marker) - 1]}"
    line = head.rfind("\n")
    return (head[:line] if line > len(head) // 2 else head) + note


def sticky(comments: Iterable[Any], marker: str) -> dict[str, Any] | None:
    """The first comment holding `marker` written by a bot: a person quoting the marker is never it."""
    for comment in comments:
        if not isinstance(comment, dict):
            continue
        found: dict[str, Any] = comment
        user = found.get("user")
        if isinstance(user, dict) and user.get("type") == "Bot" and marker in str(found.get("body") or ""):
            return found
    return None


def upsert_comment(number: int, body: str, marker: str, client: Client | None = None) -> Upserted:
    """The sticky comment on issue or pull request `number`: the bot's comment holding `marker`, updated
    to `body`, or created when there is none."""
    if number < 1 or not marker:
        raise RollgateError(f"comment: a pull request number (got {number}) and a marker are needed")
    client = client or Client.from_env()
    text = comment_body(body, marker)
    found = sticky(client.pages(client.path(LIST_COMMENTS, issue_number=number), {"per_page": 100}), marker)
    if found is None:
        made = client.call(CREATE_COMMENT, body={"body": text}, issue_number=number).data
        return Upserted("created", int(made["id"]), str(made["html_url"]))
    done = client.call(UPDATE_COMMENT, body={"body": text}, comment_id=int(found["id"])).data
    return Upserted("updated", int(done["id"]), str(done["html_url"]))


@dataclass(frozen=True)
class Opened:
    """A pull request `open_pull` opened, or found open already for the same branch (or `update_pull` updated)."""

    action: Literal["opened", "found", "updated"]
    number: int
    url: str


def find_pull(head: str, base: str, client: Client | None = None) -> Opened | None:
    """The open pull request from branch `head` into `base`, if there is one."""
    client = client or Client.from_env()
    owner = client.repository.split("/")[0]
    query: dict[str, str | int] = {"head": f"{owner}:{head}", "base": base, "state": "open", "per_page": 100}
    for found in client.pages(client.path(LIST_PULLS), query):
        if isinstance(found, dict) and found.get("head", {}).get("ref") == head:
            return Opened("found", int(found["number"]), str(found["html_url"]))
    return None


def create_pull(head: str, base: str, title: str, body: str, client: Client | None = None) -> Opened:
    """Open a pull request from branch `head` into `base` (`body` cut to GitHub's limit)."""
    client = client or Client.from_env()
    made = client.call(
        CREATE_PULL, body={"title": title, "head": head, "base": base, "body": body[:COMMENT_LIMIT]}
    ).data
    return Opened("opened", int(made["number"]), str(made["html_url"]))


def update_pull(number: int, title: str, body: str, client: Client | None = None) -> Opened:
    """Replace the title and body of open pull request `number` (`body` cut to GitHub's limit)."""
    client = client or Client.from_env()
    done = client.call(UPDATE_PULL, body={"title": title, "body": body[:COMMENT_LIMIT]}, pull_number=number).data
    return Opened("updated", int(done["number"]), str(done["html_url"]))


def open_pull(head: str, base: str, title: str, body: str, client: Client | None = None) -> Opened:
    """The open pull request from branch `head` into `base`: found when one is open already (so a
    repeated event opens no second one), else opened with `title` and `body`."""
    client = client or Client.from_env()
    return find_pull(head, base, client) or create_pull(head, base, title, body, client)
