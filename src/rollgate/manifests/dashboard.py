"""An environment's Grafana dashboard, generated from the metrics contract, and what its ConfigMap needs.

The Grafana sidecar (k8s-sidecar, as kube-prometheus-stack runs it) loads every ConfigMap labelled
`grafana_dashboard: "1"`; this one carries the dashboard under `<app>-<env>.json`. The panels and their
queries come from `dashboard_panels`, whose every series name is the contract's, so a renamed metric
cannot leave a dead panel. Pure: the dashboard is a dict, its text canonical JSON (sorted keys, two-space
indent), so the same deploy config always renders the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rollgate.contracts import jsonio
from rollgate.manifests import dashboard_panels as p
from rollgate.manifests.deploy_config import DeployConfig

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}  # chosen on the dashboard, not pinned here
HEIGHT = 8  # grid rows per panel
WIDTH = 24  # Grafana's grid is 24 columns wide
UID_LENGTH = 40  # Grafana refuses a longer uid


def uid(cfg: DeployConfig) -> str:
    """Stable and distinct per app and environment: a readable prefix and a hash of both (at most 40 chars)."""
    digest = hashlib.sha256(f"{cfg.app}/{cfg.env}".encode()).hexdigest()[:8]
    return f"{f'{cfg.app}-{cfg.env}'[: UID_LENGTH - len(digest) - 1]}-{digest}"


def _variables(cfg: DeployConfig) -> list[dict[str, Any]]:
    hashes = p.hash_values(cfg.namespace)
    return [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "hide": 0},
        # "All" is `.*`, which also matches a series without the label (a pod outside a Rollout).
        {"name": "hash", "label": "pod template hash", "type": "query", "datasource": DATASOURCE,
         "query": {"query": hashes, "refId": "hash"}, "definition": hashes, "refresh": 2, "sort": 1,
         "multi": True, "includeAll": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"}},
    ]  # fmt: skip


def _thresholds(values: tuple[float, ...]) -> dict[str, Any]:
    if not values:
        return {}
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]  # null: the base, below every line
    steps += [{"color": color, "value": v} for color, v in zip(("orange", "red"), values, strict=False)]
    return {"thresholds": {"mode": "absolute", "steps": steps}, "custom": {"thresholdsStyle": {"mode": "line"}}}


def _panel(panel: p.Panel, number: int, pos: dict[str, int]) -> dict[str, Any]:
    targets = [
        {"refId": chr(ord("A") + i), "expr": t.expr, "legendFormat": t.legend, "datasource": DATASOURCE,
         "instant": t.instant, "range": not t.instant, **({"format": "table"} if t.instant else {})}
        for i, t in enumerate(panel.targets)
    ]  # fmt: skip
    defaults = {"unit": panel.unit, **_thresholds(panel.thresholds)}
    return {
        "id": number, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": DATASOURCE, "gridPos": pos, "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []}, "options": {}, **panel.extra,
    }  # fmt: skip


def _layout(sections: list[tuple[str, list[p.Panel]]]) -> list[dict[str, Any]]:
    """A row per section, its panels filling the grid left to right; ids in order, so stable."""
    out: list[dict[str, Any]] = []
    y = 0
    for title, panels in sections:
        out.append({"id": len(out) + 1, "type": "row", "title": title, "collapsed": False, "panels": [],
                    "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y}})  # fmt: skip
        x, y = 0, y + 1
        for panel in panels:
            if x + panel.width > WIDTH:
                x, y = 0, y + HEIGHT
            out.append(_panel(panel, len(out) + 1, {"h": HEIGHT, "w": panel.width, "x": x, "y": y}))
            x += panel.width
        y += HEIGHT
    return out


def build(cfg: DeployConfig) -> dict[str, Any]:
    """The dashboard of `cfg`'s environment; its latency objective (`alerts.p99_objective_seconds`) is
    drawn on the latency panel."""
    scope = p.Scope(cfg.namespace, f"{2 * cfg.analysis.interval_seconds}s")  # the AnalysisTemplate's window
    sections = [
        ("Traffic", p.traffic_panels(scope, cfg.alerts.p99_objective_seconds)),
        ("Canary against stable, as the analysis judges it", p.canary_panels(scope)),
        ("Model", p.model_panels(scope)),
        ("Drift", p.drift_panels(scope)),
    ]
    return {
        "uid": uid(cfg), "title": f"{cfg.app} ({cfg.env})", "tags": ["rollgate", cfg.app, cfg.env],
        "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": False,  # generated: an edit would be lost
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "timezone": "utc",
        "templating": {"list": _variables(cfg)}, "annotations": {"list": []}, "panels": _layout(sections),
    }  # fmt: skip


def data_key(cfg: DeployConfig) -> str:
    return f"{cfg.app}-{cfg.env}.json"


def text(cfg: DeployConfig) -> str:
    """The dashboard's canonical JSON: same config, same bytes."""
    return jsonio.dumps(build(cfg))


def context(cfg: DeployConfig) -> dict[str, object]:
    """What `dashboard-configmap.yaml.j2` needs beside render's `cfg` and `file`."""
    labels = {"app": cfg.app, "app.kubernetes.io/part-of": "rollgate", "rollgate.dev/env": cfg.env}
    return {
        "dashboard_name": f"{cfg.app}-dashboard",
        "dashboard_labels": json.dumps({**labels, "grafana_dashboard": "1"}),  # the sidecar's label
        "dashboard_key": data_key(cfg),
        "dashboard_json": text(cfg),
    }
