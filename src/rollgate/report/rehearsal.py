"""The rollout rehearsal's part of the pull-request comment: its timeline table, or why there is none.

The PR workflow's `rehearse` job runs `rollgate rehearse` on the challenger the gate passed and uploads
its folder (`timeline.json`, `timeline.md`, one PNG chart per metric) as the `rehearsal` artifact; the
comment job appends this section to the report: the table and verdict line, a link to the charts (a
comment cannot hold an image), or a line saying the rehearsal was skipped or failed to run. It is
reported, never required. Standard library only: `make pr-comment` runs it from source with nothing
installed, reading the rehearsal's files as data.

The workaround entry point `python -S -m rollgate.report.rehearsal` is here because `rollgate pr comment`
has no rehearsal options yet; `main` is what such options would call.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

HEADING = "### Rollout rehearsal"
TIMELINE_MD = "timeline.md"  # as rollgate.rehearse.timeline writes them (not imported: that needs numpy)
TIMELINE_JSON = "timeline.json"
NOTE = (
    "A rehearsal on the runner (nginx, Prometheus, both pods), judged by the rendered analysis: reported, not required."
)
SKIPPED = "Skipped: the rehearsal runs once the gate passes in every environment."
PENDING = "Running: this comment is updated with its timeline when the `rehearse` job is done."


def section(result: str, timeline: str | None, *, env: str = "", charts_url: str = "", run_url: str = "") -> str:
    """The rehearsal's Markdown section for the `rehearse` job's result; '' when the run has no rehearsal.

    Args:
        result: the job's result (success, failure, cancelled, skipped), "pending" while it runs, '' when there is none
            (the workflow has no rehearse job, or the repository variable switches it off).
        timeline: the rehearsal's timeline.md, None when it wrote none (it failed to run).
        env: the environment it rehearsed, for the heading.
        charts_url: where its artifact (the charts) is; run_url: the workflow run (its logs).
    """
    if not result:
        return ""
    heading = f"{HEADING} ({env})" if env else HEADING
    if result == "skipped":
        body = SKIPPED
    elif result == "pending":
        body = f"{PENDING} {NOTE}"
    elif timeline is None or not timeline.strip():
        log = f" ([the run]({run_url}))" if run_url else ""
        body = f"**Failed to run**: the rehearse job's log says why{log}. {NOTE}"
    else:
        charts = f"[the `rehearsal` artifact]({charts_url})" if charts_url else "the `rehearsal` artifact"
        body = f"{timeline.strip()}\n\nCharts, one per analysed metric: {charts}. {NOTE}"
    return f"{heading}\n\n{body}\n"


def appended(report: str, extra: str) -> str:
    """The report with `extra` (a section, maybe '') after its verdict summary, before the first `###`
    section: a report cut at GitHub's comment limit loses the long manifest diffs at its end, never the
    rehearsal's verdict. Without such a section, `extra` goes at the end."""
    if not extra:
        return report
    head, found, rest = report.partition("\n### ")
    if not found:
        return f"{report.rstrip()}\n\n{extra}"
    return f"{head.rstrip()}\n\n{extra.rstrip()}\n\n### {rest}"


def run_url(env: Mapping[str, str]) -> str:
    """The workflow run's page, from the variables GitHub's runners set; '' elsewhere."""
    parts = [env.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else ""


def _env_of(folder: Path) -> str:
    try:
        found = json.loads((folder / TIMELINE_JSON).read_text(encoding="utf-8")).get("env")
    except (OSError, ValueError, AttributeError):
        return ""
    return found if isinstance(found, str) else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Write REPORT with the rehearsal's section appended to OUT (the comment `make pr-comment` posts)."""
    cli = argparse.ArgumentParser(prog="python -m rollgate.report.rehearsal", description=main.__doc__)
    cli.add_argument("--report", type=Path, required=True, help="the PR report, e.g. reports/pr.md")
    cli.add_argument("--out", type=Path, required=True, help="where the comment's text goes")
    cli.add_argument("--result", default="", help="the rehearse job's result; '' (default): no rehearsal section")
    cli.add_argument("--dir", type=Path, default=Path("reports/rehearsal"), help="the downloaded artifact")
    cli.add_argument("--charts-url", default="", help="the artifact's URL (upload-artifact's artifact-url)")
    args = cli.parse_args(argv)
    if not args.report.is_file():
        cli.exit(1, f"{cli.prog}: error: {args.report}: no such file (write it with `rollgate report`)\n")
    md = args.dir / TIMELINE_MD
    timeline = md.read_text(encoding="utf-8") if md.is_file() else None
    extra = section(
        args.result, timeline, env=_env_of(args.dir), charts_url=args.charts_url, run_url=run_url(os.environ)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(appended(args.report.read_text(encoding="utf-8"), extra), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
