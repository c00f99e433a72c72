"""`make demo`: the pull-request job on the embedded defaults, in a scratch clone, explained.

The job runs in `.demo/workspace`, a fresh clone of HEAD — exactly what CI sees — so the work tree
is never touched. It shares this repository's DVC cache and MLflow store (`make ui` shows the runs).
`dvc repro --pull` fetches by content what was built before — from the run cache, or from the
embedded remote for the outputs dvc.lock records — instead of retraining, as a merge does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.pipeline.tracking import tracking_uri

WORKSPACE = Path(".demo/workspace")
STAGES = ("validate", "prepare", "train", "evaluate", "gate")


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = tracking_uri(root)
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RollgateError(f"`{' '.join(cmd)}` failed in {cwd}:\n{done.stdout}{done.stderr}".rstrip())
    return done.stdout + done.stderr, time.perf_counter() - start


def _outcome(log: str, stage: str) -> str:
    if f"Running stage '{stage}'" in log:
        return "ran"
    if f"Stage '{stage}' is cached" in log:
        return "restored from cache"
    return "up to date"


def _prepare_workspace(root: Path, env: dict[str, str]) -> Path:
    work = root / WORKSPACE
    if work.exists():
        shutil.rmtree(work)
    _run(["git", "clone", "--quiet", str(root.resolve()), str(work)], root, env)
    dvc = str(Path(sys.executable).parent / "dvc")
    _run([dvc, "cache", "dir", "--local", str((root / ".dvc" / "cache").resolve())], work, env)
    return work


def _read(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def run(root: Path) -> None:
    env = _env(root)
    head = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        ).stdout.strip()
        or "(no commit)"
    )
    print(f"rollgate demo: the pull-request job in {WORKSPACE} (a clone of HEAD {head}; your work tree is untouched)")
    started = time.perf_counter()
    work = _prepare_workspace(root, env)
    dvc = str(Path(sys.executable).parent / "dvc")
    _, took = _run([dvc, "pull", "--quiet", str(paths.DATA_DIR) + ".dvc"], work, env)
    print(f"  1. dvc pull data.dvc   from the embedded remote ({took:.1f} s)")
    try:
        log, took = _run([dvc, "repro", "--pull", "--single-item", "dvc.yaml"], work, env)
    except RollgateError:
        subprocess.run([dvc, "checkout", "--quiet"], cwd=work, env=env, check=False)
        raise
    print(f"  2. dvc repro --pull --single-item dvc.yaml ({took:.1f} s)")
    for stage in STAGES:
        print(f"       {stage:<9} {_outcome(log, stage)}")
    if "ran" not in {_outcome(log, s) for s in STAGES}:
        print("     (nothing ran: these exact inputs were built before, and their outputs came by content from the")
        print("      DVC cache or the embedded remote, byte for byte, as at a merge; commit a change to params.yaml")
        print("      to watch it train)")
    run_id = re.search(r"MLflow run ([0-9a-f]{32})", log)
    _summary(work, tracking_uri(root), run_id.group(1) if run_id else None)
    _delivery(work)
    _smoke(work)
    print(f"done in {time.perf_counter() - started:.1f} s")


SHOWN_DIFF_LINES = 60  # a new model changes about this much; a first deployment adds every file


def _delivery(work: Path) -> None:
    from rollgate.delivery import preview
    from rollgate.delivery.config import load_deploy_config

    env = _read(work / paths.GATE_VERDICT)["env"]
    changes = preview.manifest_diff(work, env)
    out = work / "reports" / f"manifests-{env}.diff"
    out.write_text(changes, encoding="utf-8")
    files = sorted({line[6:] for line in changes.splitlines() if line.startswith("+++ b/")})
    added = sum(1 for line in changes.splitlines() if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in changes.splitlines() if line.startswith("-") and not line.startswith("---"))
    print(f"delivery preview for {env} (rendered into a temporary directory; manifests/ untouched):")
    if not changes:
        pinned = (_read(work / paths.release_record(env)).get("model") or {}).get("sha256")
        already = (
            f" (it already pins this model, {pinned[:12]})"
            if pinned == _read(work / paths.MODEL_METADATA)["sha256"]
            else ""
        )
        print(f"  merging changes nothing in manifests/{env}/{already}")
    else:
        shown = out.relative_to(work.parent.parent.parent)
        print(f"  merging would commit {len(files)} files (+{added} -{removed} lines); the diff, all of it in {shown}:")
        lines = changes.splitlines()
        for line in lines[:SHOWN_DIFF_LINES]:
            print(f"    {line}")
        if len(lines) > SHOWN_DIFF_LINES:
            print(f"    … {len(lines) - SHOWN_DIFF_LINES} more lines")
    print("  rollout plan:")
    for line in preview.plan_in_words(load_deploy_config(work, env)).splitlines():
        print(f"    {line}")


def _smoke(work: Path) -> None:
    import pandas as pd

    from rollgate import smoke

    meta = _read(work / paths.MODEL_METADATA)
    names = [f["name"] for f in meta["features"]]
    rows: list[dict[str, Any]] = json.loads(
        pd.read_parquet(work / paths.HOLDOUT_SET)[names].head(3).to_json(orient="records")
    )
    print("serving smoke run:")
    smoke.run(work / paths.MODEL_ARTIFACT, meta["sha256"], rows, work / "serve.log")


def _summary(work: Path, uri: str, run_id: str | None) -> None:
    validated = _read(work / paths.VALIDATE_METRICS)
    meta = _read(work / paths.MODEL_METADATA)
    ev = _read(work / paths.EVALUATE_METRICS)
    rel = work.relative_to(work.parent.parent.parent) if work.is_absolute() else work
    print("what happened:")
    print(
        f"  data        {validated['rows']:,} rows in {validated['files']} weekly batches, "
        f"label rate {validated['label_rate']:.2%}, data md5 {validated['data_md5']}"
    )
    report = work / paths.VALIDATION_REPORT
    where = f" (report: {rel / paths.VALIDATION_REPORT})" if report.exists() else ""
    print(f"  validation  passed: every check of the Pandera schema and the label checks holds{where}")
    print(
        f"  model       {meta['estimator']} trained on {meta['train_rows']:,} rows, "
        f"sha256 {meta['sha256'][:16]}…, {meta['size_bytes'] / 1e3:.0f} kB"
    )
    print(f"              {rel / paths.MODEL_ARTIFACT} (+ {paths.MODEL_METADATA.name})")
    print(
        f"  holdout     {ev['holdout_rows']:,} rows ({ev['holdout_positives']} fraud): ROC AUC {ev['roc_auc']:.4f}, "
        f"average precision {ev['average_precision']:.4f}, recall at {ev['fpr_target']:.0%} FPR "
        f"{ev['recall_at_fpr']:.4f}, Brier {ev['brier']:.5f}"
    )
    print(
        f"  latency     {ev['latency_us_per_row']:.1f} µs per row in batches, "
        f"{ev['latency_ms_single_row']:.2f} ms for a single row"
    )
    print(f"  reports     {rel / 'reports'}/ (metrics, segments, plots: `dvc plots show` there)")
    gate = _read(work / paths.GATE_VERDICT)
    failed = [r["criterion"] for r in gate["reasons"] if not r["passed"]]
    champion = gate["champion"]
    against = f"champion {champion['sha256'][:12]}" if champion else "no champion yet: floors only"
    print(
        f"  gate        {gate['verdict']} in {gate['env']} ({against})"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    pinned = (_read(work / paths.release_record(gate["env"])).get("model") or {}).get("sha256")
    if pinned == gate["challenger"]["sha256"] and gate["verdict"] in ("promote", "rollback"):
        print(f"              the verdict {gate['env']}'s promotion acted on: manifests/{gate['env']}/ pins this model")
    print(f"              {rel / paths.GATE_VERDICT}; `rollgate report --base HEAD~1` there writes the PR comment")
    tracked = f"MLflow run {run_id} in {uri}" if run_id else f"{uri} (no new run: nothing was trained)"
    print(f"  tracking    {tracked}; `make ui` to browse")
