"""A real Prometheus scraping the rehearsal's servers as the Prometheus Operator would scrape the pods
under the rendered PodMonitor, queried as Argo Rollouts' Prometheus provider queries it (instant queries).

What the operator generates for a PodMonitor endpoint (prometheus-operator, pkg/prometheus/promcfg.go,
`generatePodMonitorConfig`, read at 6adcebc, 2026-08): its own relabellings first (the job into
`__tmp_prometheus_job_name`; drop pods in phase Failed or Succeeded; keep the selector's labels and the
endpoint's port; then `namespace` from `__meta_kubernetes_namespace`, `container` from
`__meta_kubernetes_pod_container_name`, `pod` from `__meta_kubernetes_pod_name`; the `job` label
"<namespace>/<name>" and `endpoint` from the port's name), then the endpoint's `relabelings` (fields
copied one to one, `action` lower-cased), then the sharding hashmod. Here the targets are given rather
than discovered, so the filters and the sharding have nothing to do: this file keeps the three labels,
then the PodMonitor's own relabellings, and names the job as given (pass the operator's
"<namespace>/<name>" for the same `job` label). Targets carry the pod's `__meta_kubernetes_*` labels in
`static_configs`, which Prometheus 2.42 accepts; relabelling reads them and they are dropped before
storage, as with discovered pods.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse.processes import Process, Stack, http_get, tool

# The PodMonitor's camelCase relabelling fields and Prometheus's names for them (all of RelabelConfig).
_FIELDS = {
    "sourceLabels": "source_labels", "separator": "separator", "targetLabel": "target_label", "regex": "regex",
    "modulus": "modulus", "replacement": "replacement", "action": "action",
}  # fmt: skip
_OPERATOR = [
    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
    {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
]
_START_S = 30.0


class QueryError(RollgateError):
    """Prometheus refused a query (bad PromQL, a timeout) or answered what the analysis cannot judge."""


@dataclass(frozen=True)
class Target:
    """One server to scrape and the pod labels discovery would have given it (`__meta_kubernetes_*`)."""

    address: str  # 127.0.0.1:PORT
    path: str = "/metrics"
    labels: dict[str, str] = field(default_factory=dict)


def relabel_configs(relabelings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The operator's relabellings for a PodMonitor endpoint, then `relabelings` converted to Prometheus's."""
    converted = []
    for i, rule in enumerate(relabelings):
        unknown = sorted(set(rule) - set(_FIELDS))
        if unknown:
            raise RollgateError(f"relabelings[{i}].{unknown[0]}: not a relabelling field this rehearsal converts")
        out = {_FIELDS[key]: value for key, value in rule.items()}
        if "action" in out:
            out["action"] = str(out["action"]).lower()  # the operator lower-cases it too
        converted.append(out)
    return [dict(rule) for rule in _OPERATOR] + converted


def scrape_config(targets: Sequence[Target], relabelings: list[dict[str, Any]], interval_s: float, job: str) -> str:
    """A prometheus.yml scraping `targets` every `interval_s` in one job, relabelled as under the PodMonitor."""
    interval = f"{round(interval_s * 1000)}ms"
    statics = [{"targets": [t.address], "labels": {**t.labels, "__metrics_path__": t.path}} for t in targets]
    doc = {
        # The timeout may not exceed the interval; Prometheus' default (10 s) would with a 1 s interval.
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {"job_name": job, "static_configs": statics, "relabel_configs": relabel_configs(relabelings)}
        ],
    }
    return "# The rehearsal's Prometheus, written by rollgate: one job, as the PodMonitor scrapes.\n" + yaml.safe_dump(
        doc, sort_keys=False
    )


class Server:
    """Prometheus on 127.0.0.1:`port`, its config and data under `workdir`, owned by `stack`."""

    def __init__(self, stack: Stack, workdir: Path, port: int) -> None:
        self._stack, self._workdir, self._port = stack, workdir, port
        self._prometheus = tool("prometheus", "prometheus")
        self._process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self, config_text: str) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "prometheus.yml").write_text(config_text)
        argv = [
            self._prometheus,
            f"--config.file={self._workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self._workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self._port}",
            "--storage.tsdb.retention.time=2h",
            "--log.level=warn",  # the log is read only when something fails
        ]
        self._process = self._stack.start(argv, self._workdir / "prometheus.log")
        self._process.wait_http(self.url + "/-/ready", _START_S)

    def query(self, promql: str, timeout_s: float, at: float | None = None) -> list[float] | float:
        """An instant query: a vector's sample values in Prometheus' order, or a scalar's value."""
        params = {"query": promql, "timeout": f"{timeout_s:g}s", **({} if at is None else {"time": f"{at:.3f}"})}
        data = self._api("/api/v1/query?" + urllib.parse.urlencode(params), timeout_s, promql)
        kind, result = data["resultType"], data["result"]  # values are strings: float() reads NaN, +Inf, -Inf
        if kind == "vector":
            return [float(sample["value"][1]) for sample in result]
        if kind == "scalar":
            return float(result[1])
        raise QueryError(f"prometheus: {promql!r} gave a {kind}; the analysis judges a vector or a scalar")

    def series_names(self) -> set[str]:
        return set(self._api("/api/v1/label/__name__/values", 10.0, "__name__ values"))

    def wait_scraped(self, n_targets: int, timeout_s: float) -> None:
        """Wait until `n_targets` targets were scraped and every one's `up` is 1."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            up = self.query("up", timeout_s=5.0)
            if isinstance(up, list) and len(up) == n_targets and all(v == 1 for v in up):
                return
            time.sleep(0.1)
        active = self._api("/api/v1/targets?state=active", 10.0, "targets")["activeTargets"]
        seen = "; ".join(f"{t['scrapeUrl']} {t['health']} {t['lastError']}".strip() for t in active) or "none"
        raise RollgateError(f"prometheus: {n_targets} targets not all up within {timeout_s:g} s (targets: {seen})")

    def _api(self, path: str, timeout_s: float, what: str) -> Any:
        try:
            status, body = http_get(self.url + path, timeout_s=timeout_s + 5.0)
        except OSError as exc:
            raise QueryError(f"prometheus at {self.url} did not answer {what!r}: {exc}") from exc
        try:
            answer = json.loads(body)
        except ValueError:
            raise QueryError(f"prometheus: {what!r}: HTTP {status}: {body[:200]!r}") from None
        if answer.get("status") != "success":
            raise QueryError(f"prometheus refused {what!r}: {answer.get('errorType')}: {answer.get('error')}")
        return answer["data"]
