"""`rollgate pr revert`: an aborted rollout's event, checked, and the revert pull request of its cause
on real git and the GitHub API stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgate.ci import aborted
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from tests.helpers import Project, copy_project
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity

REPO = "acme/fraud-model"
TOKEN = "ghs_app_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)
CLUSTER = "rollgate-cluster[bot]"
DIGEST = "ab" * 32


def _event(tmp_path: Path, **change: object) -> Path:
    payload = {"env": "prod", "namespace": "fraud", "rollout": "fraud-detector", "revision": "abc",
               "model_sha256": DIGEST, "message": "canary analysis failed"}  # fmt: skip
    event: dict[str, object] = {"action": aborted.EVENT, "client_payload": payload, "sender": {"login": CLUSTER}}
    for key, value in change.items():
        if key in payload:
            payload[key] = value  # type: ignore[assignment]
        else:
            event[key] = value
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


BAD = {
    "another event": ({"action": "rollgate-rollout-succeeded"}, "not a rollgate-rollout-aborted"),
    "another sender": ({"sender": {"login": "mallory"}}, "sent by mallory, not by the cluster's App"),
    "no sender": ({"sender": None}, "sent by nobody"),
    "a sender that is no user": ({"sender": "rollgate-cluster[bot]"}, "sent by nobody"),
    "a missing field": ({"message": ""}, "client_payload lacks message"),
    "an unknown env": ({"env": "qa"}, "client_payload.env 'qa' is none of prod, staging"),
    "a bad digest": ({"model_sha256": "abc"}, "model_sha256 is not 64 hex digits"),
    "no payload": ({"client_payload": None}, "client_payload is missing"),
}


@pytest.mark.unit
@pytest.mark.parametrize(("change", "error"), BAD.values(), ids=BAD.keys())
def test_a_bad_event_is_refused_naming_why(tmp_path: Path, change: dict[str, object], error: str) -> None:
    with pytest.raises(RollgateError, match=error):
        aborted.read_event(_event(tmp_path, **change), CLUSTER, ["prod", "staging"])


@pytest.mark.unit
@pytest.mark.parametrize("text", ["[1, 2]", "not json", '"a string"'])
def test_an_event_that_is_no_object_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(text)
    with pytest.raises(RollgateError, match="event"):
        aborted.read_event(path, CLUSTER, ["prod"])


@pytest.mark.unit
def test_the_event_is_checked_against_a_configured_app(tmp_path: Path) -> None:
    with pytest.raises(RollgateError, match="ROLLGATE_CLUSTER_APP is not set"):
        aborted.read_event(_event(tmp_path), "", ["prod"])
    found = aborted.read_event(_event(tmp_path), CLUSTER, ["prod"])
    assert (found.env, found.model_sha256, found.sender) == ("prod", DIGEST, CLUSTER)


@pytest.fixture(scope="module")
def promoted(promoted_prod: Project) -> Project:
    return promoted_prod


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == []


@pytest.mark.integration
def test_the_revert_pr_of_the_promotion_is_opened_once(
    promoted: Project, api: GitHubAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = copy_project(promoted, tmp_path / "own")
    digest = json.loads((own.path / paths.release_record("prod")).read_text())["model"]["sha256"]
    promotion = own.git("rev-parse", "HEAD").stdout.strip()
    before = own.git("rev-parse", "HEAD~1:manifests/prod").stdout.strip()
    for name, value in {"GITHUB_API_URL": api.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}.items():
        monkeypatch.setenv(name, value)
    event = _event(tmp_path, model_sha256=digest)
    said = aborted.run(own.path, event, CLUSTER)
    assert said.startswith("opened #") and promotion[:12] in said
    branch = f"rollgate/revert-prod-{promotion[:12]}"
    origin = own.path.parent / "origin.git"
    assert own.run("git", "--git-dir", str(origin), "rev-parse", f"{branch}:manifests/prod").stdout.strip() == before
    made = [c for c in api.calls if c["operation"] == "pulls/create"]
    assert len(made) == 1 and made[0]["body"]["head"] == branch and "canary analysis failed" in made[0]["body"]["body"]
    # The same event again (a retried notification): the open pull request is found, none is added.
    own.git("checkout", "-q", "main")
    again = aborted.run(own.path, event, CLUSTER)
    assert again.startswith("found #")
    assert len([c for c in api.calls if c["operation"] == "pulls/create"]) == 1


@pytest.mark.integration
def test_a_digest_no_longer_live_opens_nothing(promoted: Project, api: GitHubAPI, tmp_path: Path) -> None:
    said = aborted.run(promoted.path, _event(tmp_path, model_sha256="cd" * 32), CLUSTER)
    assert "reverted already, nothing to open" in said
    assert api.calls == []
