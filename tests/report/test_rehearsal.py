"""The rehearsal's section of the PR comment: its table, or why there is none, placed after the report's
verdict summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rollgate.report import rehearsal
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

TABLE = "| t (s) | step | stage | outcome |\n|---:|---|---|---|\n| 1 | both pods started | no traffic |  |\n"
TIMELINE = TABLE + "\n**Verdict: abort** — mean-score-ratio failed in the shadow step\n"
RUN = "https://github.com/acme/fraud-model/actions/runs/42"


@pytest.mark.parametrize(
    ("result", "timeline", "expected", "absent"),
    [
        ("success", TIMELINE, ["### Rollout rehearsal (staging)", TABLE.strip(), "**Verdict: abort**",
                               "[the `rehearsal` artifact](https://x/artifacts/7)", "not required"], ["Failed"]),
        ("success", None, ["**Failed to run**", f"([the run]({RUN}))"], ["Verdict"]),  # rehearse exited 1
        ("failure", None, ["**Failed to run**"], ["Verdict"]),  # deps, download or the job's timeout
        ("success", "  \n", ["**Failed to run**"], ["Verdict"]),
        ("skipped", None, [rehearsal.SKIPPED], ["Failed", "Verdict"]),
        ("pending", None, [rehearsal.PENDING, "not required"], ["Failed", "Verdict"]),  # the first post
    ],
    ids=["table", "exit-1", "job-failed", "empty-file", "skipped", "pending"],
)  # fmt: skip
def test_the_section_says_what_the_rehearsal_did(
    result: str, timeline: str | None, expected: list[str], absent: list[str]
) -> None:
    text = rehearsal.section(result, timeline, env="staging", charts_url="https://x/artifacts/7", run_url=RUN)
    assert text.startswith("### Rollout rehearsal (staging)\n\n")
    for part in expected:
        assert part in text
    for part in absent:
        assert part not in text


def test_no_rehearsal_job_no_section_and_the_report_unchanged() -> None:
    assert rehearsal.section("", TIMELINE, env="staging") == ""
    assert rehearsal.appended("## report\n", "") == "## report\n"
    assert rehearsal.appended("## report\n\n", "### x\n") == "## report\n\n### x\n"


def test_the_section_comes_before_the_details_so_a_cut_report_keeps_it() -> None:
    report = "## rollgate\n\n- prod: promote\n\n### `prod`\n\n" + "+ a long diff line\n" * 10_000
    merged = rehearsal.appended(report, "### Rollout rehearsal (staging)\n\npromote\n")
    assert merged.index("### Rollout rehearsal") < merged.index("### `prod`")
    assert merged.startswith("## rollgate\n\n- prod: promote\n\n### Rollout rehearsal (staging)")
    assert merged.count("+ a long diff line") == 10_000


def test_without_urls_the_artifact_is_named_and_no_link_is_made() -> None:
    text = rehearsal.section("success", TIMELINE)
    assert text.startswith("### Rollout rehearsal\n\n") and "the `rehearsal` artifact." in text and "](" not in text


def test_the_run_url_comes_from_the_runners_variables() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/fraud-model", "GITHUB_RUN_ID": "42"}
    assert rehearsal.run_url(env) == RUN
    assert rehearsal.run_url({**env, "GITHUB_RUN_ID": ""}) == ""


@pytest.mark.integration
def test_make_pr_comments_first_step_from_source_on_the_standard_library(tmp_path: Path) -> None:
    (tmp_path / "pr.md").write_text("## rollgate\n\nno change\n", encoding="utf-8")
    folder = tmp_path / "rehearsal"
    folder.mkdir()
    (folder / rehearsal.TIMELINE_MD).write_text(TIMELINE, encoding="utf-8")
    (folder / rehearsal.TIMELINE_JSON).write_text(json.dumps({"env": "staging", "verdict": "abort"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")} | {"PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-S", "-m", "rollgate.report.rehearsal", "--report", str(tmp_path / "pr.md")]
    argv += ["--dir", str(folder), "--out", str(tmp_path / "out/comment.md")]
    done = subprocess.run([*argv, "--result", "success"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out/comment.md").read_text(encoding="utf-8")
    assert text.startswith("## rollgate\n\nno change\n\n### Rollout rehearsal (staging)\n\n| t (s) |")
    plain = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # no --result: no section
    assert plain.returncode == 0 and (tmp_path / "out/comment.md").read_text() == "## rollgate\n\nno change\n"
    argv[argv.index("--report") + 1] = str(tmp_path / "nope.md")
    missing = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "nope.md: no such file" in missing.stderr
