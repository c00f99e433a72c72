"""Each side's pod started as its Rollout renders it: the container's command, args and env, its volumes
as directories under one root, only the mount paths, ports and the model store's base URL rewritten
(`rollgate.manifests.local_pod`) — so a canary that fails to start here fails in the cluster too."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts.errors import RollgateError
from rollgate.manifests import local_pod, pod
from rollgate.rehearse.processes import Process, Stack, free_ports, http_get
from rollgate.rehearse.sides import Side

POLL_S = 0.2


@dataclass(frozen=True)
class Server:
    side: Side
    laid: local_pod.LocalPod
    process: Process

    @property
    def scoring(self) -> str:
        return f"127.0.0.1:{self.laid.ports['http']}"

    @property
    def admin(self) -> str:
        return f"127.0.0.1:{self.laid.ports['admin']}"


def start(stack: Stack, side: Side, store_url: str, root: Path, extra_env: Mapping[str, str] | None = None) -> Server:
    """Lay out and start `side`'s pod under `root` (new), its model fetched from `store_url`.

    `extra_env` is added to the container's env (tests inject faults through it; never the command line).
    """
    spec = pod.read(side.folder)
    if {"http", "admin"} - set(spec.ports):
        raise RollgateError(f"{side.folder}: the pod names no http and admin ports ({sorted(spec.ports)})")
    ports = dict(zip(sorted(spec.ports), free_ports(len(spec.ports)), strict=True))
    laid = local_pod.lay_out(spec, root / "pod", ports, local_pod.StoreSwap(side.store_base, store_url))
    # The image's PATH: this install's bin first, as the image puts its venv first.
    env = {**laid.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    env.update(extra_env or {})
    process = stack.start(laid.argv, root / "server.log", env=env, cwd=laid.root)
    return Server(side, laid, process)


def wait_ready(server: Server, timeout_s: float) -> str | None:
    """Poll the readiness probe until it answers 200; None when ready, else why not (exit or deadline)."""
    probe = server.laid.probes.get("readiness") or server.laid.probes.get("startup")
    if probe is None:
        raise RollgateError(f"{server.side.folder}: the pod has no readiness or startup probe to wait on")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.process.alive():
            return f"the {server.side.name} server exited before it was ready:\n{server.process.log_tail()}"
        try:
            if http_get(probe.url, probe.timeout_seconds)[0] == 200:
                return None
        except OSError:
            pass
        time.sleep(POLL_S)
    return f"the {server.side.name} server was not ready within {timeout_s:g} s:\n{server.process.log_tail()}"
