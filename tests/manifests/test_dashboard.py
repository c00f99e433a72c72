"""The Grafana dashboard generated from the metrics contract: every query reads the contract's series only
(a renamed metric renames its queries), each required panel is there with one canary-vs-stable panel per
analysed metric, the bytes are deterministic, the ConfigMap is strictly valid, and the PromQL parses and
computes what it says (promtool)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rollgate.contracts import metrics, release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import analysis, check, dashboard, dashboard_panels, lint, render, schemas
from rollgate.manifests.deploy_config import DeployConfig, load_deploy_config
from rollgate.monitor import distance
from rollgate.rehearse import promql
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

CONFIGS = {env: load_deploy_config(ROOT, env) for env in ("prod", "staging")}
PROD = CONFIGS["prod"]
EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None
# The recording rules the dashboard may read besides the contract's series: its `rollgate:` constants.
RULES = {
    value
    for module in (dashboard, dashboard_panels)
    for value in vars(module).values()
    if isinstance(value, str) and value.startswith("rollgate:")
}
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), *[a-zA-Z_][a-zA-Z0-9_]*\)$")
PROMTOOL = shutil.which("promtool")
# What the requirement lists, by title; the canary-vs-stable panels are derived from the analysis below.
REQUIRED = [
    "Request rate by route and code",
    "5xx share of answers",
    "Latency quantiles of scoring requests",
    "Score distribution against the reference",
    "Score distance to the reference",
    "Rejected rows by reason",
    "Feature drift (PSI against the baseline)",
    "Model digest per pod",
]


def _panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in board["panels"] if p["type"] != "row"}


def _queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: each target's, and each query variable's selector."""
    out = [t["expr"] for p in _panels(board).values() for t in p["targets"]]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found = LABEL_VALUES.match(variable["query"]["query"])
            assert found, variable
            out.append(found.group("selector"))
    return out


def _strangers(board: dict[str, Any]) -> set[str]:
    """Series the queries read that the server does not export and no declared recording rule is."""
    return {name for query in _queries(board) for name in promql.names(query)} - promql.exported() - RULES


def _configmap(cfg: DeployConfig) -> tuple[str, str]:
    name = f"{cfg.app}-dashboard-configmap.yaml"
    template = render.environment().get_template("dashboard-configmap.yaml.j2")
    return name, template.render({"cfg": cfg, "file": name, **dashboard.context(cfg)})


@pytest.mark.parametrize("env", sorted(CONFIGS))
def test_every_query_reads_only_contract_series_or_declared_rules(env: str) -> None:
    board = dashboard.build(CONFIGS[env])
    assert {dashboard_panels.REFERENCE_SCORE_CDF} == RULES
    assert all(promql.names(query) for query in _queries(board))
    assert _strangers(board) == set()


def test_a_hand_typed_series_is_caught() -> None:
    board = dashboard.build(PROD)
    board["panels"][1]["targets"].append({"expr": 'sum(rate(rollgate_request_total{code="500"}[5m]))'})
    board["panels"][2]["targets"].append({"expr": "rollgate:undeclared_rule"})
    assert _strangers(board) == {"rollgate_request_total", "rollgate:undeclared_rule"}


def test_every_series_is_selected_in_the_environment_namespace() -> None:
    for query in _queries(dashboard.build(PROD)):
        for name in promql.names(query):
            for found in re.finditer(rf"(?<![\w:]){re.escape(name)}(?![\w:])", query):
                assert query[found.end() :].startswith(f'{{namespace="{PROD.namespace}"'), query


DRAWN = [name for name, value in vars(metrics).items() if isinstance(value, metrics.Metric) and name != "AUTH_REQUESTS"]


def _series(metric: metrics.Metric) -> set[str]:
    suffixes = ("_bucket", "_sum", "_count") if metric.kind == "histogram" else ("",)
    return {metric.name + suffix for suffix in suffixes}


@pytest.mark.parametrize("attribute", DRAWN)
def test_a_metric_renamed_in_the_contract_renames_its_queries(attribute: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = getattr(metrics, attribute)
    before = {n for q in _queries(dashboard.build(PROD)) for n in promql.names(q)}
    assert before & _series(old), f"the dashboard draws nothing of {old.name}"
    monkeypatch.setattr(metrics, attribute, replace(old, name=f"renamed_{old.name}"))
    after = {n for q in _queries(dashboard.build(PROD)) for n in promql.names(q)}
    assert after == {f"renamed_{n}" if n in _series(old) else n for n in before}


def test_only_auth_requests_go_undrawn() -> None:
    drawn = {n for q in _queries(dashboard.build(PROD)) for n in promql.names(q)}
    undrawn = [metric.name for metric in metrics.ALL if not drawn & _series(metric)]
    assert undrawn == [metrics.AUTH_REQUESTS.name]  # its refusals show as 401/403 in the request rate


def test_every_required_panel_is_there_once_with_a_query() -> None:
    board = dashboard.build(PROD)
    titles = [p["title"] for p in board["panels"] if p["type"] != "row"]
    assert len(titles) == len(set(titles))
    assert set(REQUIRED) <= set(titles)
    assert all(p["targets"] for p in _panels(board).values())
    assert [p["id"] for p in board["panels"]] == list(range(1, len(board["panels"]) + 1))


def test_one_canary_vs_stable_panel_per_analysed_metric_split_by_pod_template_hash() -> None:
    panels = _panels(dashboard.build(PROD))
    for criterion in analysis.criteria():
        (panel,) = [p for title, p in panels.items() if title.startswith(f"{criterion.name}:")]
        for target in panel["targets"]:
            assert re.search(r"by \((le, )?rollouts_pod_template_hash\)", target["expr"]), target["expr"]
            assert "[120s]" in target["expr"]  # the analysis window: 2 x analysis.interval_seconds
        # It reads the series the analysis reads for that criterion, no other.
        side = analysis.side_queries()[criterion.name]["canary"]
        assert {n for t in panel["targets"] for n in promql.names(t["expr"])} == promql.names(side)


def test_an_analysed_metric_without_a_panel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = analysis.Criterion("new-check", "max-new", "something new", "vector(0)")
    monkeypatch.setattr(analysis, "criteria", lambda: (extra,))
    with pytest.raises(ContractError, match="'new-check' has no canary-vs-stable dashboard panel"):
        dashboard.build(PROD)


def test_the_latency_panel_draws_three_quantiles_and_the_environments_objective() -> None:
    latency = _panels(dashboard.build(PROD))["Latency quantiles of scoring requests"]
    quantiles = [re.match(r"histogram_quantile\(([0-9.]+), ", t["expr"]) for t in latency["targets"]]
    assert [q.group(1) for q in quantiles if q] == ["0.5", "0.9", "0.99"]
    assert all(f"{metrics.REQUEST_DURATION.name}_bucket" in t["expr"] for t in latency["targets"])
    assert latency["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == PROD.alerts.p99_objective_seconds
    other = PROD.model_copy(update={"alerts": PROD.alerts.model_copy(update={"p99_objective_seconds": 0.25})})
    drawn = _panels(dashboard.build(other))["Latency quantiles of scoring requests"]
    assert drawn["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 0.25


def test_panels_tile_the_grid_without_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard.build(PROD)["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= dashboard.WIDTH
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine


@pytest.mark.parametrize("env", sorted(CONFIGS))
def test_the_configmap_is_deterministic_strictly_valid_and_small(env: str, tmp_path: Path) -> None:
    cfg = CONFIGS[env]
    name, text = _configmap(cfg)
    assert _configmap(load_deploy_config(ROOT, env)) == (name, text)
    assert text.startswith(f"# {name} — rendered by `rollgate render --env {env}`")
    doc = lint.check_text(name, text)
    assert schemas.validate(name, doc, tmp_path, cfg.kubernetes_version) == []
    assert len(text.encode()) < 1024 * 1024  # the API server's limit on one object
    assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert doc["metadata"]["namespace"] == cfg.namespace
    assert list(doc["data"]) == [f"{cfg.app}-{env}.json"]
    body = doc["data"][f"{cfg.app}-{env}.json"]
    assert body == dashboard.text(cfg)
    assert json.loads(body) == dashboard.build(cfg)
    assert body == json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_a_misspelt_configmap_field_is_refused(tmp_path: Path) -> None:
    name, text = _configmap(PROD)
    doc = yaml.safe_load(text)
    doc["datas"] = doc.pop("data")
    assert schemas.validate(name, doc, tmp_path, PROD.kubernetes_version) == [
        f"{name}: ConfigMap (top): Additional properties are not allowed ('datas' was unexpected)"
    ]


def test_uid_and_title_are_stable_and_distinct_per_environment() -> None:
    boards = {env: dashboard.build(cfg) for env, cfg in CONFIGS.items()}
    assert len({b["uid"] for b in boards.values()}) == len({b["title"] for b in boards.values()}) == len(CONFIGS)
    for env, board in boards.items():
        assert board["uid"] == dashboard.build(load_deploy_config(ROOT, env))["uid"]
        assert board["uid"].startswith(f"{PROD.app}-{env}-") and len(board["uid"]) <= dashboard.UID_LENGTH
        assert env in board["title"] and board["schemaVersion"] == dashboard.SCHEMA_VERSION
    long_app = PROD.model_copy(update={"app": "a" * 63})
    assert len(dashboard.uid(long_app)) == dashboard.UID_LENGTH


def _wired(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment rendered with the dashboard wired into render.py as the report proposes."""
    files = render._files

    def with_dashboard(cfg: DeployConfig) -> dict[str, tuple[str, dict[str, object]]]:
        out = files(cfg)
        out[f"{cfg.app}-dashboard-configmap.yaml"] = ("dashboard-configmap.yaml.j2", dashboard.context(cfg))
        return out

    monkeypatch.setattr(render, "_files", with_dashboard)
    return render.render_texts(PROD, EXAMPLE)


def test_wired_into_render_it_is_one_more_listed_file_with_the_shared_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _wired(monkeypatch)
    name = f"{PROD.app}-dashboard-configmap.yaml"
    assert texts[name] == _configmap(PROD)[1]
    assert name in yaml.safe_load(texts["kustomization.yaml"])["resources"]
    service = yaml.safe_load(texts[f"{PROD.app}-stable-service.yaml"])
    assert service["metadata"]["labels"].items() <= yaml.safe_load(texts[name])["metadata"]["labels"].items()


@pytest.mark.requires_schemas
def test_wired_into_render_the_environment_still_checks_clean(monkeypatch: pytest.MonkeyPatch, schemas: Path) -> None:
    texts = _wired(monkeypatch)
    assert check.validate_rendered(ROOT, "prod", texts, schemas) == []


def _promtool(tmp_path: Path, spec: dict[str, Any], *args: str) -> None:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: run `make test-deps`")
        pytest.skip("needs promtool (make test-deps installs Debian's prometheus)")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run([PROMTOOL, *args, "spec.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def _concrete(query: str) -> str:
    """`query` with Grafana's variables as Grafana would fill them in (every hash, a 1-hour range)."""
    return query.replace("${hash}", ".*").replace("$__rate_interval", "1m").replace("$__range", "1h")


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    targets = [t["expr"] for p in _panels(dashboard.build(PROD)).values() for t in p["targets"]]
    rules = [{"record": f"dashboard:query_{i}", "expr": _concrete(q)} for i, q in enumerate(targets)]
    _promtool(tmp_path, {"groups": [{"name": "dashboard", "rules": rules}]}, "check", "rules")


def test_the_drift_query_is_the_monitors_psi(tmp_path: Path) -> None:
    # Bin "2" sees nothing and bin "missing" has no series yet: both count as the floor, as the monitor's.
    live = {"0": 50, "1": 30, "2": 0}
    reference = {"0": 0.4, "1": 0.3, "2": 0.2, "missing": 0.1}
    base = {"namespace": PROD.namespace, "rollouts_pod_template_hash": "c", "feature": "amount"}
    series = [
        {"series": _labelled(metrics.FEATURE_BIN.name, {**base, "bin": b}), "values": f"0+{n}x30"}
        for b, n in live.items()
    ]
    series += [
        {"series": _labelled(metrics.FEATURE_REFERENCE_SHARE.name, {**base, "bin": b}), "values": f"{share}x30"}
        for b, share in reference.items()
    ]
    counts = np.array([live.get(b, 0) for b in reference], dtype=float)
    expected = distance.psi(np.array(list(reference.values())), counts, dashboard_panels.FLOOR)
    expr = f"abs(({_concrete(dashboard_panels.psi(dashboard_panels.Scope(PROD.namespace, '120s')))}) - {expected!r})"
    labels = _labelled("", {k: v for k, v in base.items() if k != "namespace"})  # PSI is summed by feature and hash
    case = {"expr": f"{expr} < bool 1e-9", "eval_time": "30h", "exp_samples": [{"labels": labels, "value": 1}]}
    spec = {"rule_files": [], "evaluation_interval": "1h",
            "tests": [{"interval": "1h", "input_series": series, "promql_expr_test": [case]}]}  # fmt: skip
    _promtool(tmp_path, spec, "test", "rules")


def _labelled(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
