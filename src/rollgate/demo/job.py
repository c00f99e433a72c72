"""`make demo`: the pull-request job on the embedded defaults, in a scratch clone, explained.

The job runs in `.demo/workspace`, a fresh clone of HEAD — exactly what CI sees — so the work tree
is never touched. It shares this repository's DVC cache and MLflow store (`make ui` shows the runs).
`dvc repro --pull` fetches by content what was built before — from the run cache, or from the
embedded remote for the outputs dvc.lock records — instead of retraining, as a merge does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

from rollgate.adapters import dvc_cli, git
from rollgate.adapters.tracking import tracking_uri
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError
from rollgate.demo import summary, trained

WORKSPACE = trained.DEMO_WORKSPACE
STAGES = ("validate", "prepare", "train", "evaluate")  # then one gate per environment: gate@<env>


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = tracking_uri(root)
    return env


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
    git.clone(root, work)
    dvc_cli.cli(work, "cache", "dir", "--local", str((root / ".dvc" / "cache").resolve()), env=env)
    return work


def run(root: Path) -> None:
    env = _env(root)
    head = (git.head_or_none(root) or "(no commit)")[:12]
    print(f"rollgate demo: the pull-request job in {WORKSPACE} (a clone of HEAD {head}; your work tree is untouched)")
    started = time.perf_counter()
    work = _prepare_workspace(root, env)
    _, took = dvc_cli.cli(work, "pull", "--quiet", str(paths.DATA_DVC), env=env)
    print(f"  1. dvc pull data.dvc   from the default DVC remote ({took:.1f} s)")
    try:
        log, took = dvc_cli.cli(work, "repro", "--pull", "--single-item", "dvc.yaml", env=env)
    except RollgateError:
        with contextlib.suppress(RollgateError):
            dvc_cli.cli(work, "checkout", "--quiet", env=env)  # a failed stage leaves the previous outputs
        raise
    print(f"  2. dvc repro --pull --single-item dvc.yaml ({took:.1f} s)")
    stages = (*STAGES, *(f"gate@{env}" for env in paths.environments(work)))
    for stage in stages:
        print(f"       {stage:<12} {_outcome(log, stage)}")
    if "ran" not in {_outcome(log, s) for s in stages}:
        print("     (nothing ran: these exact inputs were built before, and their outputs came by content from the")
        print("      DVC cache or the DVC remote, byte for byte, as at a merge; commit a change to params.yaml")
        print("      to watch it train)")
    run_id = re.search(r"MLflow run ([0-9a-f]{32})", log)
    summary.pipeline(work, tracking_uri(root), run_id.group(1) if run_id else None)
    summary.delivery(work)
    summary.smoke(work)
    print(f"done in {time.perf_counter() - started:.1f} s")
    summary.rehearsal(work)
