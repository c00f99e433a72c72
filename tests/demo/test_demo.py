"""`make demo` on a tiny project: the pull-request job in a scratch clone, explained, the work tree untouched."""

from __future__ import annotations

import re

import pytest

from rollgate.contracts import release
from rollgate.data.schema import DATASET
from rollgate.manifests import render
from rollgate.manifests.deploy_config import load_deploy_config
from tests.helpers import APP, ROOT, TINY_ROWS, Project, tiny_params

pytestmark = pytest.mark.integration


def _rendered_files() -> int:
    """What a first promotion to prod commits: every rendered object plus the release record."""
    example = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "release_example.json")
    assert example is not None
    return len(render.render_texts(load_deploy_config(ROOT, "prod"), example)) + 1


def test_demo_runs_in_a_scratch_clone_and_says_what_happened(reproduced: Project) -> None:
    reproduced.dvc("checkout", "-q", "--force")
    status_before = reproduced.git("status", "--porcelain").stdout
    done = reproduced.rollgate("--root", str(reproduced.path), "demo")
    out = done.stdout
    for fragment in (
        "what happened:",
        "validation  passed",
        "holdout",
        "ROC AUC",
        "models/model.skops",
        "nothing ran: these exact inputs were built before",
        "tracking",
        "gate        promote in prod (no champion yet: floors only)",
        "gate        promote in staging (no champion yet: floors only)",
        "delivery preview for prod (rendered into a temporary directory; manifests/ untouched):",
        "delivery preview for staging (rendered into a temporary directory; manifests/ untouched):",
        f"merging would commit {_rendered_files()} files",
        f"+++ b/manifests/prod/{APP}-analysistemplate.yaml",
        "more lines",
        "2. canary: 5% of live traffic",
        "serving smoke run:",
        "POST /v1/predict (1 row)     -> 200",
        "POST /invocations (MLflow)   -> 200",
        "POST /v1/predict (invalid)   -> 422",
        "SIGTERM -> exited 0",
        "rollout rehearsal (",  # no champion here: it says why it could not run (or that nginx is missing)
    ):
        assert fragment in out, out
    files = len(list((reproduced.path / DATASET.batches).glob("*.parquet")))
    assert f"{TINY_ROWS:,} rows in {files} batches" in out
    assert reproduced.git("status", "--porcelain").stdout == status_before
    assert (reproduced.path / ".demo/workspace/models/model.skops").is_file()


@pytest.mark.e2e  # a second full demo (a retrain and both previews): make test-e2e
def test_demo_of_a_committed_params_change_trains_gates_and_previews(reproduced: Project) -> None:
    """What a pull request's job does, in the demo: the changed params train a challenger."""
    reproduced.write_params(tiny_params(train={"hist_gradient_boosting": {"max_iter": 12}}))
    reproduced.commit("a pull request: fewer boosting iterations")
    try:
        out = reproduced.rollgate("--root", str(reproduced.path), "demo").stdout
    finally:
        reproduced.git("reset", "-q", "--hard", "HEAD~1")
    for stage in ("train", "evaluate", "gate@prod", "gate@staging"):
        assert f"{stage:<12} ran" in out, out
    assert re.search(r"tracking    MLflow run [0-9a-f]{32} in ", out), out
    assert "delivery preview for prod" in out and "rollout plan:" in out
