"""What promotion verifies before it writes anything: each refusal is one clear error.

The verdict on disk must judge exactly the model on disk, for this environment, against the model
this environment pins; the digest must not be withdrawn; the source commit must descend from the one
that produced the pinned model; the work tree may differ from HEAD only by the pipeline's outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rollgate.adapters import dvc, git, history
from rollgate.contracts import baseline, model_metadata, paths, release, reports
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.errors import ArtifactError, RollgateError
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.contracts.release import Release
from rollgate.contracts.verdict import Verdict
from rollgate.delivery.record import Candidate
from rollgate.model import artifact
from rollgate.pipeline import gate

DVC_LOCK = str(dvc.LOCK)
# What `dvc repro` writes that git tracks: the promotion commit carries these when they changed
# (and every environment's verdict, under paths.GATES_DIR).
PIPELINE_FILES = frozenset({DVC_LOCK})
PIPELINE_DIRS = (str(paths.EVALUATE_METRICS.parent), str(paths.MODEL_ARTIFACT.parent), str(paths.PREPARED_DIR.parent))


class StaleSourceError(RollgateError):
    """The run's source commit does not descend from the one that produced the pinned model."""


@dataclass(frozen=True)
class Ready:
    """Everything promotion checked: the verdict, the model on disk, what the env pins, what to carry."""

    verdict: Verdict
    candidate: Candidate
    pinned: Release | None
    carried: tuple[str, ...]  # changed pipeline outputs the promotion commit carries
    added: tuple[str, ...] = ()  # new objects of an in-tree DVC remote: committed too, removed on a refusal


def _pipeline_output(path: str) -> bool:
    if path in PIPELINE_FILES or path.startswith((f"{paths.EVALUATE_METRICS.parent}/", f"{paths.GATES_DIR}/")):
        return True
    name = PurePosixPath(path)
    return name.name == ".gitignore" and name.parts[0] in PIPELINE_DIRS  # DVC lists its outputs there


def work_tree(root: Path) -> tuple[str, ...]:
    """The changed pipeline outputs; any other change (untracked files included) is a refusal."""
    changes = git.status(root)
    other = sorted(path for _, path in changes if not _pipeline_output(path))
    if other:
        shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
        raise RollgateError(
            f"the work tree has changes beyond the pipeline's outputs ({shown}): commit or remove them first; "
            f"a promotion commit carries only manifests/ and {', '.join(sorted(PIPELINE_FILES))}, "
            f"{paths.GATES_DIR}/, reports/"
        )
    return tuple(sorted(path for _, path in changes))


def model_on_disk(root: Path) -> tuple[ModelMetadata, str]:
    """The model's metadata and its dvc md5, after checking that file, metadata and dvc.lock agree."""
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    data = (root / paths.MODEL_ARTIFACT).read_bytes()
    if artifact.sha256_bytes(data) != meta.sha256:
        raise ArtifactError(
            f"digest mismatch: {paths.MODEL_ARTIFACT} has sha256 {artifact.sha256_bytes(data)}, "
            f"{paths.MODEL_METADATA} says {meta.sha256}"
        )
    md5 = dvc.locked_md5(root, "train", str(paths.MODEL_ARTIFACT))
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
        raise ArtifactError(f"digest mismatch: {DVC_LOCK} records md5 {md5} for {paths.MODEL_ARTIFACT}, not its bytes")
    return meta, md5


def baseline_on_disk(root: Path, meta: ModelMetadata, *, required: bool = True) -> ServedBaseline | None:
    """The bins and score CDF of the model's baseline (`reports/baseline.json`) for the release record,
    after checking that it is the evaluate stage's output (`dvc.lock`) for this very model. Not
    `required` (a re-render of the pinned model): None when it is absent or another model's."""
    path = root / paths.BASELINE
    if not required and not path.exists():
        return None
    doc, sha256 = baseline.read(path)
    if doc.get(baseline.DIGEST) != meta.sha256:
        if not required:
            return None
        raise ArtifactError(
            f"{paths.BASELINE}: the baseline of model {str(doc.get(baseline.DIGEST))[:12]}, not of "
            f"{meta.sha256[:12]} on disk: run `make repro`"
        )
    md5 = dvc.locked_md5(root, "evaluate", str(paths.BASELINE))
    if hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() != md5:
        raise ArtifactError(f"digest mismatch: {DVC_LOCK} records md5 {md5} for {paths.BASELINE}, not its bytes")
    return baseline.served(doc, sha256, meta.features.names, str(paths.BASELINE))


def _deployable(found: Verdict, pinned: Release | None) -> None:
    if not found.deployable:
        failed = "; ".join(f"{r.criterion}: {r.message}" for r in found.failed) or "no criterion failed"
        raise RollgateError(f"verdict {found.verdict!r} does not allow deployment (only promote, rollback): {failed}")
    against = (found.champion or {}).get("sha256") or None
    current = pinned.model.sha256 if pinned else None
    if against != current:
        raise RollgateError(
            f"{paths.gate_verdict(found.env)} judged the model against {str(against)[:12]}, but "
            f"{paths.release_record(found.env)} pins {str(current)[:12]}: re-run the gate (`make repro`)"
        )


def stale(root: Path, pinned: Release | None, source: str) -> None:
    """Refuse a source commit that does not descend from the one that produced the pinned model."""
    if pinned is not None and not git.is_ancestor(root, pinned.lineage.source_commit, source):
        raise StaleSourceError(
            f"stale source commit: {source[:12]} does not descend from {pinned.lineage.source_commit[:12]}, "
            f"which produced the model {pinned.env} pins ({pinned.model.sha256[:12]}): a stale run never pins "
            "an older model"
        )


def withdrawn(root: Path, env: str, sha256: str) -> None:
    """Refuse a digest a revert (or a rollback verdict) withdrew from `env`, unless re-allowed since."""
    from rollgate.contracts import trailers

    if sha256 in history.read(root, env).withdrawn:
        raise RollgateError(
            f"withdrawn digest: {sha256[:12]} was withdrawn from {env} (its promotion was reverted, or a rollback "
            f"replaced it); only a reviewed file {trailers.reallow(env, sha256)}, added after that, allows it again"
        )


def evaluation(root: Path) -> dict[str, float]:
    """The holdout metrics the evaluate stage wrote for the model on disk."""
    return reports.read_evaluation(root / paths.EVALUATE_METRICS)


def inspect(root: Path, env: str) -> Ready:
    """Every check promotion makes before it writes; raises on the first refusal."""
    carried = work_tree(root)
    found = gate.read(root, env)  # for `env`, judging the model models/model.json names
    meta, md5 = model_on_disk(root)
    pinned = release.read_env(root, env)
    source = git.head(root)
    if pinned is None or pinned.model.sha256 != meta.sha256:  # else: the pinned model, whatever the verdict
        _deployable(found, pinned)
        withdrawn(root, env, meta.sha256)
        stale(root, pinned, source)
    same = pinned is not None and pinned.model.sha256 == meta.sha256
    served = baseline_on_disk(root, meta, required=not same)
    return Ready(found, Candidate(meta, md5, evaluation(root), source, served), pinned, carried)
