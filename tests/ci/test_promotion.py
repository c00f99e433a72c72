"""`rollgate promotion plan|event|settle` and the wait for a rollout, on small real git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from rollgate.ci import promotion
from rollgate.contracts import jsonio, paths
from rollgate.contracts.errors import RollgateError
from tests.trust_repo import BOT, V1, V2, Repo, record

pytestmark = pytest.mark.unit

CLUSTER = "rollgate-cluster[bot]"
PIPELINE = {"stages": {"train": {"cmd": "true", "deps": ["data.csv"], "params": ["gate", "train"], "outs": ["m.bin"]}}}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A repository with a one-stage DVC pipeline reading data.csv and params.yaml's gate and train."""
    found = Repo(tmp_path)
    subprocess.run(["dvc", "init", "-q"], cwd=found.path, check=True, env=found.env)
    found.write("dvc.yaml", yaml.safe_dump(PIPELINE))
    found.write("params.yaml", yaml.safe_dump({"gate": {"margin": 0.01}, "train": {"depth": 3}}))
    found.write("data.csv", "a,b\n1,2\n")
    found.commit("the pipeline")
    return found


def _params(repo: Repo, section: str, key: str, value: object) -> None:
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    params[section][key] = value
    repo.write("params.yaml", yaml.safe_dump(params))


def test_a_push_of_only_promotion_commits_never_promotes_again(repo: Repo) -> None:
    before = repo.git("rev-parse", "HEAD")
    repo.promote(V1, "staging")
    found = promotion.plan(repo.path, before)
    assert not found.promote and "loop guard" in found.why


@pytest.mark.parametrize(
    ("change", "promotes", "review"),
    [
        (lambda r: r.write("data.csv", "a,b\n1,3\n"), True, False),
        (lambda r: _params(r, "train", "depth", 4), True, False),
        (lambda r: _params(r, "gate", "margin", 0.0), True, True),  # the gate policy itself changed
        (lambda r: r.write("docs/notes.md", "words\n"), False, False),
    ],
    ids=["data", "train params", "gate policy", "docs"],
)
def test_the_plan_promotes_pipeline_changes_and_asks_review_for_the_gate(
    repo: Repo, change: object, promotes: bool, review: bool
) -> None:
    before = repo.git("rev-parse", "HEAD")
    change(repo)  # type: ignore[operator]
    repo.commit("a merge")
    found = promotion.plan(repo.path, before)
    assert (found.promote, found.review) == (promotes, review), found
    if review:
        assert found.judge_changes == ("params.yaml: gate",)


def test_a_merge_changing_the_gate_code_needs_review(repo: Repo) -> None:
    before = repo.git("rev-parse", "HEAD")
    repo.write("src/rollgate/gate/decide.py", "# reworded\n")
    repo.write("data.csv", "a,b\n5,6\n")
    repo.commit("a merge")
    found = promotion.plan(repo.path, before)
    assert found.promote and found.review and "src/rollgate/gate/decide.py" in found.judge_changes


def test_a_revert_of_a_promotion_is_the_rollback_itself(repo: Repo) -> None:
    promoted = repo.promote(V1, "prod")
    before = repo.git("rev-parse", "HEAD")
    repo.revert(promoted)
    found = promotion.plan(repo.path, before)
    assert not found.promote and found.why.startswith("revert")


def test_a_forbidden_change_on_main_and_a_missing_base_are_errors(repo: Repo) -> None:
    with pytest.raises(RollgateError, match="no base commit"):
        promotion.plan(repo.path, "0" * 40)
    before = repo.git("rev-parse", "HEAD")
    repo.write("manifests/prod/app-rollout.yaml", "hand edit\n")
    repo.commit("edit prod by hand")
    with pytest.raises(RollgateError, match="forbidden change"):
        promotion.plan(repo.path, before)


def _event(tmp_path: Path, revision: str, digest: str | None, sender: str = CLUSTER) -> Path:
    payload: dict[str, object] = {"env": "staging", "revision": revision}
    if digest is not None:
        payload["model_sha256"] = digest
    event = {"action": promotion.SUCCEEDED, "client_payload": payload, "sender": {"login": sender}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


def test_the_succeeded_event_must_name_what_the_environment_pins(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    promoted = repo.promote(V1, "staging")
    said = promotion.event(repo.path, _event(tmp_path, promoted, V1), CLUSTER)
    assert "staging is synced and healthy" in said
    assert f"sha256={V1}" in capsys.readouterr().out
    assert V1[:12] in promotion.event(repo.path, _event(tmp_path, promoted, ""), CLUSTER)  # no trailer: the pin
    with pytest.raises(RollgateError, match="not by the cluster's App"):
        promotion.event(repo.path, _event(tmp_path, promoted, V1, "octocat"), CLUSTER)
    with pytest.raises(RollgateError, match="not the reported"):
        promotion.event(repo.path, _event(tmp_path, promoted, V2), CLUSTER)
    with pytest.raises(RollgateError, match="64 hex"):
        promotion.event(repo.path, _event(tmp_path, promoted, "abc"), CLUSTER)


def test_a_revision_off_main_is_refused(repo: Repo, tmp_path: Path) -> None:
    repo.git("checkout", "-q", "-b", "elsewhere")
    jsonio.write(repo.path / paths.release_record("staging"), record("staging", V1))
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "not on main", who=BOT)
    off = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    with pytest.raises(RollgateError, match="not on main"):
        promotion.event(repo.path, _event(tmp_path, off, V1), CLUSTER)


def test_a_promotion_waits_while_a_rollout_is_in_progress(repo: Repo) -> None:
    assert promotion.wait(repo.path, "staging", 0) == "no rollout of staging in progress"  # nothing reported yet
    first = repo.promote(V1, "staging")
    assert "settled at" in promotion.settle(repo.path, "staging", first)
    assert "already" in promotion.settle(repo.path, "staging", "HEAD~1")  # never backwards
    second = repo.promote(V2, "staging")
    slept: list[float] = []
    with pytest.raises(RollgateError, match=f"in progress \\({second[:12]}"):
        promotion.wait(repo.path, "staging", 0.0, sleep=slept.append)
    assert promotion.wait(repo.path, "prod", 0) == "no rollout of prod in progress"  # another environment
    promotion.settle(repo.path, "staging")
    assert promotion.wait(repo.path, "staging", 0) == "no rollout of staging in progress"
