"""The real delivery story the promotion and rollback tests share (run once per session, in conftest).

stump v1 promoted (first deployment) -> logistic regression v2 promoted -> `rollgate rollback`
(v2 withdrawn; a stale `promote` verdict for it is refused) -> the gate rejects v2 -> the params
commit reverted: v1 again, same_model -> v3 promoted -> its params commit reverted: v1 from the
run cache, gated and promoted as `rollback` (which withdraws v3: `back_to_v3` re-allows it).
Tests that write go to a `fork`: a copy of the work tree with its own bare origin.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollgate.adapters import dvc
from rollgate.contracts import model_metadata, paths, trailers, verdict
from tests.helpers import Project, copy_project, tiny_params

# A one-split stump is a champion a logistic regression beats clearly even on a tiny holdout;
# latency and the operating point (a stump's threshold flags no row) are not what these tests are about.
GATE: dict[str, object] = {
    "latency": {"budget_ratio": 50.0, "rows": 200, "repeats": 3},
    "operating_point": {"max_positive_rate_ratio": 100.0},
}
# A floor on ROC AUC alone: the stump's average precision (about 0.04) is below any floor that beats
# chance (above validate.label_rate_max), and model quality is not what these tests are about.
FLOORS = {"roc_auc": 0.55}


def story_params(**train: object) -> dict[str, object]:
    """The tiny params with `train` overrides and the story's gate: its latency budget, its floors only."""
    params = tiny_params(train=train, gate=GATE)
    gate = params["gate"]
    assert isinstance(gate, dict)
    gate["floors"] = dict(FLOORS)  # replaced, not merged into the shipped floors
    return params


STUMP = story_params(hist_gradient_boosting={"max_iter": 1, "max_leaf_nodes": 2})
LINEAR = story_params(estimator="logistic_regression")
LINEAR_SOFT = story_params(estimator="logistic_regression", logistic_regression={"C": 0.05})
REPRO = ("repro", "--single-item", "dvc.yaml")
MANIFESTS = Path("manifests/prod")


def manifests(project: Project, env: str = "prod") -> dict[str, bytes]:
    """Every file under manifests/<env>/, by relative path."""
    base = project.path / "manifests" / env
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def sha_on_disk(project: Project) -> str:
    return model_metadata.read(project.path / paths.MODEL_METADATA).sha256


def model_md5(project: Project) -> str:
    """The md5 `dvc.lock` records for the model on disk."""
    return dvc.locked_md5(project.path, "train", str(paths.MODEL_ARTIFACT))


def remote_object(project: Project, md5: str) -> Path:
    """Where the project's DVC remote (beside the work tree, as in `make_project`) keeps an object."""
    return project.path.parent / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]


def head(project: Project) -> str:
    return project.git("rev-parse", "HEAD").stdout.strip()


def state(project: Project) -> tuple[str, str]:
    """HEAD and `git status --porcelain`: what a refused command must leave unchanged."""
    return head(project), project.git("status", "--porcelain", "--untracked-files=all").stdout


def repro(project: Project) -> tuple[verdict.Verdict, str]:
    out = project.dvc(*REPRO).stdout
    return verdict.read(project.path / paths.gate_verdict("prod")), out


def commit_params(project: Project, params: dict[str, Any], message: str) -> str:
    """A params-only commit pushed to origin, like a merged pull request (dvc.lock follows on merge)."""
    project.write_params(params)
    project.git("add", "params.yaml")
    project.git("commit", "-q", "-m", message)
    project.git("push", "-q", "origin", "HEAD:main")
    return head(project)


def revert(project: Project, commit: str) -> str:
    project.git("revert", "--no-edit", commit)
    project.git("push", "-q", "origin", "HEAD:main")
    return head(project)


def reallow(project: Project, digest: str, why: str) -> str:
    """A reviewed re-allow file for a digest withdrawn from prod, pushed like a merged pull request."""
    path = project.path / trailers.reallow("prod", digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(why + "\n")
    project.git("add", str(path))
    project.git("commit", "-q", "-m", f"re-allow {digest[:12]} in prod")
    project.git("push", "-q", "origin", "HEAD:main")
    return head(project)


def back_to_v3(project: Project, v3: str, message: str = "back to v3") -> str:
    """v3's params again, and v3 re-allowed (the rollback to v1 withdrew it): the gate says `rollback`."""
    source = commit_params(project, LINEAR_SOFT, message)
    reallow(project, v3, "v3 was not the problem: the incident was upstream")
    return source


def fork(project: Project, dest: Path) -> Project:
    """A copy of the work tree (DVC cache included) with copies of its bare origin and DVC remote."""
    shutil.copytree(project.path.parent / "origin.git", dest / "origin.git")
    shutil.copytree(project.path.parent / "dvc-remote", dest / "dvc-remote")
    shutil.copytree(project.path, dest / "work", symlinks=True)
    copy = Project(dest / "work", project.env)
    copy.git("remote", "set-url", "origin", str(dest / "origin.git"))
    return copy


@dataclass
class Story:
    project: Project
    seen: dict[str, Any] = field(default_factory=dict)


def promote_step(project: Project, story: Story, key: str) -> None:
    before = state(project)
    done = project.rollgate("promote", "--env", "prod", check=False)
    story.seen[key] = {"done": done, "before": before, "after": state(project), "manifests": manifests(project)}


def start(seed: Project, base: Path) -> Project:
    """The story's project: a copy of the session's seed with a stump as its first model."""
    project = copy_project(seed, base)
    project.write_params(STUMP)
    project.commit("a stump to start with")
    project.git("push", "-q", "origin", "main")
    return project
