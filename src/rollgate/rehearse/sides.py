"""The two sides of a rehearsal, each a rendered environment folder with its model's bytes.

Stable is what the environment runs now: the committed `manifests/<env>/`, pinning the champion of its
release record. The canary is what a promotion would deploy: the environment rendered from the working
tree's deploy config and templates for the challenger (default: the model on disk), or a rendered
folder given whole. Each side's pod template hash stands in for the `rollouts-pod-template-hash` label
Argo Rollouts puts on its ReplicaSets' pods: two different templates, two different hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rollgate.adapters import dvc_store, git
from rollgate.contracts import model_metadata, paths, release, reports
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.errors import ArtifactError, ContractError, RollgateError
from rollgate.contracts.release import Release
from rollgate.delivery import preconditions, record
from rollgate.manifests import local_pod, render
from rollgate.manifests.deploy_config import load_deploy_config
from rollgate.model import artifact
from rollgate.model import metrics as m
from rollgate.rehearse import plan, store

HASH_LENGTH = 10  # Argo's pod template hashes are short hex-like strings too


@dataclass(frozen=True)
class Side:
    name: str  # stable or canary
    folder: Path  # a rendered environment folder: its Rollout's pod is what runs
    release: Release  # the record its pod mounts
    hash: str  # its pod template hash

    @property
    def store_base(self) -> str:
        """The model store base URL the record's model URI starts with (swapped for the loopback store)."""
        uri = self.release.model.uri
        return uri[: uri.rindex("/files/md5/")]


def pod_template_hash(folder: Path) -> str:
    """A short digest of the folder's Rollout pod template: it changes whenever the template does."""
    rollouts = [d for _, d in plan.documents(folder) if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise ContractError(f"{folder}: expected one Rollout, found {len(rollouts)}")
    spec = rollouts[0].get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def mounted_release(folder: Path) -> Release:
    """The release record the folder's pod mounts (its ConfigMap's release.json)."""
    for _, doc in plan.documents(folder):
        data = doc.get("data")
        if doc.get("kind") == "ConfigMap" and isinstance(data, dict) and local_pod.RELEASE_FILE in data:
            found = release.loads(str(data[local_pod.RELEASE_FILE]), f"{folder}: ConfigMap {local_pod.RELEASE_FILE}")
            if found is not None:
                return found
    raise ContractError(f"{folder}: no ConfigMap holds a release record pinning a model")


def stable(root: Path, env: str) -> Side:
    folder = root / paths.release_record(env).parent
    if release.read_env(root, env) is None:
        raise RollgateError(f"{env} runs no model yet ({paths.release_record(env)} pins none): a rehearsal needs a "
                            "stable to compare with; the first deployment has no canary")  # fmt: skip
    return Side("stable", folder, mounted_release(folder), pod_template_hash(folder))


def canary(root: Path, env: str, *, out: Path, stable_side: Side, model: Path | None, sha256: str | None) -> Side:
    """The challenger rendered as promotion would render it, into `out` (new)."""
    path = model or root / paths.MODEL_ARTIFACT
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise RollgateError(f"{path}: no challenger model with its metadata ({meta_path.name}) here; run `make repro`")
    meta = model_metadata.read(meta_path)
    data = path.read_bytes()
    actual = artifact.sha256_bytes(data)
    if actual != meta.sha256 or (sha256 is not None and sha256 != actual):
        expected = sha256 if sha256 is not None and sha256 != actual else meta.sha256
        raise ArtifactError(f"{path} has sha256 {actual}, not {expected}")
    ours = root / paths.MODEL_METADATA
    mine = ours.is_file() and model_metadata.read(ours).sha256 == actual
    if mine and (root / paths.EVALUATE_METRICS).is_file():
        evaluation = reports.read_evaluation(root / paths.EVALUATE_METRICS)
    else:  # a model from elsewhere: judged at the champion's threshold, reported with the champion's metrics
        evaluation = {**stable_side.release.metrics, m.THRESHOLD_AT_FPR: stable_side.release.threshold}
    served = preconditions.baseline_on_disk(root, meta, required=False) if mine else None
    cfg = load_deploy_config(root, env)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    candidate = record.Candidate(
        meta, md5, evaluation, source_commit=git.head_or_none(root) or "0" * 40,
        baseline=served or _stable_bins(stable_side, meta.features.names, path),
    )  # fmt: skip
    built = record.build(
        candidate, env=env, verdict="promote", champion_sha256=stable_side.release.model.sha256,
        storage_base=cfg.model_storage_base, image=cfg.image.pinned(),
    )  # fmt: skip
    render.render(root, env, built, out)
    return Side("canary", out, built, pod_template_hash(out))


def _stable_bins(stable_side: Side, names: list[str], path: Path) -> ServedBaseline:
    """A challenger without a baseline of its own (a model from elsewhere) counts its rows into the
    champion's bins, when they are bins of the same features: the rehearsal judges the analysis, not
    the alerts."""
    bins = stable_side.release.baseline
    if bins is None or [f.name for f in bins.features] != names:
        raise RollgateError(
            f"{path}: no baseline for this challenger (reports/baseline.json is another model's) and the "
            "champion's bins are not for its features: rehearse the pipeline's own model (`make repro`)"
        )
    return bins


def given(folder: Path) -> Side:
    """A rendered folder rehearsed as the canary as it is (`--canary-manifests`)."""
    if not folder.is_dir():
        raise RollgateError(f"{folder}: no such folder (--canary-manifests names a rendered environment folder)")
    return Side("canary", folder, mounted_release(folder), pod_template_hash(folder))


def stock(root: Path, folder: Path, sides: tuple[Side, ...], challenger: Path | None) -> None:
    """Put each side's model bytes into the loopback store `folder`, each checked against its digest:
    the challenger's from its file, the others from the DVC cache or the default remote."""
    on_disk = [p for p in (challenger, root / paths.MODEL_ARTIFACT) if p is not None and p.is_file()]
    by_sha = {artifact.sha256_bytes(data): data for data in (p.read_bytes() for p in on_disk)}
    for side in sides:
        model = side.release.model
        data = by_sha.get(model.sha256)
        if data is None:
            data = dvc_store.fetch_artifact(root, model.dvc_md5, model.sha256, f"the {side.name} model",
                                            f"{side.folder.name}'s release record")  # fmt: skip
        store.put(folder, model.dvc_md5, data)
