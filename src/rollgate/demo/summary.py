"""What `make demo` prints after the pipeline ran: each output in words, the delivery preview, the smoke run.

Every file is read through its contract's reader (schema-checked), never as raw JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rollgate.contracts import model_metadata, paths, release, reports, verdict
from rollgate.contracts.errors import RollgateError

SHOWN_DIFF_LINES = 60  # a new model changes about this much; a first deployment adds every file


def _pinned(work: Path, env: str) -> str | None:
    record = release.read(work / paths.release_record(env))
    return record.model.sha256 if record else None


def delivery(work: Path) -> None:
    """What merging would change in each environment, and its rollout plan."""
    for env in paths.environments(work):
        _delivery(work, env)


def _delivery(work: Path, env: str) -> None:
    from rollgate.delivery import preview
    from rollgate.manifests.deploy_config import load_deploy_config

    changes = preview.manifest_diff(work, env)
    out = work / "reports" / f"manifests-{env}.diff"
    out.write_text(changes, encoding="utf-8")
    lines = changes.splitlines()
    files = sorted({line[6:] for line in lines if line.startswith("+++ b/")})
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    print(f"delivery preview for {env} (rendered into a temporary directory; manifests/ untouched):")
    if not changes:
        pinned = _pinned(work, env)
        same = pinned is not None and pinned == model_metadata.read(work / paths.MODEL_METADATA).sha256
        already = f" (it already pins this model, {pinned[:12]})" if same and pinned else ""
        print(f"  merging changes nothing in manifests/{env}/{already}")
    else:
        shown = out.relative_to(work.parent.parent.parent)
        print(f"  merging would commit {len(files)} files (+{added} -{removed} lines); the diff, all of it in {shown}:")
        for line in lines[:SHOWN_DIFF_LINES]:
            print(f"    {line}")
        if len(lines) > SHOWN_DIFF_LINES:
            print(f"    … {len(lines) - SHOWN_DIFF_LINES} more lines")
    print("  rollout plan:")
    for line in preview.plan_in_words(load_deploy_config(work, env)).splitlines():
        print(f"    {line}")


def smoke(work: Path) -> None:
    import pandas as pd

    from rollgate.demo import smoke as serving

    meta = model_metadata.read(work / paths.MODEL_METADATA)
    rows: list[dict[str, Any]] = json.loads(
        pd.read_parquet(work / paths.HOLDOUT_SET)[meta.features.names].head(3).to_json(orient="records")
    )
    print("serving smoke run:")
    serving.run(
        work / paths.MODEL_ARTIFACT, meta.sha256, rows, work / "serve.log", serving.invalid(rows[0], meta.features)
    )


def rehearsal(work: Path) -> None:
    """A short rollout rehearsal of the environment that needs the least traffic to judge (staging in the
    example: its canary analysis waits for the fewest requests), when nginx and Prometheus are installed."""
    from rollgate.manifests.deploy_config import load_deploy_config
    from rollgate.rehearse import processes, run

    env = min(paths.environments(work), key=lambda e: (load_deploy_config(work, e).analysis.min_requests, e))
    print(f"rollout rehearsal ({env}: shadow -> canary -> full, judged by the rendered analysis):")
    try:
        processes.tool("nginx", "nginx"), processes.tool("prometheus", "prometheus")
    except RollgateError as exc:
        print(f"  skipped: {exc}")
        return
    started = time.perf_counter()
    options = run.Options(env=env, interval="3s", out=work / "reports" / "rehearsal" / env)
    try:
        t = run.rehearse(work, options, say=lambda line: print(f"  {line}"))
    except RollgateError as exc:  # e.g. no champion yet: the demo's other results stand
        print(f"  could not run: {exc}")
        return
    print(f"  verdict {t.verdict} in {time.perf_counter() - started:.0f} s; `make rehearse` runs it on your work tree")


def pipeline(work: Path, uri: str, run_id: str | None) -> None:
    validated = reports.read_validate_summary(work / paths.VALIDATE_METRICS)
    meta = model_metadata.read(work / paths.MODEL_METADATA)
    ev = reports.read_evaluation(work / paths.EVALUATE_METRICS)
    rel = work.relative_to(work.parent.parent.parent) if work.is_absolute() else work
    print("what happened:")
    print(
        f"  data        {validated['rows']:,} rows in {validated['files']} batches, "
        f"label rate {validated['label_rate']:.2%}, data md5 {validated['data_md5']}"
    )
    report = work / paths.VALIDATION_REPORT
    where = f" (report: {rel / paths.VALIDATION_REPORT})" if report.exists() else ""
    print(f"  validation  passed: every check of the Pandera schema and the label checks holds{where}")
    print(
        f"  model       {meta.estimator} trained on {meta.train_rows:,} rows, "
        f"sha256 {meta.sha256[:16]}…, {meta.size_bytes / 1e3:.0f} kB"
    )
    print(f"              {rel / paths.MODEL_ARTIFACT} (+ {paths.MODEL_METADATA.name})")
    print(
        f"  holdout     {ev['holdout_rows']:,} rows ({ev['holdout_positives']} positive): "
        f"ROC AUC {ev['roc_auc']:.4f}, average precision {ev['average_precision']:.4f}, "
        f"recall at {ev['fpr_target']:.0%} FPR {ev['recall_at_fpr']:.4f}, Brier {ev['brier']:.5f}"
    )
    print(
        f"  latency     {ev['latency_us_per_row']:.1f} µs per row in batches, "
        f"{ev['latency_ms_single_row']:.2f} ms for a single row"
    )
    print(f"  reports     {rel / 'reports'}/ (metrics, segments, plots: `dvc plots show` there)")
    _gate(work, rel)
    tracked = f"MLflow run {run_id} in {uri}" if run_id else f"{uri} (no new run: nothing was trained)"
    print(f"  tracking    {tracked}; `make ui` to browse")


def _gate(work: Path, rel: Path) -> None:
    for env in paths.environments(work):
        gate = verdict.read(work / paths.gate_verdict(env))
        failed = [r.criterion for r in gate.failed]
        against = f"champion {gate.champion['sha256'][:12]}" if gate.champion else "no champion yet: floors only"
        listed = f"; failed: {', '.join(failed)}" if failed else ""
        print(f"  gate        {gate.verdict} in {env} ({against}){listed}")
        if _pinned(work, env) == gate.challenger["sha256"] and gate.deployable:
            print(f"              the verdict {env}'s promotion acted on: manifests/{env}/ pins this model")
    shown = rel / paths.GATES_DIR
    print(f"              {shown}/<env>.json; `rollgate report --base HEAD~1` there writes the PR comment")
