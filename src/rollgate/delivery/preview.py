"""What merging would do to an environment: the manifest diff (rendered into a temporary directory,
never into manifests/) and the rollout plan in words. Used by `make demo` and the PR report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rollgate.adapters import git
from rollgate.contracts import jsonio, paths, release, verdict
from rollgate.delivery import preconditions, record
from rollgate.manifests import render
from rollgate.manifests.deploy_config import DeployConfig, load_deploy_config
from rollgate.manifests.diff import diff


def plan_in_words(cfg: DeployConfig) -> str:
    """The rollout steps of `cfg`, as a person would say them."""
    r, a = cfg.rollout, cfg.analysis
    check = (
        f"analysis ({a.samples} measurements {a.interval_seconds} s apart, canary vs stable: 5xx share, p99 latency, "
        f"rejected rows, positive-rate and mean-score ratios, score distribution; abort after "
        f"{a.failure_limit + 1} failures; under {a.min_requests} canary requests, or {a.min_expected_positives} "
        f"expected positives for the ratios, it waits)"
    )
    steps = [
        f"1. shadow: canary pods start at {render.SHADOW_WEIGHT}% of stable's size and receive a copy of "
        f"{render.SHADOW_WEIGHT}% of the scoring requests for {r.shadow_minutes} min (their answers are discarded); "
        f"then {check}",
    ]
    for i, weight in enumerate(r.canary_weights[:-1], 2):
        pause = f", {r.pause_minutes} min" if r.pause_minutes else ""
        steps.append(f"{i}. canary: {weight}% of live traffic{pause}, then the same analysis")
    steps.append(f"{len(steps) + 1}. full: 100% — the canary becomes stable")
    steps.append(
        f"   any failed analysis aborts: stable keeps serving, GitHub gets `rollgate-rollout-aborted`; a pod not "
        f"ready within {r.progress_deadline_seconds} s aborts too"
    )
    return "\n".join(steps)


def merged_texts(root: Path, env: str) -> dict[str, str] | None:
    """What merging would leave in manifests/<env>/ (file name -> text), as promotion would decide it;
    None when it would deploy nothing there.

    `reject` deploys nothing. The model the environment already pins (a `same_model` verdict, or main
    right after its promotion) is re-rendered with today's configs, as `rollgate promote` does; any
    other model allowed by the gate gets the record promotion would write for it.
    """
    found = verdict.read(root / paths.gate_verdict(env))
    if found.verdict == "reject":
        return None
    cfg = load_deploy_config(root, env)
    pinned = release.read(root / paths.release_record(env))
    meta, md5 = preconditions.model_on_disk(root)
    if pinned is not None and pinned.model.sha256 == meta.sha256:
        served = preconditions.baseline_on_disk(root, meta, required=False)
        rel = record.refresh(pinned, storage_base=cfg.model_storage_base, image=cfg.image.pinned(), baseline=served)
    elif found.verdict == "same_model":
        return None
    else:
        source = git.head_or_none(root) or "0" * 40
        served = preconditions.baseline_on_disk(root, meta)
        rel = record.build(
            record.Candidate(meta, md5, preconditions.evaluation(root), source, served),
            env=env,
            verdict=found.verdict,
            champion_sha256=pinned.model.sha256 if pinned else None,
            storage_base=cfg.model_storage_base,
            image=cfg.image.pinned(),
            promoted_at=datetime.now(UTC),
        )
    return {**render.render_texts(cfg, rel), "release.json": jsonio.dumps(rel.to_dict())}


def manifest_diff(root: Path, env: str) -> str:
    """The diff merging would apply to manifests/<env>/ (empty when none)."""
    texts = merged_texts(root, env)
    if texts is None:
        return ""
    folder = paths.release_record(env).parent
    return diff(root / folder, texts, str(folder), pattern="*")
