"""The GitHub API client against the stand-in over HTTP (itself held to GitHub's OpenAPI description): the
sticky comment is created once and then updated, never a person's; pages are followed; errors name the
call, never the token. And the stand-in: it refuses what GitHub would and checks its own answers."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from rollgate.adapters import github
from rollgate.adapters.github import Client
from rollgate.contracts.errors import RollgateError
from rollgate.report.markdown import MARKER
from tests.helpers import ROOT
from tests.standins import Unavailable, events, npm_member, openapi, unavailable
from tests.standins.github_api import BOT, GitHubAPI, Identity, read_record

TOKEN = "ghs_standin0123456789abcdef"  # must never appear in an error
HUMAN, HUMAN_TOKEN = Identity("octocat", "User", 583231), "ghp_human0123456789"
REPO = "octo-org/rollgate-demo"
COMMENTS = f"/repos/{REPO}/issues/7/comments"


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    """The stand-in with pull request 7 open; every answer it gave must have passed its schema."""
    with GitHubAPI(openapi.operations(), REPO, {HUMAN_TOKEN: HUMAN}) as stand_in:
        stand_in.state.open_issue(7)
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


@pytest.fixture
def client(api: GitHubAPI) -> Client:
    return Client(api.url, TOKEN, REPO, timeout_s=10)


def send(api: GitHubAPI, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    """A raw request to the stand-in, as the bot; a header given as "" is left out (http.client adds none)."""
    sent = {"User-Agent": "rollgate-tests", "Authorization": f"Bearer {TOKEN}"} | headers
    connection = http.client.HTTPConnection(urlsplit(api.url).netloc, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, data, {k: v for k, v in sent.items() if v})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        connection.close()


@pytest.mark.integration
def test_the_first_call_creates_the_comment_with_the_marker(api: GitHubAPI, client: Client) -> None:
    done = github.upsert_comment(7, "## Report", MARKER, client)
    [comment] = api.state.on(7)
    assert (done.action, done.id, done.url) == ("created", comment["id"], comment["html_url"])
    assert comment["body"] == f"{MARKER}\n## Report"
    assert comment["user"]["login"] == BOT.login


@pytest.mark.integration
def test_the_second_call_updates_the_same_comment(api: GitHubAPI, client: Client) -> None:
    first = github.upsert_comment(7, f"{MARKER}\nfirst", MARKER, client)
    second = github.upsert_comment(7, f"{MARKER}\nsecond", MARKER, client)
    assert (second.action, second.id) == ("updated", first.id)
    assert [c["body"] for c in api.state.on(7)] == [f"{MARKER}\nsecond"]


@pytest.mark.integration
def test_a_person_quoting_the_marker_is_left_alone(api: GitHubAPI, client: Client) -> None:
    quoted = f"> {MARKER}\n> why is this failing?"
    send(api, "POST", COMMENTS, {"body": quoted}, Authorization=f"token {HUMAN_TOKEN}")
    done = github.upsert_comment(7, "report", MARKER, client)
    person, bot = api.state.on(7)
    assert (person["user"]["login"], person["body"]) == (HUMAN.login, quoted)
    assert (done.action, done.id, bot["user"]["type"]) == ("created", bot["id"], "Bot")


@pytest.mark.integration
def test_the_sticky_comment_is_found_on_the_second_page(api: GitHubAPI, client: Client) -> None:
    for i in range(100):
        api.state.add_comment(7, f"comment {i} {MARKER}" if i % 10 == 0 else f"comment {i}", HUMAN)
    sticky = api.state.add_comment(7, f"{MARKER}\nold report", BOT)
    for i in range(30):
        api.state.add_comment(7, f"later {i}", HUMAN)
    done = github.upsert_comment(7, "new report", MARKER, client)
    assert (done.action, done.id) == ("updated", sticky["id"])
    assert len(api.state.on(7)) == 131
    pages = [c["query"] for c in api.calls if c["method"] == "GET"]
    assert pages == [{"per_page": "100"}, {"per_page": "100", "page": "2"}]


@pytest.mark.integration
def test_the_environment_names_the_api_the_token_and_the_repository(
    api: GitHubAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", api.url + "/")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GH_TOKEN", HUMAN_TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    done = github.upsert_comment(7, "report", MARKER)
    assert done.action == "created"
    assert api.state.on(7)[0]["user"]["login"] == HUMAN.login  # GH_TOKEN's identity
    assert [(c["api_version"], c["accept"]) for c in api.calls] == [("2022-11-28", "application/vnd.github+json")] * 2


@pytest.mark.unit
@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"GITHUB_REPOSITORY": REPO}, "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": REPO}, "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": TOKEN}, "GITHUB_REPOSITORY is not set"),
        ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "just-a-name"}, "GITHUB_REPOSITORY is 'just-a-name'"),
        ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": "http://ghe.example"}, "GITHUB_API_URL"),
    ],
)
def test_a_missing_or_malformed_variable_is_named(env: dict[str, str], names: str) -> None:
    with pytest.raises(RollgateError, match=names) as caught:
        Client.from_env(env)
    assert TOKEN not in str(caught.value)


@pytest.mark.unit
def test_the_defaults_are_github_com_and_github_token_first() -> None:
    found = Client.from_env({"GITHUB_TOKEN": TOKEN, "GH_TOKEN": "other", "GITHUB_REPOSITORY": REPO})
    assert (found.api_url, found.token, found.repository) == ("https://api.github.com", TOKEN, REPO)
    assert TOKEN not in repr(found)


@pytest.mark.integration
def test_a_missing_pull_request_is_an_error_naming_status_path_and_message(client: Client) -> None:
    with pytest.raises(RollgateError) as caught:
        github.upsert_comment(999, "report", MARKER, client)
    message = str(caught.value)
    assert f"GET /repos/{REPO}/issues/999/comments" in message
    assert "HTTP 404: Not Found" in message
    assert TOKEN not in message


@pytest.mark.integration
def test_a_refused_body_is_an_error_naming_github_s_message(client: Client) -> None:
    with pytest.raises(RollgateError, match=r"POST /repos/.+/issues/7/comments: HTTP 422: Invalid request") as caught:
        client.call(github.CREATE_COMMENT, body={"text": "no body"}, issue_number=7)
    assert "'body' is a required property" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.integration
def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # listens, never accepts: the request waits for an answer
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        stuck = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", TOKEN, REPO, timeout_s=0.2)
        with pytest.raises(RollgateError, match=r"GitHub GET /repos/.+/comments\?per_page=100: .*timed out"):
            github.upsert_comment(7, "report", MARKER, stuck)


@pytest.mark.integration
def test_a_long_report_is_cut_to_github_s_limit_with_a_note(api: GitHubAPI, client: Client) -> None:
    github.upsert_comment(7, "| row |\n" * 10_000, MARKER, client)
    [comment] = api.state.on(7)
    assert len(comment["body"]) <= github.COMMENT_LIMIT
    assert comment["body"].startswith(MARKER)
    assert comment["body"].endswith("GitHub allows 65,536 in a comment; the rest is cut off.")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("body", "starts"),
    [
        ("x" * 70_000, MARKER),  # no marker: prepended
        (f"{MARKER}\n" + "x" * 70_000, MARKER),  # the marker first: kept once
        ("x" * 70_000 + MARKER, MARKER),  # the marker only in the part cut off: put first
    ],
)
def test_comment_body_keeps_one_marker_within_the_limit(body: str, starts: str) -> None:
    text = github.comment_body(body, MARKER)
    assert len(text) <= github.COMMENT_LIMIT
    assert text.startswith(starts)
    assert text.count(MARKER) == 1
    assert "**Truncated:**" in text


@pytest.mark.unit
def test_next_link_reads_github_s_link_header() -> None:
    header = '<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"'
    assert github.next_link(header) == "https://api.github.com/x?page=3"
    assert github.next_link('<https://api.github.com/x?page=1>; rel="first"') is None


@pytest.mark.integration
@pytest.mark.parametrize(
    ("sent", "status", "says"),
    [
        (("POST", COMMENTS, {"text": "no body"}, {}), 422, "'body' is a required property"),
        (("POST", COMMENTS, {"body": 5}, {}), 422, "5 is not of type 'string'"),
        (("POST", COMMENTS, {"body": "x"}, {"Authorization": ""}), 401, "Requires authentication"),
        (("POST", COMMENTS, {"body": "x"}, {"Authorization": "Basic abc"}), 401, "Bad credentials"),
        (("POST", COMMENTS, {"body": "x"}, {"User-Agent": ""}), 403, "User-Agent"),
        (("POST", COMMENTS, {"body": "x"}, {"X-GitHub-Api-Version": "2099-01-01"}), 400, "Unsupported"),
        (("GET", f"{COMMENTS}?per_page=10&sort=id", None, {}), 422, "sort is not a query parameter"),
        (("GET", f"/repos/{REPO}/issues/seven/comments", None, {}), 404, "Not Found"),
        (("GET", "/repos/someone/else/issues/7/comments", None, {}), 404, "Not Found"),
        (("DELETE", f"/repos/{REPO}/issues/comments/1", None, {}), 404, "Not Found"),
        (("POST", f"/repos/{REPO}/dispatches", {"client_payload": {}}, {}), 422, "'event_type' is a required"),
    ],
)
def test_the_stand_in_refuses_what_github_would(
    api: GitHubAPI, sent: tuple[str, str, Any, dict[str, str]], status: int, says: str
) -> None:
    method, path, body, headers = sent
    code, answer = send(api, method, path, body, **headers)
    assert (code, says in json.dumps(answer)) == (status, True), answer
    assert api.state.comments == {}
    assert api.calls[-1]["status"] == status


@pytest.mark.integration
def test_a_session_of_every_operation_passes_every_response_schema(api: GitHubAPI) -> None:
    pulls = f"/repos/{REPO}/pulls"
    assert send(api, "POST", pulls, {"title": "t", "head": "rollgate/x", "base": "main"})[0] == 201
    code, answer = send(api, "POST", pulls, {"title": "t", "head": "octo-org:rollgate/x", "base": "main"})
    assert (code, answer["errors"][0]["message"]) == (422, "A pull request already exists for octo-org:rollgate/x.")
    assert [p["head"]["ref"] for p in send(api, "GET", f"{pulls}?head=octo-org:rollgate/x")[1]] == ["rollgate/x"]
    dispatch = {"event_type": "promote", "client_payload": {"env": "prod"}}
    assert send(api, "POST", f"/repos/{REPO}/dispatches", dispatch)[0] == 204
    for i in range(3):
        send(api, "POST", COMMENTS, {"body": f"c{i}"})
    code, page = send(api, "GET", f"{COMMENTS}?per_page=2&page=2")
    assert (code, [c["body"] for c in page]) == (200, ["c2"])
    assert send(api, "PATCH", f"/repos/{REPO}/issues/comments/{page[0]['id']}", {"body": "edited"})[0] == 200
    assert api.state.dispatches == [dispatch]
    assert [c["problems"] for c in api.calls] == [[]] * len(api.calls)


@pytest.mark.integration
def test_an_answer_breaking_its_schema_is_a_500_and_a_failure(api: GitHubAPI) -> None:
    api.state.add_comment(7, "fine", BOT)
    next(iter(api.state.comments.values())).pop("node_id")  # the stand-in's bug: a required field gone
    code, answer = send(api, "GET", COMMENTS)
    assert (code, "'node_id' is a required property" in answer["message"]) == (500, True)
    assert [f["operation"] for f in api.failures] == ["issues/list-comments"]
    api.failures.clear()  # seen: the fixture's check is for unexpected ones


@pytest.mark.unit
def test_every_route_the_client_calls_is_in_the_extracted_description() -> None:
    described = openapi.operations()
    declared = [value for value in vars(github).values() if isinstance(value, github.Route)]
    assert set(declared) == set(github.ROUTES)
    for route in github.ROUTES:
        assert (route.method, route.template) in openapi.OPERATIONS
        filled = route.fill(owner="o", repo="r", issue_number=1, comment_id=2, pull_number=3)
        found = described.route(route.method, filled)
        assert found is not None and found[0].template == route.template


@pytest.mark.integration
def test_rollgate_pr_comment_posts_then_updates(api: GitHubAPI, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/pr.md").write_text("## rollgate\n\nno change\n", encoding="utf-8")
    env = os.environ | {"GITHUB_API_URL": api.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}
    env["PYTHONPATH"] = str(ROOT / "src")  # as `make pr-comment` runs it: from source, -S: no site-packages
    argv = [sys.executable, "-S", "-m", "rollgate", "--root", str(tmp_path), "pr", "comment", "--number", "7"]
    runs = [
        subprocess.run([*argv, "--file", "reports/pr.md"], env=env, capture_output=True, text=True, check=False)
        for _ in range(2)
    ]
    [comment] = api.state.on(7)
    assert [(r.returncode, r.stdout) for r in runs] == [
        (0, f"created {comment['html_url']}\n"),
        (0, f"updated {comment['html_url']}\n"),
    ]
    assert comment["body"] == f"{MARKER}\n## rollgate\n\nno change\n"
    missing = subprocess.run([*argv, "--file", "nope.md"], env=env, capture_output=True, text=True, check=False)
    assert (missing.returncode, missing.stderr) == (1, "rollgate pr: error: nope.md: no such file "
                                                      "(write it with `rollgate report --out nope.md`)\n")  # fmt: skip


@pytest.mark.integration
def test_the_stand_in_runs_in_another_process_and_records_every_call(tmp_path: Path) -> None:
    openapi.operations()  # fetched and cached here (or skipped) before the process needs it
    port_file, record = tmp_path / "port", tmp_path / "calls.jsonl"
    argv = ["--port-file", str(port_file), "--record", str(record), "--issue", "7", "--repository", REPO]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.standins.github_api", *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port_file.read_text().strip()}"
        done = github.upsert_comment(7, "report", MARKER, Client(url, TOKEN, REPO, timeout_s=10))
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
    calls = list(read_record(record))
    assert [(c["operation"], c["status"], c["user"], c["problems"]) for c in calls] == [
        ("issues/list-comments", 200, BOT.login, []),
        ("issues/create-comment", 201, BOT.login, []),
    ]
    assert calls[1]["body"] == {"body": f"{MARKER}\nreport"} and done.action == "created"
    assert TOKEN not in record.read_text()


@pytest.mark.unit
@pytest.mark.parametrize("fork", [False, True])
def test_a_pull_request_event_from_github_s_example(fork: bool) -> None:
    shas = {"base_sha": "b" * 40, "head_sha": "h" * 40}
    event = events.pull_request_event(
        "synchronize", 7, base_ref="main", head_ref="rollgate/x", repo_full_name=REPO, fork=fork, **shas
    )
    pull = event["pull_request"]
    assert (event["action"], event["number"], pull["number"], event["after"]) == ("synchronize", 7, 7, "h" * 40)
    assert (event["repository"]["full_name"], pull["base"]["repo"]["full_name"]) == (REPO, REPO)
    assert (pull["base"]["ref"], pull["base"]["sha"], pull["head"]["ref"], pull["head"]["sha"]) == (
        "main", "b" * 40, "rollgate/x", "h" * 40,
    )  # fmt: skip
    head = pull["head"]["repo"]
    expected = f"{events.FORK_OWNER}/rollgate-demo" if fork else REPO
    assert (head["full_name"], head["fork"], pull["head"]["label"].split(":")[0]) == (
        expected, fork, expected.split("/")[0],
    )  # fmt: skip
    assert pull["url"].endswith(f"/{REPO}/pulls/7")
    assert "Hello-World" not in json.dumps(event["repository"])


@pytest.mark.unit
def test_without_npm_the_description_is_unavailable_skipped_here_and_failed_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(Unavailable, match=r"npm is not installed \(needed once to fetch @octokit/openapi@") as caught:
        npm_member(openapi.PACKAGE, openapi.VERSION, openapi.MEMBER)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm is not installed"):
        unavailable(str(caught.value))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="npm is not installed"):
        unavailable(str(caught.value))
