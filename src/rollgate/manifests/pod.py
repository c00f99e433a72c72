"""The model server's pod as rendered: the Rollout's container and what it mounts, read from a rendered
environment folder (`manifests/<env>/`, or a temporary render).

Only what a local run can reproduce faithfully is accepted. Anything else (an env var from a Secret, a
volume that is not a configMap, an emptyDir or a Secret whose files the caller gives, a second
container, `$(VAR)` expansion, another command) is an error naming the file and the field, never
silently skipped: a local run that quietly differs from the pod would prove nothing.
`rollgate.manifests.local_pod` lays the result out on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError

COMMAND = ("rollgate", "serve")
PROBES = ("startup", "readiness", "liveness")
# Container fields a local run reproduces, or knowingly leaves to the kubelet (image, resources, security).
_FIELDS = {"name", "image", "command", "args", "env", "ports", "resources", "securityContext", "volumeMounts"}
_FIELDS |= {f"{kind}Probe" for kind in PROBES}
# Pod fields that do not change what the process sees (where it is scheduled, who it runs as).
_POD_FIELDS = {"containers", "volumes", "terminationGracePeriodSeconds", "serviceAccountName", "securityContext"}
_POD_FIELDS |= {"automountServiceAccountToken", "affinity", "tolerations", "nodeSelector", "topologySpreadConstraints"}
# The kubelet's defaults for a probe field left out.
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "failureThreshold": 3}


@dataclass(frozen=True)
class Probe:
    """An httpGet probe: what to poll, on which named container port, and how patiently."""

    kind: str  # startup, readiness or liveness
    path: str
    port: str  # the container port's name
    timeout_seconds: int
    period_seconds: int
    failure_threshold: int


@dataclass(frozen=True)
class Mount:
    """A volume mount: an emptyDir (no files) or a configMap (its data as files)."""

    path: str  # absolute, inside the container
    files: dict[str, str]  # file name -> text
    read_only: bool


@dataclass(frozen=True)
class PodSpec:
    """The one container of the Rollout's pod template, as the kubelet would start it."""

    command: tuple[str, ...]
    args: tuple[str, ...]
    env: dict[str, str]
    ports: dict[str, int]  # port name -> containerPort
    mounts: tuple[Mount, ...]
    probes: dict[str, Probe]  # kind -> probe
    termination_grace_seconds: int


def read(folder: Path, secrets: Mapping[str, Mapping[str, str]] | None = None) -> PodSpec:
    """The Rollout's pod of a rendered environment folder, checked to hold only what a local run reproduces.

    Args:
        folder: the rendered environment.
        secrets: Secret name -> its files, for volumes from Secrets (created outside git, so never in
            the folder: the caller brings them, e.g. a test's API-key file).

    Raises:
        ContractError: no single Rollout or container, or a field this module does not understand.
    """
    docs = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))}
    rollouts = [name for name, doc in docs.items() if _kind(doc) == "Rollout"]
    if len(rollouts) != 1:
        raise ContractError(f"{folder}: expected one Rollout, found {len(rollouts)}")
    where = f"{folder / rollouts[0]}: spec.template.spec"
    pod = docs[rollouts[0]]["spec"]["template"]["spec"]
    extra = sorted(set(pod) - _POD_FIELDS)
    if len(pod.get("containers", [])) != 1 or extra:
        raise ContractError(f"{where}: a local run needs one container and none of {extra or 'these fields'}")
    (container,) = pod["containers"]
    _understood(container, f"{where}.containers[0]")
    configmaps = {d["metadata"]["name"]: d for d in docs.values() if _kind(d) == "ConfigMap"}
    ports = _ports(container.get("ports", []), f"{where}.containers[0].ports")
    return PodSpec(
        command=tuple(container["command"]),
        args=tuple(str(a) for a in container.get("args", [])),
        env=_env(container.get("env", []), f"{where}.containers[0].env"),
        ports=ports,
        mounts=_mounts(
            container.get("volumeMounts", []), pod.get("volumes", []), {**configmaps, **_secrets(secrets)}, where
        ),
        probes={k: _probe(k, container[f"{k}Probe"], ports, where) for k in PROBES if f"{k}Probe" in container},
        termination_grace_seconds=int(pod.get("terminationGracePeriodSeconds", 30)),
    )


def _secrets(secrets: Mapping[str, Mapping[str, str]] | None) -> dict[str, Any]:
    """Secrets in the shape of ConfigMaps (under a key no ConfigMap name can take: `secret/<name>`)."""
    return {f"secret/{name}": {"data": dict(files)} for name, files in (secrets or {}).items()}


def _kind(doc: Any) -> str | None:
    return doc.get("kind") if isinstance(doc, dict) else None


def _understood(container: dict[str, Any], where: str) -> None:
    extra = sorted(set(container) - _FIELDS)
    if extra:
        raise ContractError(f"{where}: fields a local run cannot reproduce: {', '.join(extra)}")
    if tuple(container.get("command", ())) != COMMAND:
        raise ContractError(f"{where}.command: expected {list(COMMAND)}, got {container.get('command')}")
    values = [*container.get("args", []), *(e.get("value", "") for e in container.get("env", []))]
    if any("$(" in str(v) for v in values):
        raise ContractError(f"{where}: $(VAR) expansion in args or env is not reproduced locally")


def _ports(entries: list[dict[str, Any]], where: str) -> dict[str, int]:
    out = {}
    for i, entry in enumerate(entries):
        named = {"name", "containerPort"} <= set(entry) <= {"name", "containerPort", "protocol"}
        if not named or entry.get("protocol", "TCP") != "TCP":
            raise ContractError(f"{where}[{i}]: only a named TCP containerPort is reproduced locally")
        out[str(entry["name"])] = int(entry["containerPort"])
    return out


def _env(entries: list[dict[str, Any]], where: str) -> dict[str, str]:
    out = {}
    for i, entry in enumerate(entries):
        if set(entry) != {"name", "value"}:
            raise ContractError(f"{where}[{i}] ({entry.get('name')}): only literal values (no valueFrom) run locally")
        out[str(entry["name"])] = str(entry["value"])
    return out


def _mounts(
    mounts: list[dict[str, Any]], volumes: list[dict[str, Any]], configmaps: dict[str, Any], where: str
) -> tuple[Mount, ...]:
    by_name = {v["name"]: v for v in volumes}
    out = []
    for i, mount in enumerate(mounts):
        at = f"{where}.containers[0].volumeMounts[{i}]"
        path = str(mount["mountPath"])
        if set(mount) - {"name", "mountPath", "readOnly"} or not path.startswith("/") or path.strip("/") == "":
            raise ContractError(f"{at}: only name, an absolute mountPath (not /) and readOnly are reproduced locally")
        files = _files(by_name.get(mount["name"], {"name": mount["name"]}), configmaps, at)
        out.append(Mount(path, files, bool(mount.get("readOnly", False))))
    return tuple(out)


def _files(volume: dict[str, Any], configmaps: dict[str, Any], at: str) -> dict[str, str]:
    """The files a volume starts with: none for an emptyDir, the data of a whole configMap or a given Secret."""
    kinds = sorted(set(volume) - {"name"})
    if kinds == ["emptyDir"]:
        return {}
    if kinds == ["configMap"] and set(volume["configMap"]) == {"name"}:
        name = volume["configMap"]["name"]
        if name not in configmaps:
            raise ContractError(f"{at}: ConfigMap {name} is not in the rendered folder")
        return {str(k): str(v) for k, v in configmaps[name].get("data", {}).items()}
    if kinds == ["secret"] and set(volume["secret"]) <= {"secretName", "defaultMode"}:
        name = volume["secret"]["secretName"]
        if f"secret/{name}" not in configmaps:
            raise ContractError(f"{at}: Secret {name} is created outside git: a local run needs its files given")
        return {str(k): str(v) for k, v in configmaps[f"secret/{name}"]["data"].items()}
    raise ContractError(
        f"{at}: volume {volume['name']!r} is {kinds or 'not declared'}, not an emptyDir, a whole configMap or a secret"
    )


def _probe(kind: str, raw: dict[str, Any], ports: dict[str, int], where: str) -> Probe:
    get = raw.get("httpGet")
    at = f"{where}.containers[0].{kind}Probe"
    if get is None or set(get) - {"path", "port", "scheme"} or get.get("scheme", "HTTP") != "HTTP":
        raise ContractError(f"{at}: only a plain httpGet (path, port) probe is reproduced locally")
    port = get["port"]
    named = port if isinstance(port, str) else next((n for n, p in ports.items() if p == port), None)
    if named not in ports:
        raise ContractError(f"{at}: port {port!r} is not one of the container's ports {sorted(ports)}")
    timing = {**_PROBE_DEFAULTS, **{k: raw[k] for k in _PROBE_DEFAULTS if k in raw}}
    return Probe(
        kind, str(get.get("path", "/")), str(named),
        int(timing["timeoutSeconds"]), int(timing["periodSeconds"]), int(timing["failureThreshold"]),
    )  # fmt: skip
