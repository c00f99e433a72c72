"""`rollgate pr summary`, the one required check: passes when every job of the run passed or was skipped,
fails naming each job otherwise, over the shapes GitHub's `toJSON(needs)` gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollgate import cli
from rollgate.ci import runner, summary
from rollgate.contracts.errors import RollgateError

pytestmark = pytest.mark.unit


def _job(result: str, **outputs: str) -> dict[str, object]:
    """One job as `toJSON(needs)` shows it: its result and its outputs."""
    return {"result": result, "outputs": outputs}


RUNS = {
    "all passed": (
        {"classify": _job("success", kind="pipeline"), "gate": _job("success"), "comment": _job("success")},
        True,
    ),
    "passed or skipped by design": ({"classify": _job("success", kind="none"), "gate": _job("skipped")}, True),
    "a failure": ({"classify": _job("success", kind="pipeline"), "gate": _job("failure")}, False),
    "a cancellation": ({"classify": _job("success", kind="pipeline"), "gate": _job("cancelled")}, False),
    "a failure beside a skip": ({"classify": _job("failure"), "gate": _job("skipped")}, False),
}


@pytest.mark.parametrize(("needs", "ok"), RUNS.values(), ids=RUNS.keys())
def test_judge(needs: dict[str, dict[str, object]], ok: bool) -> None:
    passed, lines = summary.judge(needs)
    assert passed is ok
    assert lines == [f"- `{job}`: {about['result']}" for job, about in needs.items()]


BAD = {
    "no jobs": ({}, "NEEDS: no job results"),
    "no result": ({"classify": _job("success"), "gate": {"outputs": {}}}, "NEEDS: job 'gate' has no result"),
    "a null result": ({"gate": {"result": None, "outputs": {}}}, "NEEDS: job 'gate' has no result"),
    "not an object": ({"gate": "success"}, "NEEDS: job 'gate' has no result"),
}


@pytest.mark.parametrize(("needs", "error"), BAD.values(), ids=BAD.keys())
def test_judge_refuses_what_is_no_run(needs: dict[str, object], error: str) -> None:
    with pytest.raises(RollgateError, match=f"^{error}"):
        summary.judge(needs)


@pytest.fixture
def job_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "summary.md"
    monkeypatch.setenv(runner.SUMMARY, str(target))
    return target


def test_a_passing_run_writes_the_summary(job_summary: Path) -> None:
    needs = {"classify": _job("success", kind="none"), "gate": _job("skipped")}
    text = summary.run(json.dumps(needs), fork=False)
    assert text.splitlines() == ["### rollgate: all checks passed", "", "- `classify`: success", "- `gate`: skipped"]
    assert job_summary.read_text() == text + "\n\n"
    assert summary.FORK_NOTE not in text


def test_a_failing_run_writes_the_summary_then_fails_naming_the_jobs(job_summary: Path) -> None:
    needs = {"classify": _job("success", kind="pipeline"), "gate": _job("failure"), "comment": _job("cancelled")}
    with pytest.raises(RollgateError) as raised:
        summary.run(json.dumps(needs), fork=False)
    assert str(raised.value).splitlines() == [
        "a job of this run failed or was cancelled:",
        "- `classify`: success",
        "- `gate`: failure",
        "- `comment`: cancelled",
    ]
    written = job_summary.read_text()
    assert written.startswith("### rollgate: a check failed\n")
    assert "- `gate`: failure" in written and "- `comment`: cancelled" in written


@pytest.mark.parametrize("ok", [True, False], ids=["passing", "failing"])
def test_a_fork_run_says_what_it_skipped(job_summary: Path, ok: bool) -> None:
    needs = {"gate": _job("success" if ok else "failure")}
    if ok:
        assert summary.run(json.dumps(needs), fork=True).endswith("\n\n" + summary.FORK_NOTE)
    else:
        with pytest.raises(RollgateError):
            summary.run(json.dumps(needs), fork=True)
    assert summary.FORK_NOTE in job_summary.read_text()


NOT_NEEDS = {
    "not JSON": ('{"gate": {"result": "success"}', "NEEDS: not JSON"),
    "a list": ('[{"result": "success"}]', "NEEDS: not a JSON object of job results"),
    "unset": ("", "NEEDS: no job results"),
    "null": ("null", "NEEDS: not a JSON object of job results"),
}


@pytest.mark.parametrize(("raw", "error"), NOT_NEEDS.values(), ids=NOT_NEEDS.keys())
def test_what_is_no_needs_object_is_refused_naming_needs(job_summary: Path, raw: str, error: str) -> None:
    with pytest.raises(RollgateError, match=f"^{error}"):
        summary.run(raw, fork=False)
    assert not job_summary.exists()  # nothing judged, nothing said


def test_the_command_fails_with_one_clear_error(
    job_summary: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEEDS", json.dumps({"classify": _job("success"), "gate": _job("failure")}))
    assert cli.main(["pr", "summary", "--fork", "false"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rollgate pr: error: a job of this run failed or was cancelled:")
    assert "- `gate`: failure" in err and "Traceback" not in err
    monkeypatch.setenv("NEEDS", json.dumps({"classify": _job("success"), "gate": _job("skipped")}))
    assert cli.main(["pr", "summary"]) == 0
    assert capsys.readouterr().out.startswith("### rollgate: all checks passed")


@pytest.mark.unit
def test_the_required_check_records_what_the_pr_withdraws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    digest = "ab" * 32
    needs = {"classify": _job("success", kind="revert", withdraws=f"prod: {digest}\n"), "gate": _job("skipped")}
    text = summary.run(json.dumps(needs), fork=False)
    assert f"- prod: {digest}" in text and f"- prod: {digest}" in target.read_text()
