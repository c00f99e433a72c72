"""`rollgate rehearse`: the rendered rollout walked on one machine, judged by the rendered analysis.

Stable (the environment's committed manifests) and the canary (the challenger rendered as promotion would
render it) each run as their pod would (`pods`), behind nginx routing as each Rollout step leaves the
traffic (`nginx`), scraped every second by Prometheus relabelled as the PodMonitor relabels (`prometheus`),
while holdout rows flow at a steady rate (`replay`). Each analysis step runs the templates' own queries
with Argo Rollouts' semantics (`plan`, `judge`, `argo`). The verdict is Argo's: promote when every step
passes, abort at the first failed (or erroring) analysis, inconclusive when one cannot decide — "no
data" never passes. Everything started is stopped on the way out, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse import argo, chart, plan, promql, sides, timeline
from rollgate.rehearse.processes import Stack, free_ports, tool
from rollgate.rehearse.stage import Stage

EXIT_CODES = {"promote": 0, "abort": 3, "inconclusive": 4}


@dataclass(frozen=True)
class Options:
    env: str
    challenger: Path | None = None  # default: the model on disk (models/)
    sha256: str | None = None  # the challenger's expected digest
    canary_manifests: Path | None = None  # a rendered folder to rehearse as the canary instead
    interval: str = "5s"  # the templates' `interval` argument (production: the deploy config's)
    window: str | None = None  # the `window` argument; default two intervals, as rendered
    pause: str | None = None  # every pause step; default: the production pause scaled as the window is
    args: dict[str, str] = field(default_factory=dict)  # more argument values (declared ones only)
    rate: float | None = None  # requests per second; default: enough evidence at the smallest share
    rows_per_request: int | None = None  # default: enough positives expected at the smallest share
    invalid_share: float = 0.02  # of requests: a lone row broken as a client breaks the contract
    traffic: float = 2.0  # with the default rate: this many times the evidence the templates require
    out: Path | None = None  # default reports/rehearsal/<env>
    scrape_interval_s: float = 1.0
    ready_timeout_s: float | None = None  # default: the Rollout's progressDeadlineSeconds
    canary_env: dict[str, str] = field(default_factory=dict)  # Python API only: the tests' fault hooks
    charts: bool = True


def _sides(root: Path, options: Options, work: Path) -> tuple[sides.Side, sides.Side]:
    stable = sides.stable(root, options.env)
    if options.canary_manifests is not None:
        canary = sides.given(options.canary_manifests)
    else:
        canary = sides.canary(root, options.env, out=work / "canary-manifests", stable_side=stable,
                              model=options.challenger, sha256=options.sha256)  # fmt: skip
    if canary.hash == stable.hash:
        raise RollgateError(f"the canary's pod template is stable's ({stable.folder}): there is nothing to roll out")
    return stable, canary


def _durations(options: Options) -> tuple[str, str, float | None]:
    """(interval, window, every pause in seconds or None: scaled)."""
    interval_s = argo.parse_duration(options.interval, "--interval")
    window = options.window or f"{2 * interval_s:g}s"
    pause_s = None if options.pause is None else argo.parse_duration(options.pause, "--pause")
    return options.interval, window, pause_s


def check(options: Options) -> None:
    """Refuse options no rehearsal can run with, before anything is rendered or started."""
    interval, window, pause = _durations(options)
    bad = [
        *(["--interval must be positive"] if argo.parse_duration(interval, "--interval") <= 0 else []),
        *(["--window must be positive"] if argo.parse_duration(window, "--window") <= 0 else []),
        *(["--pause must not be negative"] if pause is not None and pause < 0 else []),
        *(["--rate must not be negative"] if options.rate is not None and options.rate < 0 else []),
        *(["--rows-per-request must be at least 1"] if options.rows_per_request is not None
          and options.rows_per_request < 1 else []),
        *(["--invalid-share must be in [0, 1)"] if not 0 <= options.invalid_share < 1 else []),
        *(["--traffic must be positive"] if options.traffic <= 0 else []),
    ]  # fmt: skip
    if bad:
        raise RollgateError("; ".join(bad))


def pause_scale(folder: Path, window: str) -> float:
    """The rehearsal's window over the production one (the templates' declared `window`), by which every
    pause shrinks: the first measurement of a step then looks at the same part of the step's traffic as in
    the cluster (after a 5 m pause, a 2 m window excludes the canary's first 3 minutes)."""
    declared = []
    for _, doc in plan.documents(folder):
        if doc.get("kind") in plan.TEMPLATE_KINDS:
            declared += [str(a["value"]) for a in doc["spec"].get("args", []) if a["name"] == "window" and "value" in a]
    if not declared:
        return 1.0
    return argo.parse_duration(window, "--window") / max(argo.parse_duration(v, "window") for v in declared)


def prepare(root: Path, options: Options, work: Path, prometheus_url: str) -> tuple[sides.Side, sides.Side, plan.Plan]:
    """Both sides and the plan, every query checked against the metrics the server exports; nothing started."""
    tool("nginx", "nginx"), tool("prometheus", "prometheus")
    stable, canary = _sides(root, options, work)
    interval, window, _ = _durations(options)
    defaults = {"prometheus": prometheus_url, "interval": interval, "window": window}
    walked = plan.read(canary.folder, plan.Hashes(canary.hash, stable.hash), options.args, defaults)
    for step in walked.steps:
        for metric in step.analysis.metrics if step.analysis else ():
            missing = promql.unknown(metric.query)
            if missing:
                raise RollgateError(f"{canary.folder}: analysis metric {metric.name!r} (step {step.index}) queries "
                                    f"{', '.join(sorted(missing))}, which the model server does not export "
                                    "(rollgate.contracts.metrics): it would never have data")  # fmt: skip
    return stable, canary, walked


def rehearse(root: Path, options: Options, say: Callable[[str], None] = print) -> timeline.Timeline:
    """Run the rehearsal; the timeline (verdict included) is also written to `options.out`."""
    check(options)
    started = time.monotonic()
    out = options.out or root / "reports" / "rehearsal" / options.env
    with tempfile.TemporaryDirectory(prefix="rollgate-rehearse-") as scratch, Stack() as stack:
        work = Path(scratch)
        prometheus_port, router_port = free_ports(2)
        stable, canary, walked = prepare(root, options, work, f"http://127.0.0.1:{prometheus_port}")
        interval, window, pause_s = _durations(options)
        t = timeline.Timeline(
            env=options.env,
            sides={s.name: {"sha256": s.release.model.sha256, "hash": s.hash, "folder": str(s.folder)}
                   for s in (stable, canary)},
            settings={"interval": interval, "window": window, "pause_s": pause_s, "args": dict(options.args),
                      "pause_scale": round(pause_scale(canary.folder, window), 4),
                      "scrape_interval_s": options.scrape_interval_s},
        )  # fmt: skip
        stage = Stage(root, options, stack=stack, work=work, walked=walked, t=t, started=started, say=say)
        stage.up(stable, canary, prometheus_port, router_port)
        if t.verdict is None:
            stage.walk()
        t.traffic = stage.answers()
    t.wall_s = round(time.monotonic() - started, 1)
    for old in [*out.glob("*.png"), out / timeline.FILE, out / timeline.MARKDOWN]:  # a previous run's
        old.unlink(missing_ok=True)
    t.write(out)
    if options.charts:
        chart.draw(t.to_dict(), out)
    lines = timeline.table(t.to_dict())
    (out / timeline.MARKDOWN).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        say(line)
    say(f"timeline: {out / timeline.FILE}" + (f"; charts: {out}/<metric>.png" if options.charts else ""))
    return t


def exit_code(t: timeline.Timeline) -> int:
    return EXIT_CODES[t.verdict or "inconclusive"]
