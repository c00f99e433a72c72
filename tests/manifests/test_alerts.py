"""The rendered PrometheusRule, run by Prometheus's own rule engine (`promtool test rules`): each alert
fires on what it is for and stays silent on a healthy server, on too few rows and while a rollout
serves two digests; the reference score distribution is recorded from the release record's baseline;
every query names only contract series; a release record without a baseline is refused."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import metrics, release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import alerts, render
from rollgate.manifests.deploy_config import load_deploy_config
from rollgate.rehearse import promql
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

PROMTOOL = shutil.which("promtool")
EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert EXAMPLE is not None and EXAMPLE.baseline is not None
SHIPPED = load_deploy_config(ROOT, "prod")
# The shipped rules with an hour's drift window instead of a day's, so the scenarios need 3 hours of
# samples, not 30: the queries are the same text but for the window.
CFG = SHIPPED.model_copy(update={"alerts": SHIPPED.alerts.model_copy(update={"drift_window": "1h"})})
NS = CFG.namespace
SHA = EXAMPLE.model.sha256
STEP_MIN = 1  # minutes between samples (a 5-minute rate needs two)
HOURS = 3  # series length: the drift window and an hour of `for` fit
SAMPLES = HOURS * 60 // STEP_MIN


def _spec(cfg: Any = CFG) -> dict[str, Any]:
    texts = render.render_texts(cfg, dataclasses.replace(EXAMPLE, env=cfg.env))
    doc: dict[str, Any] = yaml.safe_load(texts[f"{cfg.app}-prometheusrule.yaml"])
    return doc["spec"]


def _labels(given: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted({"namespace": NS, **given}.items())) + "}"


def _counter(metric: str, per_step: float, **labels: str) -> dict[str, str]:
    return {"series": f"{metric}{_labels(labels)}", "values": f"0+{per_step:g}x{SAMPLES}"}


def _gauge(metric: str, value: float, **labels: str) -> dict[str, str]:
    return {"series": f"{metric}{_labels(labels)}", "values": f"{value:g}x{SAMPLES}"}


def _server(rows: float = 6_000, *, errors: float = 0.0, rejected: float = 0.0, slow: bool = False,
            shas: tuple[str, ...] = (SHA,), scores: tuple[float, ...] | None = None
            ) -> list[dict[str, str]]:  # fmt: skip
    """A pod's series per step: `rows` scoring requests, a share of 5xx and of refused rows, its latency
    under 5 ms (or all at 0.5 s), its digests, and its score CDF at the contract's bounds (default: the
    holdout's, i.e. no drift)."""
    route = {"route": "/v1/predict"}
    out = [
        _counter(metrics.REQUESTS.name, rows * (1 - errors), code="200", **route),
        _counter(metrics.REQUESTS.name, rows * errors, code="500", **route),
        _counter(metrics.BATCH_ROWS.name + "_sum", rows),
        _counter(metrics.INPUT_REJECTED.name, rows * rejected, reason="range"),
        _counter(metrics.PREDICTION_SCORE.name + "_count", rows),
    ]
    for i, sha in enumerate(shas):
        out.append(_gauge(metrics.MODEL_INFO.name, 1, sha256=sha, name="fraud-detector", pod=f"pod-{i}"))
    for le in (0.005, 0.5, float("inf")):
        share = 1.0 if (le >= 0.5 if slow else le >= 0.005) else 0.0
        out.append(_counter(metrics.REQUEST_DURATION.name + "_bucket", rows * share, le=metrics.le_label(le), **route))
    cdf = scores or EXAMPLE.baseline.score_cdf  # type: ignore[union-attr]
    for le, share in zip((*metrics.SCORE_BUCKETS, float("inf")), (*cdf, 1.0), strict=True):
        out.append(_counter(metrics.PREDICTION_SCORE.name + "_bucket", rows * share, le=metrics.le_label(le)))
    return out


def _bins(rows: float, feature: str, shares: tuple[float, ...] | None = None) -> list[dict[str, str]]:
    """One feature's bin counters (rows per step spread over `shares`, default the reference's) and the
    reference shares the server exports."""
    bins = next(f for f in EXAMPLE.baseline.features if f.name == feature)  # type: ignore[union-attr]
    out = []
    for label, ref, live in zip(bins.labels, bins.shares, shares or bins.shares, strict=True):
        out.append(_counter(metrics.FEATURE_BIN.name, rows * live, feature=feature, bin=label))
        out.append(_gauge(metrics.FEATURE_REFERENCE_SHARE.name, ref, feature=feature, bin=label))
    return out


def _case(series: list[dict[str, str]], alert: str, fires: bool, at: str = f"{HOURS}h") -> dict[str, Any]:
    expected = [] if not fires else [{"exp_labels": {"severity": _severity(alert), "namespace": NS, "app": CFG.app,
                                                      "env": CFG.env, **_extra(alert)}}]  # fmt: skip
    return {"interval": f"{STEP_MIN}m", "input_series": series,
            "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}]}  # fmt: skip


def _severity(alert: str) -> str:
    return {r["alert"]: r["labels"]["severity"] for g in _spec()["groups"] for r in g["rules"] if "alert" in r}[alert]


def _extra(alert: str) -> dict[str, str]:
    return {"feature": "amount"} if alert.startswith("RollgateFeatureDrift") else {}


def _run(tmp_path: Path, tests: list[dict[str, Any]], spec: dict[str, Any] | None = None) -> None:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing: make test-deps installs Debian's prometheus")
        pytest.skip("needs promtool (make test-deps installs Debian's prometheus)")
    # promtool compares annotations too, and ours quote {{ $value }}: when an alert fires is the point
    # here (`promtool check rules` checks the annotations' templates, below).
    groups = [{**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
              for g in (spec or _spec())["groups"]]  # fmt: skip
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": tests}))
    _promtool(tmp_path, "test", "rules", "test.yaml")


def _promtool(folder: Path, *args: str) -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_rendered_rules_with_their_annotations(tmp_path: Path) -> None:
    if PROMTOOL is None:
        pytest.skip("needs promtool (make test-deps installs Debian's prometheus)")
    for env in ("prod", "staging"):
        (tmp_path / f"{env}.yaml").write_text(
            yaml.safe_dump({"groups": _spec(load_deploy_config(ROOT, env))["groups"]})
        )
        _promtool(tmp_path, "check", "rules", f"{env}.yaml")


DRIFTED = (0.9, *([0.1 / 10] * 10))  # nine tenths of the rows in the first bin, the rest spread


@pytest.mark.parametrize(
    ("alert", "series", "fires"),
    [
        ("RollgateErrorShare", _server(errors=0.05), True),
        ("RollgateErrorShare", _server(errors=0.002), False),
        ("RollgateLatencyObjective", _server(slow=True), True),
        ("RollgateLatencyObjective", _server(), False),
        ("RollgateInputRejected", _server(rejected=0.2), True),
        ("RollgateInputRejected", _server(rejected=0.01), False),
        ("RollgateServerAbsent", [_counter(metrics.REQUESTS.name, 1, code="200", route="/v1/predict")], True),
        ("RollgateServerAbsent", _server(), False),
        ("RollgateUnexpectedDigest", _server(shas=("ab" * 32,)), True),  # an aborted rollout's stable
        ("RollgateUnexpectedDigest", _server(shas=("ab" * 32, SHA)), False),  # a rollout in progress
        ("RollgateUnexpectedDigest", _server(), False),
        ("RollgateScoreDrift", _server(scores=tuple(0.02 for _ in metrics.SCORE_BUCKETS)), True),
        ("RollgateScoreDrift", _server(), False),
        ("RollgateScoreDrift", _server(rows=2, scores=tuple(0.02 for _ in metrics.SCORE_BUCKETS)), False),  # thin
        ("RollgateScoreDrift", _server(shas=(SHA, "ab" * 32), scores=(0.02,) * len(metrics.SCORE_BUCKETS)), False),
        ("RollgateFeatureDrift", _server() + _bins(6_000, "amount", DRIFTED), True),
        ("RollgateFeatureDriftMajor", _server() + _bins(6_000, "amount", DRIFTED), True),
        ("RollgateFeatureDrift", _server() + _bins(6_000, "amount"), False),
        ("RollgateFeatureDrift", _server() + _bins(3, "amount", DRIFTED), False),  # under min_drift_rows in the window
        ("RollgateFeatureDrift", _server(shas=(SHA, "ab" * 32)) + _bins(6_000, "amount", DRIFTED), False),
    ],
)
def test_each_alert_fires_on_its_cause_and_only_then(
    tmp_path: Path, alert: str, series: list[dict[str, str]], fires: bool
) -> None:
    _run(tmp_path, [_case(series, alert, fires)])


def test_the_reference_is_the_release_records_score_cdf_labelled_as_the_server_labels_buckets(tmp_path: Path) -> None:
    score = EXAMPLE.baseline.score_le, EXAMPLE.baseline.score_cdf  # type: ignore[union-attr]
    expected = [{"labels": f'{metrics.REFERENCE_SCORE_CDF}{{le="{metrics.le_label(le)}",namespace="{NS}"}}',
                 "value": cdf} for le, cdf in zip(*score, strict=True)]  # fmt: skip
    tests = [
        {
            "interval": "1m",
            "input_series": _server()[:1],
            "promql_expr_test": [{"expr": metrics.REFERENCE_SCORE_CDF, "eval_time": "1m", "exp_samples": expected}],
        }
    ]
    _run(tmp_path, tests)


def test_le_labels_are_the_prometheus_clients() -> None:
    from prometheus_client.utils import floatToGoString

    for bound in (*metrics.SCORE_BUCKETS, float("inf"), 0.005, 2.5):
        assert metrics.le_label(bound) == floatToGoString(bound)


def test_every_query_names_contract_series_only_and_every_alert_has_a_runbook_entry() -> None:
    known = promql.exported() | {metrics.REFERENCE_SCORE_CDF}
    runbook = (ROOT / "docs/runbook.md").read_text().lower()
    for env in ("prod", "staging"):
        for group in _spec(load_deploy_config(ROOT, env))["groups"]:
            for rule in group["rules"]:
                assert promql.names(rule["expr"]) <= known, rule
                if "alert" in rule:
                    anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
                    assert f"## {anchor}" in runbook or f'id="{anchor}"' in runbook, anchor
                    assert rule["labels"]["severity"] in ("warning", "critical")


def test_a_release_record_without_a_baseline_is_refused() -> None:
    with pytest.raises(ContractError, match=r"manifests/prod/release.json: no baseline"):
        alerts.groups(CFG, dataclasses.replace(EXAMPLE, baseline=None))
