"""Test helpers: tiny real projects (git + DVC + MLflow) in temporary directories.

Imported by tests and by `conftest.py`, which only declares fixtures. Building a project generates
data, initialises git and DVC and pushes to a local remote; a session builds one seed and each test
copies it (`copy_project`): same files, same commits, its own origin, remote and MLflow store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from rollgate.contracts import jsonio, paths, release
from rollgate.data.schema import DATASET

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Small enough to run the whole pipeline in seconds, large enough for both classes in every split.
# Nothing here names the dataset's columns: the data comes from the active dataset's sampler.
TINY_OVERRIDES: dict[str, dict[str, object]] = {
    "shared": {"seed": 7},
    "prepare": {"holdout": {"fraction": 0.25}},
    "train": {"hist_gradient_boosting": {"max_iter": 25}, "probe_rows": 64},
    "evaluate": {"min_segment_size": 100, "latency_rows": 50, "latency_repeats": 2},
}
TINY_ROWS = 8_000
# The shipped model and app names (an adopter's, once adopted): what messages and file names carry.
MODEL_NAME: str = yaml.safe_load((ROOT / "params.yaml").read_text())["shared"]["model_name"]
APP: str = yaml.safe_load((ROOT / "configs/deploy/prod.yaml").read_text())["app"]


# Mappings an override replaces whole: prepare.holdout (one of weeks, since, fraction) and gate.floors.
_CHOICES = {"holdout", "floors"}


def _merge(base: dict[str, object], over: dict[str, object]) -> dict[str, object]:
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        mergeable = isinstance(current, dict) and isinstance(value, dict) and key not in _CHOICES
        out[key] = _merge(current, value) if mergeable else value  # type: ignore[arg-type]
    return out


def tiny_params(**sections: dict[str, object]) -> dict[str, object]:
    """The shipped params.yaml with the tiny overrides (and any `sections` given) applied."""
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())
    return _merge(_merge(shipped, TINY_OVERRIDES), sections)


def tool_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}",
        GIT_AUTHOR_NAME="rollgate tests",
        GIT_AUTHOR_EMAIL="tests@rollgate.invalid",
        GIT_COMMITTER_NAME="rollgate tests",
        GIT_COMMITTER_EMAIL="tests@rollgate.invalid",
        DVC_NO_ANALYTICS="1",
    )
    env.pop("GIT_DIR", None)
    return env


@dataclass
class Project:
    """A real git repository with DVC, a local DVC remote and a sqlite MLflow store."""

    path: Path
    env: dict[str, str]

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(cmd, cwd=self.path, env=self.env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "dvc"), *args, check=check)

    def rollgate(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "rollgate"), *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def write_params(self, params: dict[str, object]) -> None:
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def as_promotion_identity(self) -> Project:
        """This project, committing as the shipped promotion identity (whose promotions alone count)."""
        from rollgate.adapters import identity

        return Project(self.path, {**self.env, **identity.load(ROOT, "prod").git_env()})


def _copy_template(dest: Path) -> None:
    """The parts of the template a project needs: the pipeline, the code it hashes, the deploy configs."""
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "configs", dest / "configs")
    shutil.copytree(ROOT / "deploy-state", dest / "deploy-state")  # the trust anchors: checks start at the root
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy2(ROOT / name, dest / name)
    for env in ("prod", "staging"):  # no champion yet: the gate applies only the floors
        jsonio.write(dest / paths.release_record(env), release.empty(env))


def sample_source(path: Path, rows: int = TINY_ROWS, seed: int = 0) -> Path:
    """A Parquet file of `rows` rows of the active dataset (its sampler), as an adopter's export would be."""
    frame = DATASET.sample(rows, seed, label_rate=_band_middle())
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _band_middle() -> float:
    band = yaml.safe_load((ROOT / "params.yaml").read_text())["validate"]
    return float(band["label_rate_min"] + band["label_rate_max"]) / 2


def make_project(base: Path, rows: int = TINY_ROWS) -> Project:
    """A committed project with tiny sampled data, imported as an adopter would, tracked by DVC and pushed
    to a local remote."""
    origin, work = base / "origin.git", base / "work"
    env = tool_env(base)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, env=env, capture_output=True)
    project = Project(work, env)
    project.git("checkout", "-q", "-b", "main")
    _copy_template(work)
    project.write_params(tiny_params())
    project.dvc("init", "-q")
    project.dvc("config", "core.analytics", "false")
    # Relative to .dvc/: a project's clones and copies beside it share the layout, so each finds its own
    # base's remote (`<base>/dvc-remote`) without rewriting a committed config.
    project.dvc("remote", "add", "-d", "local", "../dvc-remote")
    source = sample_source(base / "export" / "rows.parquet", rows)
    project.rollgate("data", "import", str(source), "--partition", "week")
    project.dvc("add", "-q", "data")
    project.dvc("push", "-q")
    project.commit("tiny project with generated data")
    project.git("push", "-q", "origin", "main")
    return project


def copy_project(seed: Project, base: Path) -> Project:
    """A copy of `seed` (work tree, DVC cache, origin, remote, MLflow store) under `base`, wired to its own."""
    for name in ("origin.git", "dvc-remote", "work"):
        if (seed.path.parent / name).exists():
            shutil.copytree(seed.path.parent / name, base / name, symlinks=True)
    if (seed.path.parent / "mlflow.db").exists():
        shutil.copy2(seed.path.parent / "mlflow.db", base / "mlflow.db")
    copy = Project(base / "work", tool_env(base))
    copy.git("remote", "set-url", "origin", str(base / "origin.git"))
    return copy


def reproduce(project: Project) -> Project:
    """Run the pipeline once, push its outputs and commit them."""
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    project.dvc("push", "-q")
    project.commit("reproduce the pipeline")
    return project


def state(project: Project, *files: str) -> dict[str, object]:
    """What a failed stage must leave untouched: dvc.lock, the DVC cache, the MLflow store, `files`."""
    root = project.path
    cache = sorted(p.relative_to(root).as_posix() for p in (root / ".dvc/cache").rglob("*") if p.is_file())
    db = Path(project.env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///"))
    found: dict[str, object] = {
        "dvc.lock": (root / "dvc.lock").read_bytes(),
        "cache": cache,
        "mlflow": hashlib.sha256(db.read_bytes()).hexdigest() if db.exists() else None,
    }
    found.update({name: (root / name).read_bytes() if (root / name).exists() else None for name in files})
    return found


def assert_refused(
    project: Project,
    corrupt: Callable[[Path], None],
    command: tuple[str, ...],
    expected: list[str],
    kept: tuple[str, ...],
) -> None:
    """`corrupt` the project, run `rollgate command`: a non-zero exit, one clear error naming every `expected`
    fragment (no traceback), and the state and the `kept` files exactly as they were."""
    before = state(project, *kept)
    corrupt(project.path)
    done = project.rollgate(*command, check=False)
    assert done.returncode != 0
    for fragment in expected:
        assert fragment in done.stderr, f"{fragment!r} missing from:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    assert state(project, *kept) == before
