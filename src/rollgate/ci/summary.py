"""`rollgate pr summary`: the one check a branch rule requires. It passes when every job of the run
passed or was skipped by design (a job skipped because an earlier one failed shows that failure), and
fails on any failure or cancellation, naming each job."""

from __future__ import annotations

import json
from collections.abc import Mapping

from rollgate.ci import classify, runner
from rollgate.contracts.errors import RollgateError

PASSING = ("success", "skipped")


def judge(needs: Mapping[str, object]) -> tuple[bool, list[str]]:
    """Whether the run passes, and one line per job (`needs` as GitHub's `toJSON(needs)` gives it)."""
    if not needs:
        raise RollgateError("NEEDS: no job results (the workflow must pass `toJSON(needs)` of its jobs)")
    lines, ok = [], True
    for job, about in needs.items():
        result = about.get("result") if isinstance(about, Mapping) else None
        if not isinstance(result, str):
            raise RollgateError(f"NEEDS: job {job!r} has no result")
        ok = ok and result in PASSING
        lines.append(f"- `{job}`: {result}")
    return ok, lines


def run(needs_json: str, fork: bool) -> str:
    """`rollgate pr summary`: the verdict in words; raises (failing the check) unless every job passed."""
    try:
        needs = json.loads(needs_json or "{}")
    except json.JSONDecodeError as exc:
        raise RollgateError(f"NEEDS: not JSON ({exc})") from exc
    if not isinstance(needs, Mapping):
        raise RollgateError("NEEDS: not a JSON object of job results")
    ok, lines = judge(needs)
    head = "### rollgate: all checks passed" if ok else "### rollgate: a check failed"
    text = "\n".join([head, "", *lines, *(["", classify.FORK_NOTE] if fork else [])])
    runner.summary(text)
    if not ok:
        raise RollgateError("a job of this run failed or was cancelled:\n" + "\n".join(lines))
    return text
