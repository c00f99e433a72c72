"""A rendered pod (`rollgate.manifests.pod`) laid out for a local process: the same command, args and env,
its volumes as directories under one root.

The argv and env are rewritten only by (a) relocating absolute mount paths under the root, (b) mapping
container ports to given local ports (parallel runs never collide) and (c) swapping the release record's
model store base URL for a local one. Everything else passes through untouched, so what runs locally is
what the Rollout runs. Volumes start as the kubelet makes them: emptyDirs empty, configMaps with their
data as files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts import jsonio
from rollgate.contracts.errors import ContractError
from rollgate.contracts.release import loads as load_release
from rollgate.manifests.pod import Mount, PodSpec, Probe

RELEASE_FILE = "release.json"  # the release record's key in its ConfigMap (rendered by render.py)
_PORT_OPTION = re.compile(r"^--[a-z-]*port$")


@dataclass(frozen=True)
class StoreSwap:
    """The model store the release record names, and the local one that replaces it."""

    base: str  # the deploy config's `model_storage_base`: the record's `model.uri` starts with it
    local: str  # e.g. http://127.0.0.1:PORT, serving the same layout (files/md5/xx/yyyy)


@dataclass(frozen=True)
class LocalProbe:
    """A probe as a local caller polls it."""

    kind: str  # startup, readiness or liveness
    url: str  # http://127.0.0.1:<local port><path>
    timeout_seconds: int
    period_seconds: int
    failure_threshold: int


@dataclass(frozen=True)
class LocalPod:
    """Everything needed to start the pod's process locally (`subprocess.Popen(argv, cwd=root, env=...)`).

    `env` is the container's alone: the caller adds what the image provides (PATH to an install).
    """

    root: Path  # the container's filesystem root: its mount paths are directories below
    argv: tuple[str, ...]
    env: dict[str, str]
    ports: dict[str, int]  # container port name -> local port
    probes: dict[str, LocalProbe]  # kind -> probe
    termination_grace_seconds: int


def lay_out(
    spec: PodSpec, root: Path, ports: Mapping[str, int] | None = None, store: StoreSwap | None = None
) -> LocalPod:
    """Create the pod's volumes under `root` (new or empty) and rewrite its argv and env for them.

    Args:
        ports: container port name -> local port; unnamed ports keep their container numbers.
        store: replace the release record's model store (the mounted `release.json`'s `model.uri`).

    Raises:
        ContractError: `root` is not empty, a port is unknown or absent from the args, or the release
            record is not under `store.base`.
    """
    if root.exists() and any(root.iterdir()):
        raise ContractError(f"{root}: a pod's root must be new or empty")
    local = {name: int((ports or {}).get(name, number)) for name, number in spec.ports.items()}
    if set(ports or {}) - set(spec.ports):
        raise ContractError(f"unknown container ports {sorted(set(ports or {}) - set(spec.ports))}")
    args = _ports(spec, local)
    swapped = False
    for mount in spec.mounts:
        swapped |= _create(root, mount, store)
    if store is not None and not swapped:
        raise ContractError(f"no mounted {RELEASE_FILE} to point at the local model store {store.local}")
    mounts = sorted((m.path.rstrip("/") for m in spec.mounts), key=len, reverse=True)
    return LocalPod(
        root=root,
        argv=tuple(_relocated(a, root, mounts) for a in (*spec.command, *args)),
        env={k: _relocated(v, root, mounts) for k, v in spec.env.items()},
        ports=local,
        probes={kind: _probe(probe, local) for kind, probe in spec.probes.items()},
        termination_grace_seconds=spec.termination_grace_seconds,
    )


def _ports(spec: PodSpec, local: dict[str, int]) -> list[str]:
    """The args with every `--*port N` (or `--*port=N`) value mapped; each one must be a declared port."""
    by_number = {number: name for name, number in spec.ports.items()}
    out, seen = list(spec.args), set()
    for i, arg in enumerate(spec.args):
        option, _, inline = arg.partition("=")
        value = inline if inline else (spec.args[i + 1] if i + 1 < len(spec.args) else "")
        if not _PORT_OPTION.match(option) or not value.isdigit():
            continue
        name = by_number.get(int(value))
        if name is None:
            raise ContractError(f"{option} {value}: not a declared container port {sorted(spec.ports.values())}")
        seen.add(name)
        if inline:
            out[i] = f"{option}={local[name]}"
        else:
            out[i + 1] = str(local[name])
    missing = sorted(n for n in spec.ports if n not in seen and local[n] != spec.ports[n])
    if missing:
        raise ContractError(f"container ports {missing} appear in no --*port argument: they cannot be moved")
    return out


def _probe(probe: Probe, local: dict[str, int]) -> LocalProbe:
    url = f"http://127.0.0.1:{local[probe.port]}{probe.path}"
    return LocalProbe(probe.kind, url, probe.timeout_seconds, probe.period_seconds, probe.failure_threshold)


def _relocated(value: str, root: Path, mounts: list[str]) -> str:
    """`value` (or the value of `--opt=value`) under `root` when it lies in a mount, else untouched."""
    option, eq, path = value.partition("=") if value.startswith("--") else ("", "", value)
    for mount in mounts:
        if path == mount or path.startswith(mount + "/"):
            return f"{option}{eq}{root}{path}"
    return value


def _create(root: Path, mount: Mount, store: StoreSwap | None) -> bool:
    """Make the mount's directory with its files; True when it held the release record and `store` swapped it."""
    folder = root / mount.path.lstrip("/")
    folder.mkdir(parents=True, exist_ok=True)
    swapped = False
    for name, content in mount.files.items():
        text = content
        if store is not None and name == RELEASE_FILE:
            text, swapped = _swap(content, store, f"{mount.path}/{name}"), True
        (folder / name).write_text(text, encoding="utf-8")
        if mount.read_only:
            (folder / name).chmod(0o444)
    if mount.read_only:
        folder.chmod(0o555)
    return swapped


def _swap(text: str, store: StoreSwap, source: str) -> str:
    record = load_release(text, source)  # schema-checked: the server reads exactly this file
    base = store.base.rstrip("/") + "/"
    if record is None or not record.model.uri.startswith(base):
        pinned = record.model.uri if record else "no model"
        raise ContractError(f"{source}: pins {pinned}, not a model under {base}")
    raw = json.loads(text)
    raw["model"]["uri"] = store.local.rstrip("/") + "/" + record.model.uri.removeprefix(base)
    return jsonio.dumps(raw)
