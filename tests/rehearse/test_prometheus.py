"""The rehearsal's Prometheus: a real one scraping two stdlib servers as the PodMonitor's relabelling would,
queried through its HTTP API as Argo's Prometheus provider queries it."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse import processes
from rollgate.rehearse.processes import Stack
from rollgate.rehearse.prometheus import QueryError, Server, Target, relabel_configs, scrape_config
from tests.rehearse.conftest import require

pytestmark = pytest.mark.integration
NAMESPACE = "fraud-staging"
# As the rendered PodMonitor has it: the pod's rollouts-pod-template-hash label onto every series.
HASH_LABEL = "__meta_kubernetes_pod_label_rollouts_pod_template_hash"
RELABELINGS = [{"sourceLabels": [HASH_LABEL], "targetLabel": "rollouts_pod_template_hash"}]


@pytest.fixture(scope="module", autouse=True)
def prometheus() -> None:
    require("prometheus")


def _exporter(count: int) -> ThreadingHTTPServer:
    body = f"# TYPE rollgate_requests_total counter\nrollgate_requests_total {count}\n".encode()

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _target(address: str, hash_: str) -> Target:
    return Target(address, "/metrics", {
        HASH_LABEL: hash_,
        "__meta_kubernetes_namespace": NAMESPACE,
        "__meta_kubernetes_pod_name": f"fraud-detector-{hash_}-pod",
    })  # fmt: skip


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Prometheus scraping a stable (hash aaa111, 7 requests) and a canary (bbb222, 3) every second."""
    exporters = [_exporter(7), _exporter(3)]
    targets = [_target(f"127.0.0.1:{e.server_port}", h) for e, h in zip(exporters, ("aaa111", "bbb222"), strict=True)]
    with Stack() as stack:
        server = Server(stack, tmp_path_factory.mktemp("prometheus"), processes.free_ports(1)[0])
        server.start(scrape_config(targets, RELABELINGS, interval_s=1.0, job=f"{NAMESPACE}/fraud-detector"))
        server.wait_scraped(2, timeout_s=30)
        yield server
    for exporter in exporters:
        exporter.shutdown()
        exporter.server_close()


@pytest.mark.parametrize(("hash_", "count"), [("aaa111", 7.0), ("bbb222", 3.0)])
def test_each_series_carries_its_pods_hash_and_namespace(scraped: Server, hash_: str, count: float) -> None:
    selector = f'rollouts_pod_template_hash="{hash_}", namespace="{NAMESPACE}", pod="fraud-detector-{hash_}-pod"'
    assert scraped.query(f"rollgate_requests_total{{{selector}}}", timeout_s=5) == [count]


def test_the_pod_labels_are_read_by_relabelling_and_not_stored(scraped: Server) -> None:
    assert scraped.query('count({__name__=~".+", __meta_kubernetes_namespace!=""})', timeout_s=5) == []
    assert scraped.query(f'sum(rollgate_requests_total{{job="{NAMESPACE}/fraud-detector"}})', timeout_s=5) == [10.0]
    assert {"rollgate_requests_total", "up"} <= scraped.series_names()


@pytest.mark.parametrize(("promql", "value"), [("scalar(vector(1)) / 0", math.inf), ("-1 / 0", -math.inf), ("2", 2.0)])
def test_a_scalar_answer_is_its_float(scraped: Server, promql: str, value: float) -> None:
    assert scraped.query(promql, timeout_s=5) == value


def test_nan_is_parsed(scraped: Server) -> None:
    assert [math.isnan(v) for v in scraped.query("vector(0) / 0", timeout_s=5)] == [True]  # type: ignore[union-attr]


def test_a_bad_query_raises_prometheus_error(scraped: Server) -> None:
    with pytest.raises(QueryError, match=r"bad_data: .*parse error"):
        scraped.query("rate(rollgate_requests_total[1m]", timeout_s=5)


def test_an_unreachable_target_is_reported_with_its_error(tmp_path: Path) -> None:
    dead = _target(f"127.0.0.1:{processes.free_ports(1)[0]}", "ccc333")
    with Stack() as stack:
        server = Server(stack, tmp_path, processes.free_ports(1)[0])
        server.start(scrape_config([dead], RELABELINGS, interval_s=1.0, job="dead"))
        with pytest.raises(RollgateError, match=r"1 targets not all up .*connection refused"):
            server.wait_scraped(1, timeout_s=8)


def test_relabelings_are_converted_after_the_operators_own() -> None:
    rules = relabel_configs([{"sourceLabels": ["a", "b"], "separator": "/", "regex": "(.*)", "modulus": 4,
                              "targetLabel": "t", "replacement": "$1", "action": "HashMod"}])  # fmt: skip
    assert [r["target_label"] for r in rules[:3]] == ["namespace", "container", "pod"]
    assert rules[3] == {"source_labels": ["a", "b"], "separator": "/", "regex": "(.*)", "modulus": 4,
                        "target_label": "t", "replacement": "$1", "action": "hashmod"}  # fmt: skip


def test_a_relabelling_field_not_converted_is_refused() -> None:
    with pytest.raises(RollgateError, match=r"relabelings\[0\]\.sourceLabel: not a relabelling field"):
        relabel_configs([{"sourceLabel": ["a"], "targetLabel": "t"}])
