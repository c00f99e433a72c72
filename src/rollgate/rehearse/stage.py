"""The rehearsal's stage: the processes brought up (model store, both pods, Prometheus, nginx, the
traffic), then the Rollout's steps walked one by one, each recorded in the timeline as it happens."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.manifests.analysis import side_queries
from rollgate.rehearse import argo, judge, measure, nginx, pods, prometheus, replay, store
from rollgate.rehearse.plan import Analysis, Plan, Step, documents
from rollgate.rehearse.processes import Stack
from rollgate.rehearse.sides import Side, stock
from rollgate.rehearse.timeline import StepLine, Timeline

if TYPE_CHECKING:
    from rollgate.rehearse.run import Options

SCRAPE_WAIT_S = 30.0
CALIBRATION_ROWS = 2000
_SIDES = side_queries()


class Stage:
    def __init__(self, root: Path, options: Options, *, stack: Stack, work: Path, walked: Plan, t: Timeline,
                 started: float, say: Callable[[str], None]) -> None:  # fmt: skip
        self.root, self.options, self.stack, self.work, self.plan, self.t = root, options, stack, work, walked, t
        self.started, self.say = started, say
        self.replayer: replay.Replayer | None = None
        self.servers: dict[str, pods.Server] = {}
        self._window_s = argo.parse_duration(str(t.settings["window"]), "window")

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)

    def up(self, stable: Side, canary: Side, prometheus_port: int, router_port: int) -> None:
        """Start everything; a canary that never becomes ready ends the rehearsal as an abort."""
        folder = self.work / "store"
        sides_ = (stable, canary)
        stock(self.root, folder, sides_, self.options.challenger)
        exits = ExitStack()
        self.stack.callback(exits.close)
        url = exits.enter_context(store.serving(folder))
        for side in sides_:
            extra = self.options.canary_env if side.name == "canary" else None
            self.servers[side.name] = pods.start(self.stack, side, url, self.work / side.name, extra)
        self.say(f"rehearse {self.t.env}: stable {stable.release.model.sha256[:12]} (hash {stable.hash}) against "
                 f"canary {canary.release.model.sha256[:12]} (hash {canary.hash})")  # fmt: skip
        # Prometheus starts while the pods load their models: its first scrape comes seconds after start.
        self._monitoring(sides_, prometheus_port)
        patience = self.options.ready_timeout_s or self.plan.progress_deadline_s
        line = StepLine(-1, "start", "both pods started as rendered", "no traffic", self.now())
        self.t.steps.append(line)
        why = pods.wait_ready(self.servers["stable"], patience)
        if why is not None:
            raise RollgateError(f"stable never became ready, so there is nothing to compare with: {why}")
        why = pods.wait_ready(self.servers["canary"], patience)
        if why is not None:
            line.ended, line.phase = self.now(), "Failed"
            self._decide("abort", f"the canary never became ready (progressDeadlineAbort): {why}", line,
                         metric="readiness")  # fmt: skip
            return
        self.prometheus.wait_scraped(2, SCRAPE_WAIT_S)
        self.say(f"  {self.now():6.1f}s  both pods ready, Prometheus scraping both")
        self.router = nginx.Router(self.stack, self.work / "nginx", router_port,
                                   self.servers["stable"].scoring, self.servers["canary"].scoring)  # fmt: skip
        self.router.start(nginx.Routing())
        self._traffic(router_port)
        line.ended = self.now()

    def _monitoring(self, sides_: tuple[Side, Side], port: int) -> None:
        relabelings, path, port_name = _pod_monitor(self.plan.folder)
        targets = []
        for side in sides_:
            server = self.servers[side.name]
            labels = {
                "__meta_kubernetes_namespace": self.plan.namespace,
                "__meta_kubernetes_pod_name": f"{self.plan.rollout}-{side.hash}-{side.name}",
                "__meta_kubernetes_pod_container_name": "server",
                "__meta_kubernetes_pod_label_rollouts_pod_template_hash": side.hash,
                "__meta_kubernetes_pod_label_role": side.name,
            }
            targets.append(prometheus.Target(f"127.0.0.1:{server.laid.ports[port_name]}", path, labels))
        self.prometheus = prometheus.Server(self.stack, self.work / "prometheus", port)
        config = prometheus.scrape_config(targets, relabelings, self.options.scrape_interval_s, self.plan.rollout)
        self.prometheus.start(config)

    def _traffic(self, router_port: int) -> None:
        o, canary = self.options, self.servers["canary"].side
        records, source = replay.rows(self.root / paths.HOLDOUT_SET, canary.release.features, 5000)
        rate = o.rate if o.rate is not None else self._rate()
        rows_per = o.rows_per_request or self._rows_per_request(records, rate)
        traffic = replay.Traffic(rate, rows_per, o.invalid_share)
        self.replayer = replay.Replayer(f"127.0.0.1:{router_port}",
                                        replay.bodies(records, canary.release.features, traffic), rate)  # fmt: skip
        self.stack.callback(self.replayer.stop)
        self.replayer.start()
        self.t.settings["traffic"] = {"rate": rate, "rows_per_request": rows_per, "invalid_share": o.invalid_share,
                                      "rows": source}  # fmt: skip
        self.say(f"  traffic: {rate:g} requests/s of {rows_per} rows ({o.invalid_share:.0%} of them one invalid row), "
                 f"{source}")  # fmt: skip

    def _evidence(self) -> tuple[float, float, float]:
        """(the smallest analysed canary share, min-requests, min-expected-positives) of the plan."""
        shares, requests, positives = [], 0.0, 0.0
        for step in self.plan.steps:
            if step.analysis is not None:
                shares.append(max(step.routing.canary_weight, step.routing.mirror_percent) / 100)
                requests = max(requests, float(step.analysis.args.get("min-requests", 0)))
                positives = max(positives, float(step.analysis.args.get("min-expected-positives", 0)))
        return min([s for s in shares if s > 0] or [1.0]), requests, positives

    def _rate(self) -> float:
        share, requests, _ = self._evidence()
        return round(self.options.traffic * max(requests, 20.0) / (share * self._window_s), 1)

    def _rows_per_request(self, records: list[dict[str, Any]], rate: float) -> int:
        """Enough rows per request for the positives the ratios wait for, at stable's measured positive rate."""
        share, _, positives = self._evidence()
        chunk = 50
        labels: list[int] = []
        address = self.servers["stable"].scoring
        for start in range(0, min(CALIBRATION_ROWS, len(records)), chunk):
            body = json.dumps({"instances": records[start : start + chunk]}).encode()
            labels += [p["label"] for p in _post(address, body).get("predictions", [])]
        positive_rate = sum(labels) / len(labels) if labels else 0.0
        self.t.settings["stable_positive_rate"] = round(positive_rate, 5)
        expected = rate * share * self._window_s  # the canary's requests a window at the smallest analysed share
        return replay.rows_per_request(positive_rate, positives, expected, self.options.invalid_share, 1000)

    def walk(self) -> None:
        for step in self.plan.steps:
            line = StepLine(step.index, step.kind, step.text, step.stage, self.now())
            self.t.steps.append(line)
            self.say(f"  {line.started:6.1f}s  step {step.index}: {step.text}")
            verdict = self._run(step, line)
            line.ended = self.now()
            if verdict is not None:
                return
            if not self.servers["canary"].process.alive():
                self._decide("abort", f"the canary exited:\n{self.servers['canary'].process.log_tail()}", line,
                             metric="readiness")  # fmt: skip
                return
        full = StepLine(-1, "full", "end of steps: all traffic to the canary", "100%", self.now())
        self.t.steps.append(full)
        self.router.route(self.plan.full)
        full.ended = self.now()
        self._decide("promote", "every analysis passed; the canary takes all traffic", None)

    def _run(self, step: Step, line: StepLine) -> str | None:
        if step.kind in ("setMirrorRoute", "setWeight"):
            self.router.route(step.routing)
        elif step.kind == "pause":
            time.sleep(self._pause(step))
        elif step.analysis is not None:
            return self._analyse(step, step.analysis, line)
        return None

    def _pause(self, step: Step) -> float:
        """--pause, else the step's pause scaled as the window is, never under one window (an indefinite
        pause, which a person ends in the cluster, lasts one window)."""
        if self.t.settings["pause_s"] is not None:
            return float(self.t.settings["pause_s"])
        scaled = (step.pause_s or 0.0) * float(self.t.settings["pause_scale"])
        return max(self._window_s, scaled)

    def _analyse(self, step: Step, analysis: Analysis, line: StepLine) -> str | None:
        for metric in analysis.metrics:
            self.t.thresholds[metric.name] = judge.threshold(metric)
        outcome = judge.run(analysis, self.prometheus.query, time.monotonic, sleep=time.sleep,
                            sides=lambda name: self._sides(analysis, name), offset=self.now())  # fmt: skip
        for measured in outcome.measured:
            self.t.measured(step.index, measured)
        line.phase = str(outcome.phase)
        verdict = measure.rollout_outcome(outcome.phase)
        if verdict == "promote":
            return None
        name = outcome.deciding[0] if outcome.deciding else None
        last = next((m for m in reversed(outcome.measured) if m.metric == name), None)
        deciding = next((m for m in analysis.metrics if m.name == name), None)
        limit = judge.threshold(deciding) if deciding else None
        what = f"{name} = {last.value if last and last.value is not None else 'no data'}" if name else "?"
        reason = f"analysis {outcome.phase} at {step.stage} (step {step.index}): {what}, threshold {limit}"
        if last is not None and last.error:
            reason += f" ({last.error})"
        others = [n for n in outcome.deciding if n != name]
        if others:
            reason += f"; also {outcome.phase}: {', '.join(others)}"
        self._decide(verdict, reason, line, metric=name, value=last.value if last else None, threshold=limit,
                     metrics=list(outcome.deciding))  # fmt: skip
        return verdict

    def _sides(self, analysis: Analysis, name: str) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for side, text in _SIDES.get(name, {}).items():
            try:
                out[side] = judge.first(self.prometheus.query(argo.resolve(text, analysis.args, name), 10.0))
            except RollgateError:
                out[side] = None
        return out

    def _decide(self, verdict: str, reason: str, line: StepLine | None, **facts: Any) -> None:
        self.t.verdict, self.t.reason = verdict, reason
        if verdict != "promote" and line is not None:
            self.t.decided_by = {"step": line.index, "stage": line.stage, **facts}

    def answers(self) -> dict[str, int]:
        if self.replayer is None:
            return {}
        self.replayer.stop()
        return {f"{side} {status}": n for (side, status), n in sorted(self.replayer.answers.items())}


def _pod_monitor(folder: Path) -> tuple[list[dict[str, Any]], str, str]:
    """The PodMonitor's relabellings, path and port name (its first endpoint), as Prometheus will apply them."""
    for _, doc in documents(folder):
        if doc.get("kind") == "PodMonitor":
            (endpoint,) = doc["spec"]["podMetricsEndpoints"]
            return list(endpoint.get("relabelings", [])), str(endpoint.get("path", "/metrics")), str(endpoint["port"])
    raise RollgateError(f"{folder}: no PodMonitor, so nothing says how Prometheus scrapes the pods")


def _post(address: str, body: bytes) -> dict[str, Any]:
    import http.client

    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", replay.ROUTE, body=body, headers={"content-type": "application/json"})
        answer = conn.getresponse()
        data = answer.read()
        return json.loads(data) if answer.status == 200 else {}
    finally:
        conn.close()
