"""`rollgate pr summary`: the one check a branch rule requires. It passes when every job of the run
passed or was skipped by design (a job skipped because an earlier one failed shows that failure), and
fails on any failure or cancellation, naming each job. Standard library only: `make pr-summary` runs
it from source with nothing installed."""

from __future__ import annotations

import json
from collections.abc import Mapping

from rollgate.ci import runner
from rollgate.contracts.errors import RollgateError

PASSING = ("success", "skipped")
FORK_NOTE = (
    "**From a fork:** this run has no credentials (GitHub gives it no secrets, no OIDC token and a read-only "
    "token). Skipped: the DVC remote's read role (the embedded defaults are used) and the report comment "
    "(the report is in the gate job's summary). Nothing is pushed."
)


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
    withdrawn = _withdraws(needs)
    if withdrawn:
        lines += ["", "Merging withdraws (promote refuses these models again unless re-allowed):", ""]
        lines += [f"- {w}" for w in withdrawn]
    text = "\n".join([head, "", *lines, *(["", FORK_NOTE] if fork else [])])
    runner.summary(text)
    if not ok:
        raise RollgateError("a job of this run failed or was cancelled:\n" + "\n".join(lines))
    return text


def _withdraws(needs: Mapping[str, object]) -> list[str]:
    """What the classify job found this PR withdraws (its `withdraws` output: one `<env>: <sha256>` a line)."""
    about = needs.get("classify")
    outputs = about.get("outputs") if isinstance(about, Mapping) else None
    text = outputs.get("withdraws") if isinstance(outputs, Mapping) else None
    return [line for line in text.splitlines() if line.strip()] if isinstance(text, str) else []
