"""Building a release record from the pipeline's outputs (promotion writes it; tests use it too)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from rollgate import __version__
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.contracts.release import GateRef, Image, Lineage, ModelRef, Release
from rollgate.model import metrics as m


@dataclass(frozen=True)
class Candidate:
    """What promotion knows about the model on disk."""

    meta: ModelMetadata
    dvc_md5: str  # the artifact's md5 as dvc.lock records it
    evaluation: dict[str, float]  # reports/evaluate.json
    source_commit: str
    baseline: ServedBaseline | None = None  # from reports/baseline.json; required to deploy a new model


def artifact_uri(storage_base: str, md5: str) -> str:
    """Where pods fetch an artifact: its content address under the DVC remote's layout."""
    return f"{storage_base.rstrip('/')}/files/md5/{md5[:2]}/{md5[2:]}"


def build(
    candidate: Candidate,
    *,
    env: str,
    verdict: str,
    champion_sha256: str | None,
    storage_base: str,
    image: Image,  # from configs/deploy/<env>.yaml
    promoted_at: datetime | None = None,
) -> Release:
    meta = candidate.meta
    when = (promoted_at or datetime.now(UTC)).replace(microsecond=0)
    return Release(
        env=env,
        model=ModelRef(
            name=meta.name,
            sha256=meta.sha256,
            uri=artifact_uri(storage_base, candidate.dvc_md5),
            dvc_md5=candidate.dvc_md5,
            prediction_fingerprint=meta.prediction_fingerprint,
        ),
        features=meta.features,
        threshold=float(candidate.evaluation[m.THRESHOLD_AT_FPR]),
        lineage=Lineage(candidate.source_commit, meta.data_md5, meta.params_hash, __version__),
        metrics={k: float(candidate.evaluation[k]) for k in m.HEADLINE},
        gate=GateRef(verdict, champion_sha256),
        image=image,
        promoted_at=when.isoformat().replace("+00:00", "Z"),
        baseline=candidate.baseline,
    )


def refresh(pinned: Release, *, storage_base: str, image: Image, baseline: ServedBaseline | None = None) -> Release:
    """The pinned record with today's image and storage location, and the pinned model's `baseline`
    when one is given (else the record's own): what a re-render deploys."""
    uri = artifact_uri(storage_base, pinned.model.dvc_md5)
    return replace(pinned, image=image, model=replace(pinned.model, uri=uri), baseline=baseline or pinned.baseline)
