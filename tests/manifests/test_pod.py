"""The rendered pod read back (`rollgate.manifests.pod`) and laid out locally (`local_pod`): only mount paths,
ports and the model store are rewritten, and whatever a local run cannot reproduce is refused by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import local_pod, pod, render
from rollgate.manifests.deploy_config import load_deploy_config
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

CFG = load_deploy_config(ROOT, "prod")
_EXAMPLE = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
assert _EXAMPLE is not None
BASE = CFG.model_storage_base
EXAMPLE = replace(_EXAMPLE, model=replace(_EXAMPLE.model, uri=f"{BASE}/files/md5/00/{'0' * 30}"))
STORE = local_pod.StoreSwap(BASE, "http://127.0.0.1:9")


def _folder(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A rendered prod folder; `edit` changes the Rollout's pod template spec first."""
    folder = tmp_path / "rendered"
    render.write(render.render_texts(CFG, EXAMPLE), folder)
    if edit is not None:
        path = folder / f"{CFG.app}-rollout.yaml"
        doc = yaml.safe_load(path.read_text())
        edit(doc["spec"]["template"]["spec"])
        path.write_text(yaml.safe_dump(doc))
    return folder


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = spec["containers"][0]
    return container


def test_the_pod_as_rendered_is_read_whole(tmp_path: Path) -> None:
    spec = pod.read(_folder(tmp_path))
    assert spec.command == pod.COMMAND and "--release" in spec.args
    assert spec.ports == {"http": 8080, "admin": 8081, "public": 8082}
    assert {m.path for m in spec.mounts} == {"/etc/rollgate", "/tmp", "/var/log/rollgate"}
    assert {p.port for p in spec.probes.values()} == {"admin"} and set(spec.probes) == set(pod.PROBES)
    assert spec.termination_grace_seconds == int(CFG.server.drain_seconds + CFG.server.grace_seconds) + 5


def test_local_layout_rewrites_only_paths_ports_and_the_store(tmp_path: Path) -> None:
    spec = pod.read(_folder(tmp_path))
    root = tmp_path / "pod"
    local = local_pod.lay_out(spec, root, ports={"http": 18080, "admin": 18081}, store=STORE)
    expected = [
        str(root / a[1:]) if a.startswith(("/etc/", "/var/")) else {"8080": "18080", "8081": "18081"}.get(a, a)
        for a in (*spec.command, *spec.args)
    ]
    assert list(local.argv) == expected
    assert local.env == {**spec.env, "PROMETHEUS_MULTIPROC_DIR": f"{root}/tmp/metrics"}
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["release.json"]  # emptyDirs stay empty
    served = json.loads((root / "etc/rollgate/release.json").read_text())
    assert served["model"]["uri"] == f"{STORE.local}/files/md5/00/{'0' * 30}"
    assert {**served, "model": {**served["model"], "uri": EXAMPLE.model.uri}} == EXAMPLE.to_dict()
    assert local.probes["readiness"].url == "http://127.0.0.1:18081/readyz"
    assert local.probes["liveness"].timeout_seconds == spec.probes["liveness"].timeout_seconds


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda spec: _container(spec).__setitem__(field, value)


def _env_from_secret(spec: dict[str, Any]) -> None:
    _container(spec)["env"].append({"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})


def _host_path(spec: dict[str, Any]) -> None:
    spec["volumes"][1] = {"name": "tmp", "hostPath": {"path": "/tmp"}}


def _sidecar(spec: dict[str, Any]) -> None:
    spec["containers"].append({"name": "sidecar", "image": "x"})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_env_from_secret, r"env\[\d+\] \(TOKEN\): only literal values"),
        (_host_path, r"volume 'tmp' is \['hostPath'\], not an emptyDir"),
        (_set("command", ["python", "-m", "rollgate", "serve"]), r"command: expected \['rollgate', 'serve'\]"),
        (_set("envFrom", [{"secretRef": {"name": "s"}}]), "fields a local run cannot reproduce: envFrom"),
        (_set("workingDir", "/srv"), "fields a local run cannot reproduce: workingDir"),
        (_set("args", ["--release", "$(RELEASE)"]), r"\$\(VAR\) expansion"),
        (_sidecar, "needs one container"),
        (_set("ports", [{"containerPort": 8080}]), r"ports\[0\]: only a named TCP containerPort"),
        (lambda spec: spec.__setitem__("initContainers", []), r"none of \['initContainers'\]"),
        (_set("livenessProbe", {"tcpSocket": {"port": "admin"}}), "livenessProbe: only a plain httpGet"),
        (_set("readinessProbe", {"httpGet": {"path": "/readyz", "port": "nope"}}), "port 'nope' is not one"),
    ],
)
def test_what_a_local_run_cannot_reproduce_is_refused(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(ContractError, match=message):
        pod.read(_folder(tmp_path, edit))


@pytest.mark.parametrize(
    ("edit", "ports", "store", "message"),
    [
        (None, {"metrics": 1}, None, r"unknown container ports \['metrics'\]"),
        (_set("args", ["--port", "9000"]), None, None, r"--port 9000: not a declared container port"),
        (_set("args", ["--port", "8080"]), {"admin": 18081}, None, r"ports \['admin'\] appear in no --\*port"),
        (None, None, local_pod.StoreSwap("https://elsewhere.example.com", "http://x"), "not a model under"),
        (_set("volumeMounts", []), None, STORE, "no mounted release.json"),
    ],
)
def test_a_layout_that_cannot_hold_is_refused(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None] | None,
    ports: dict[str, int] | None,
    store: local_pod.StoreSwap | None,
    message: str,
) -> None:
    spec = pod.read(_folder(tmp_path, edit))
    with pytest.raises(ContractError, match=message):
        local_pod.lay_out(spec, tmp_path / "pod", ports=ports, store=store)


def test_a_used_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pod").mkdir()
    (tmp_path / "pod" / "left-over").write_text("")
    with pytest.raises(ContractError, match="must be new or empty"):
        local_pod.lay_out(pod.read(_folder(tmp_path)), tmp_path / "pod")
