"""Each environment's Rollout pod, run as rendered: its command, args and env from the rendered manifests,
its volumes as empty directories (the ConfigMap's release record in its mount), the model fetched over HTTP
from a loopback view of the DVC store. Only mount paths, ports and the store's base URL are rewritten
(`rollgate.manifests.local_pod`), so a server that starts here starts in the pod."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from rollgate.contracts import model_metadata, paths, release, reports
from rollgate.contracts.probe import probe_frame
from rollgate.contracts.release import Release
from rollgate.delivery import record
from rollgate.manifests import local_pod, pod, render
from rollgate.manifests.deploy_config import DeployConfig, environments, load_deploy_config
from rollgate.rehearse import store
from tests.helpers import BIN, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.serve]

ENVS = environments(ROOT)
# The embedded DVC remote and the local cache: both lay objects out as files/md5/xx/yyyy.
STORES = (ROOT / "dvc-remote", ROOT / ".dvc" / "cache")
PREDICTIONS = 24  # one row per request, each on its own connection: the workers share them
PATIENCE_S = 120.0  # for whatever has no bound of its own in the manifests
Secrets = dict[str, dict[str, str]]  # Secret name -> file name -> text


@dataclass(frozen=True)
class Pinned:
    release: Release
    store: Path  # a folder holding the release's model at files/md5/xx/yyyy


def _object(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]


def _pinned(env: str, tmp: Path) -> Pinned:
    """The env's pinned release when its bytes are here, else one built from models/ as promotion would."""
    cfg = load_deploy_config(ROOT, env)
    pinned = release.read_env(ROOT, env)
    if pinned is not None:
        found = next((s for s in STORES if _object(s, pinned.model.dvc_md5).is_file()), None)
        if found is not None:
            return Pinned(record.refresh(pinned, storage_base=cfg.model_storage_base, image=cfg.image.pinned()), found)
    if not (ROOT / paths.MODEL_ARTIFACT).is_file():
        pytest.skip(f"{env} pins no model whose bytes are here, and {paths.MODEL_ARTIFACT} does not exist")
    data = (ROOT / paths.MODEL_ARTIFACT).read_bytes()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    _object(tmp / "store", md5).parent.mkdir(parents=True)
    _object(tmp / "store", md5).write_bytes(data)
    candidate = record.Candidate(
        model_metadata.read(ROOT / paths.MODEL_METADATA), md5, reports.read_evaluation(ROOT / paths.EVALUATE_METRICS),
        source_commit="0" * 40,
    )  # fmt: skip
    built = record.build(
        candidate, env=env, verdict="promote", champion_sha256=None,
        storage_base=cfg.model_storage_base, image=cfg.image.pinned(),
    )  # fmt: skip
    return Pinned(built, tmp / "store")


def _free_ports(names: list[str]) -> dict[str, int]:
    """A distinct free loopback port per name (all bound at once, so none is handed out twice)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in names]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return {name: int(s.getsockname()[1]) for name, s in zip(names, sockets, strict=True)}


@contextmanager
def _running(
    rel: Release, store_url: str, tmp: Path, cfg: DeployConfig | None = None, secrets: Secrets | None = None
) -> Iterator[tuple[local_pod.LocalPod, subprocess.Popen[str], Path]]:
    """Render `rel` (with `cfg`, default the env's deploy config), lay its pod out under `tmp` with the
    given Secrets' files and start the rendered command (killed at exit if still up)."""
    cfg = cfg or load_deploy_config(ROOT, rel.env)
    render.write(render.render_texts(cfg, rel), tmp / "manifests")
    spec = pod.read(tmp / "manifests", secrets)
    ports = _free_ports(sorted(spec.ports))
    laid = local_pod.lay_out(spec, tmp / "pod", ports, local_pod.StoreSwap(cfg.model_storage_base, store_url))
    env = {**laid.env, "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"}  # the image's PATH: the install
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            laid.argv, cwd=laid.root, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    try:
        yield laid, proc, log
    finally:
        with suppress(ProcessLookupError):  # the server's own session: any worker left behind too
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    return _request("GET", url, None, timeout)


def _request(
    method: str, url: str, body: Any, timeout: float, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**({"content-type": "application/json"} if data else {}), **(headers or {})}
        conn.request(method, parts.path, body=data, headers=sent)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def _wait_started(laid: local_pod.LocalPod, proc: subprocess.Popen[str], log: Path) -> None:
    """Poll the startup probe as the kubelet would, within its budget (period x failureThreshold)."""
    probe = laid.probes["startup"]
    deadline = time.monotonic() + max(PATIENCE_S, probe.period_seconds * probe.failure_threshold)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the pod's server exited {proc.returncode}:\n{log.read_text()}")
        try:
            if _get(probe.url, probe.timeout_seconds)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the startup probe {probe.url} never answered 200:\n{log.read_text()}")


def _samples(text: str, name: str) -> list[tuple[str, float]]:
    """(labels, value) of every sample of the metric `name` in a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, value = line.rsplit(" ", 1)
            out.append((series[len(name) :], float(value)))
    return out


def _predicted(admin: str, timeout: float) -> float:
    """The predictions counted on the admin port, summed over label values (and so over workers)."""
    status, body = _get(f"{admin}/metrics", timeout)
    assert status == 200
    return sum(value for _, value in _samples(body.decode(), "rollgate_predictions_total"))


@pytest.mark.parametrize("env", ENVS)
def test_the_rendered_pod_starts_serves_and_stops(env: str, tmp_path: Path) -> None:
    pinned = _pinned(env, tmp_path)
    rel = pinned.release
    with store.serving(pinned.store) as store_url, _running(rel, store_url, tmp_path) as (laid, proc, log):
        _wait_started(laid, proc, log)
        for kind in ("readiness", "liveness"):
            assert _get(laid.probes[kind].url, laid.probes[kind].timeout_seconds)[0] == 200, kind
        assert Path(laid.env["PROMETHEUS_MULTIPROC_DIR"]).is_dir()  # created by the server in the empty /tmp
        scoring, admin = f"http://127.0.0.1:{laid.ports['http']}", f"http://127.0.0.1:{laid.ports['admin']}"
        rows = json.loads(probe_frame(rel.features, PREDICTIONS).to_json(orient="records"))
        for row in rows:
            status, body = _request("POST", f"{scoring}/v1/predict", {"instances": [row]}, PATIENCE_S)
            assert status == 200, body
        status, body = _get(f"{admin}/metrics", PATIENCE_S)
        info = _samples(body.decode(), "rollgate_model_info")
        assert info and all(f'sha256="{rel.model.sha256}"' in labels and value == 1 for labels, value in info), info
        deadline = time.monotonic() + PATIENCE_S  # a worker's count lands after its answer; no timing asserted
        while _predicted(admin, PATIENCE_S) < PREDICTIONS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _predicted(admin, PATIENCE_S) == PREDICTIONS  # every worker's share, summed
        status, body = _get(f"{admin}/v1/model", PATIENCE_S)
        assert status == 200 and rel.model.sha256 in body.decode()
        for path in ("/metrics", "/v1/model", "/openapi.json"):
            assert _get(f"{scoring}{path}", PATIENCE_S)[0] == 404, f"{path} must not be on the scoring port"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=laid.termination_grace_seconds) == 0, log.read_text()  # before the kubelet's kill


@pytest.mark.parametrize("env", ENVS)
def test_a_wrong_digest_in_the_release_stops_the_pod(env: str, tmp_path: Path) -> None:
    pinned = _pinned(env, tmp_path)
    wrong = hashlib.sha256(b"not the pinned model").hexdigest()
    rel = replace(pinned.release, model=replace(pinned.release.model, sha256=wrong))
    with store.serving(pinned.store) as store_url, _running(rel, store_url, tmp_path) as (_, proc, log):
        code = proc.wait(timeout=PATIENCE_S)
        output = log.read_text()
    assert code != 0 and wrong in output, output
    assert "Traceback" not in output, output


def test_the_rendered_pod_with_api_keys_checks_them(tmp_path: Path) -> None:
    """`security.api_keys: true`: the Rollout mounts the Secret's key file and the server checks it, on
    the scoring and public ports alike; the kubelet's probes need no key."""
    env = ENVS[0]
    pinned = _pinned(env, tmp_path)
    rel = pinned.release
    base = load_deploy_config(ROOT, env)
    cfg = base.model_copy(update={"security": base.security.model_copy(update={"api_keys": True})})
    key = "a-test-key-that-only-this-test-knows"
    entry = {"id": "checkout", "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": ["score"]}
    secrets = {f"{cfg.app}-api-keys": {"keys.json": json.dumps({"keys": [entry]})}}
    with (
        store.serving(pinned.store) as store_url,
        _running(rel, store_url, tmp_path, cfg, secrets) as (laid, proc, log),
    ):
        _wait_started(laid, proc, log)
        row = json.loads(probe_frame(rel.features, 1).to_json(orient="records"))
        for port in ("http", "public"):
            url = f"http://127.0.0.1:{laid.ports[port]}/v1/predict"
            assert _request("POST", url, {"instances": row}, PATIENCE_S)[0] == 401, port
            wrong = {"authorization": "Bearer not-the-key"}
            assert _request("POST", url, {"instances": row}, PATIENCE_S, wrong)[0] == 401, port
            status, body = _request("POST", url, {"instances": row}, PATIENCE_S, {"authorization": f"Bearer {key}"})
            assert status == 200, (port, body)
        admin = f"http://127.0.0.1:{laid.ports['admin']}"
        assert _request("GET", f"{admin}/metrics", None, PATIENCE_S, {"x-api-key": key})[0] == 403  # no metrics scope
        assert key not in log.read_text()
