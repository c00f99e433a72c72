"""The monitor workflow's decision and suppressions (pure tables), and its pull requests on real git, DVC and
the GitHub API stand-in: one per (environment, cause, model digest), refused whole on bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from rollgate.ci import monitor_decide, monitor_judge, monitor_models, monitor_pr, monitor_suppress
from rollgate.ci.monitor_collect import WORK
from rollgate.ci.monitor_decide import RETRAIN, REVERT, Evidence, Key, Paired, decide
from rollgate.ci.monitor_suppress import Suppression
from rollgate.contracts import paths, release
from rollgate.contracts.errors import ContractError
from rollgate.data.example import generate
from tests.helpers import Project, copy_project
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity

REPO = "acme/fraud-model"
TOKEN = "ghs_app_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)
A, B = "a" * 64, "b" * 64
TODAY = date(2026, 3, 1)
ENVS = ["prod", "staging"]
DRIFT = ("2026-W06 drift: amount: ks_d 0.11",)
WORSE = ("rows-0000 paired: roc_auc: auc_drop 0.18",)


def _hold(cause: str, sha256: str | None = None, env: str = "prod") -> Suppression:
    return Suppression(env, cause, sha256, TODAY, "a known feed migration", 0)


# (retrain alarms, paired comparison, suppressions) -> the cause opened (None: no pull request)
DECISIONS = {
    "a quiet week": ((), Paired(80), (), None),
    "a drifted week": (DRIFT, Paired(0, why_not="no previous model"), (), RETRAIN),
    "a degraded champion": ((), Paired(80, WORSE), (), REVERT),
    "worse, and the world moved too: the revert comes first": (DRIFT, Paired(80, WORSE), (), REVERT),
    "both degraded alike: retrain, reverting would not help": (DRIFT, Paired(80), (), RETRAIN),
    "worse on too few pooled positives: not judged": ((), Paired(29, WORSE), (), None),
    "worse on too few pooled positives, drifted: retrain": (DRIFT, Paired(29, WORSE), (), RETRAIN),
    "a suppressed retrain": (DRIFT, Paired(80), (_hold(RETRAIN),), None),
    "a retrain suppressed for this model": (DRIFT, Paired(80), (_hold(RETRAIN, A),), None),
    "a retrain suppressed for another model": (DRIFT, Paired(80), (_hold(RETRAIN, B),), RETRAIN),
    "a retrain suppressed in another env": (DRIFT, Paired(80), (_hold(RETRAIN, env="staging"),), RETRAIN),
    "a suppressed revert falls to the retrain": (DRIFT, Paired(80, WORSE), (_hold(REVERT),), RETRAIN),
    "both suppressed": (DRIFT, Paired(80, WORSE), (_hold(REVERT), _hold(RETRAIN)), None),
}


@pytest.mark.unit
@pytest.mark.parametrize(("retrain", "paired", "held", "cause"), DECISIONS.values(), ids=DECISIONS.keys())
def test_the_decision(
    retrain: tuple[str, ...], paired: Paired, held: tuple[Suppression, ...], cause: str | None
) -> None:
    decision = decide(Evidence("prod", A, retrain, paired), held)
    assert (decision.key.cause if decision.key else None) == cause
    if decision.key is not None:
        assert decision.key == Key("prod", cause, A)
        assert decision.reasons == (WORSE if cause == REVERT else DRIFT)
    passed_over = {c for c, _ in decision.suppressed}
    assert passed_over <= {RETRAIN, REVERT}
    assert ("suppressed by configs/monitor/suppressions.yaml" in decision.summary()) == bool(passed_over)


@pytest.mark.unit
def test_the_paired_note_says_why_it_counted_or_not() -> None:
    assert "fewer than the 30 needed" in Paired(29, WORSE).note()
    assert Paired(0, why_not="no previous model").note() == "revert not judged: no previous model"
    assert Paired(30, WORSE).note().endswith("the deployed model is worse")
    assert Paired(0).minimum == monitor_decide.MIN_POOLED_POSITIVES


@pytest.mark.unit
def test_one_branch_per_environment_cause_and_model() -> None:
    assert Key("prod", RETRAIN, A).branch == f"rollgate/monitor-prod-retrain-{A[:12]}"
    keys = {Key(env, cause, sha) for env in ENVS for cause in (RETRAIN, REVERT) for sha in (A, B)}
    assert len({k.branch for k in keys}) == len(keys) == 8
    again = decide(Evidence("prod", A, (*DRIFT, "another alarm"), Paired(80)), ())
    assert again.key == decide(Evidence("prod", A, DRIFT, Paired(80)), ()).key  # a later run: the same PR
    assert again.key is not None and f"sha256={A}" in again.key.marker


def _entry(**change: object) -> dict[str, object]:
    entry: dict[str, object] = {"env": "prod", "cause": "retrain", "expires": TODAY, "reason": "feed migration"}
    return {k: v for k, v in (entry | change).items() if v is not None}


BAD = {
    "an unknown key": ({"until": "2026-12-31"}, r"suppressions\.0\.until: unknown key"),
    "an unknown cause": ({"cause": "rollback"}, r"suppressions\.0\.cause: Input should be 'retrain' or 'revert'"),
    "an unknown env": ({"env": "qa"}, r"suppressions\[0\] \(qa retrain\): env 'qa' is none of prod, staging"),
    "a past expiry": (
        {"expires": TODAY - timedelta(days=1)},
        r"suppressions\[0\] \(prod retrain\) expired on 2026-02-28",
    ),
    "a short digest": ({"sha256": "abc"}, r"suppressions\.0\.sha256"),
    "no reason": ({"reason": None}, r"suppressions\.0\.reason: Field required"),
    "no expiry": ({"expires": None}, r"suppressions\.0\.expires: Field required"),
    "a date that is none": ({"expires": "soon"}, r"suppressions\.0\.expires"),
}


@pytest.mark.unit
@pytest.mark.parametrize(("change", "error"), BAD.values(), ids=BAD.keys())
def test_a_bad_suppression_is_an_error_naming_the_file_and_entry(change: dict[str, object], error: str) -> None:
    raw = {"suppressions": [_entry(env="staging", cause="revert"), _entry(**change)]}
    wanted = error.replace(r"suppressions\.0", r"suppressions\.1").replace(r"suppressions\[0\]", r"suppressions\[1\]")
    with pytest.raises(ContractError, match=rf"^configs/monitor/suppressions\.yaml: (.|\n)*{wanted}"):
        monitor_suppress.parse(raw, "configs/monitor/suppressions.yaml", ENVS, TODAY)


@pytest.mark.unit
@pytest.mark.parametrize("text", ["- a list\n", "suppressions: 3\n", "other: []\n", "suppressions: [\n"])
def test_a_file_that_is_no_suppression_list_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "configs/monitor").mkdir(parents=True)
    (tmp_path / monitor_suppress.SUPPRESSIONS).write_text(text)
    with pytest.raises(ContractError, match=r"^configs/monitor/suppressions\.yaml: "):
        monitor_suppress.load(tmp_path, ENVS, TODAY)


@pytest.mark.unit
def test_suppressions_are_read_with_their_place_and_held_until_their_last_day(tmp_path: Path) -> None:
    assert monitor_suppress.load(tmp_path, ENVS, TODAY) == ()  # no file: nothing suppressed
    (tmp_path / "configs/monitor").mkdir(parents=True)
    raw = {"suppressions": [_entry(cause="revert", sha256=B), _entry(expires="2026-03-01")]}
    (tmp_path / monitor_suppress.SUPPRESSIONS).write_text(yaml.safe_dump(raw))
    held = monitor_suppress.load(tmp_path, ENVS, TODAY)
    assert [(s.cause, s.sha256, s.expires, s.entry) for s in held] == [
        ("revert", B, TODAY, 0),
        ("retrain", None, TODAY, 1),
    ]
    assert monitor_suppress.matching(held, "prod", "revert", A) is None
    assert monitor_suppress.matching(held, "prod", "revert", B) == held[0]
    assert "suppressions[1] (prod retrain until 2026-03-01: feed migration)" in held[1].describe()


@pytest.mark.unit
def test_the_shipped_file_suppresses_nothing() -> None:
    from tests.helpers import ROOT

    assert monitor_suppress.load(ROOT, paths.environments(ROOT), date.today()) == ()


# -- the pull requests, on real git, DVC and the API stand-in ------------------------------------------------


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == []


def _origin_refs(project: Project) -> str:
    return project.run("git", "--git-dir", str(project.path.parent / "origin.git"), "for-each-ref").stdout


def _judged(project: Project, shift: str) -> str:
    """What `monitor collect` and `judge` leave for a drifted window: two matured weeks and the evidence."""
    digest = json.loads((project.path / paths.release_record("prod")).read_text())["model"]["sha256"]
    work = project.path / WORK
    shutil.rmtree(work, ignore_errors=True)
    weekly = generate.GenerateOptions(weeks=2, start_week=4, shift=shift, rows_per_week=500)  # type: ignore[arg-type]
    written = generate.write(work / "rows", weekly)
    (work / "report").mkdir(parents=True)
    (work / "report/report.md").write_text(f"## Monitor: alarm — retrain ({shift})\n")
    (work / "report/report.json").write_text("{}")
    doc = {"env": "prod", "model_sha256": digest, "matured": [p.name for p in written], "retrain": list(DRIFT),
           "paired": {"positives": 0, "why_not": "no earlier live promotion"}}  # fmt: skip
    (work / "judge.json").write_text(json.dumps(doc))
    return digest


@pytest.mark.integration
def test_a_retraining_pr_is_opened_once_then_updated(
    promoted_prod: Project, api: GitHubAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = copy_project(promoted_prod, tmp_path / "own")
    for name, value in {"GITHUB_API_URL": api.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}.items():
        monkeypatch.setenv(name, value)
    digest = _judged(own, "amount_inflation")
    said = monitor_pr.pr(own.path, "prod")
    branch = f"rollgate/monitor-prod-retrain-{digest[:12]}"
    assert "retrain pull request" in said and "opened #1 " in said and branch in said
    origin = ["git", "--git-dir", str(own.path.parent / "origin.git")]
    assert own.run(*origin, "diff", "--name-only", "main", branch).stdout.split() == ["data.dvc"]
    assert own.git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "main"  # left where it was
    assert (own.path / "build/monitor-judged/report.json").is_file()  # the next run's --judged
    # A later run, the world moved on: the same branch gets a commit, the same pull request a new body.
    _judged(own, "online_surge")
    again = monitor_pr.pr(own.path, "prod")
    assert "updated #1 " in again
    assert own.run(*origin, "rev-list", "--count", f"main..{branch}").stdout.strip() == "2"
    creates = [c for c in api.calls if c["operation"] == "pulls/create"]
    updates = [c for c in api.calls if c["operation"] == "pulls/update"]
    assert len(creates) == len(updates) == 1 and creates[0]["user"] == updates[0]["user"] == APP.login
    assert "(online_surge)" in updates[0]["body"]["body"] and f"sha256={digest}" in updates[0]["body"]["body"]
    assert api.state.issues[1]["body"] == updates[0]["body"]["body"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("suppressions: [{env: prod, cause: rollback, expires: 2099-01-01, reason: x}]", "suppressions.0.cause"),
        ("suppressions: [{env: prod, cause: retrain, expires: 2020-01-01, reason: x}]", "expired on 2020-01-01"),
    ],
    ids=["an unknown cause", "a past expiry"],
)
def test_a_bad_suppression_file_opens_nothing_and_pushes_nothing(
    promoted_prod: Project, api: GitHubAPI, tmp_path: Path, text: str, error: str
) -> None:
    own = copy_project(promoted_prod, tmp_path / "own")
    _judged(own, "amount_inflation")
    (own.path / "configs/monitor").mkdir(parents=True, exist_ok=True)
    (own.path / monitor_suppress.SUPPRESSIONS).write_text(text + "\n")
    refs, head = _origin_refs(own), own.git("rev-parse", "HEAD").stdout
    app = Project(own.path, own.env | {"GITHUB_API_URL": api.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO})
    done = app.rollgate("monitor", "pr", "--env", "prod", check=False)
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.startswith("rollgate monitor pr: error: configs/monitor/suppressions.yaml") and error in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert api.calls == [] and _origin_refs(own) == refs and own.git("rev-parse", "HEAD").stdout == head
    assert not (own.path / "build/monitor-judged").exists()


@pytest.mark.integration
@pytest.mark.parametrize("step", ["collect", "judge", "pr"])
def test_a_shallow_clone_is_refused_before_anything(promoted_prod: Project, tmp_path: Path, step: str) -> None:
    promoted = promoted_prod
    shallow = tmp_path / "shallow"
    promoted.run("git", "clone", "-q", "--depth", "1", f"file://{promoted.path.parent / 'origin.git'}", str(shallow))
    done = Project(shallow, promoted.env).rollgate("monitor", step, "--env", "prod", check=False)
    assert done.returncode == 2
    assert f"rollgate monitor {step}: error: " in done.stderr and "is a shallow clone" in done.stderr
    assert not (shallow / "build").exists()


@pytest.mark.unit
def test_evidence_of_another_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / WORK).mkdir(parents=True)
    (tmp_path / WORK / "judge.json").write_text(json.dumps({"env": "staging", "model_sha256": A}))
    with pytest.raises(ContractError, match="judged 'staging', not 'prod'"):
        monitor_pr.evidence(tmp_path, "prod")
    with pytest.raises(ContractError, match="run `make monitor-judge` first"):
        monitor_pr.evidence(tmp_path / "nowhere", "prod")


@pytest.mark.integration
def test_the_baseline_is_the_one_the_release_record_pins_or_none(promoted_prod: Project, tmp_path: Path) -> None:
    record = release.read(promoted_prod.path / paths.release_record("prod"))
    assert record is not None and record.baseline is not None
    fetched = monitor_models.write_baseline(promoted_prod.path, record, tmp_path / "baseline.json")
    assert json.loads(fetched.read_text())["model_sha256"] == record.model.sha256
    with pytest.raises(ContractError, match=r"manifests/prod/release.json: no baseline"):
        monitor_models.write_baseline(promoted_prod.path, dataclasses.replace(record, baseline=None), tmp_path / "b")
    other = dataclasses.replace(record, baseline=dataclasses.replace(record.baseline, sha256="0" * 64))
    with pytest.raises(ContractError, match=r"not the baseline manifests/prod/release.json pins"):
        monitor_models.write_baseline(promoted_prod.path, other, tmp_path / "c")
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


@pytest.mark.unit
def test_the_weeks_compared_before_count_for_the_same_deployed_model_only(tmp_path: Path) -> None:
    assert monitor_judge.compared_before(tmp_path, "ab" * 32) == []
    path = tmp_path / monitor_judge.JUDGED_EVIDENCE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model_sha256": "ab" * 32, "compared": ["2026-02-02.parquet"]}))
    assert monitor_judge.compared_before(tmp_path, "ab" * 32) == ["2026-02-02.parquet"]
    assert monitor_judge.compared_before(tmp_path, "cd" * 32) == []  # another model: its own comparisons
