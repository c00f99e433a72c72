"""Adopting the template for a second, different dataset through the documented steps (docs/adopting.md):
other column names, a bool feature, monthly CSV and Parquet exports, a balanced bool label. Before the
reset the gate rejects the example's champion by name; after `rollgate adopt` the pipeline, the gate,
promote and the server work on the new data. The project runs its own copy of src/ (PYTHONPATH), so
the schema it replaces is the one its stages import."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import BIN, ROOT, Project, _merge, tool_env

pytestmark = [pytest.mark.integration, pytest.mark.example]  # adopts from the shipped example

SCHEMA = '''"""The adopter's dataset: one row per customer and month."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from rollgate.data.dataset import Dataset, feature, role


class Records(pa.DataFrameModel):
    # A repeated id would count one customer twice.
    customer_id: Series[str] = pa.Field(unique=True, metadata=role("id"))
    # The split is by time.
    signup_at: Series[pd.Timestamp] = pa.Field(metadata=role("timestamp"))
    # An unknown region is a new market.
    region: Series[str] = pa.Field(isin=["north", "south", "east", "west"], metadata=feature("sales region"))
    # A flag in another encoding would flip the signal.
    is_premium: Series[bool] = pa.Field(metadata=feature("premium plan"))
    # Negative tenure is a join error.
    tenure_months: Series[int] = pa.Field(ge=0, le=240, metadata=feature("months as a customer"))
    # Spend is never negative.
    monthly_spend: Series[float] = pa.Field(ge=0.0, le=10_000.0, metadata=feature("spend last month"))
    # Churn is 0/1.
    churned: Series[int] = pa.Field(isin=[0, 1], metadata=role("label", "1 = left"))

    class Config:
        strict = True
        coerce = False


DATASET = Dataset.define(Records, batches="data/customers", noun="customers")
'''

PARAMS = {
    "shared": {"seed": 3, "model_name": "churn-model"},
    "validate": {"label_rate_min": 0.3, "label_rate_max": 0.7},
    "prepare": {"holdout": {"fraction": 0.25}},
    "train": {"hist_gradient_boosting": {"max_iter": 30}, "probe_rows": 64},
    "evaluate": {"segment_columns": ["region"], "min_segment_size": 50, "latency_rows": 50, "latency_repeats": 2},
    "gate": {
        "floors": {"roc_auc": 0.6, "average_precision": 0.72},
        "min_effect": 0.03,
        "segments": {"columns": ["region", "is_premium"], "min_size": 100},
    },
}


def _customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], rows)
    premium = rng.random(rows) < 0.4
    tenure = rng.integers(0, 120, rows)
    spend = np.round(rng.gamma(2.0, 60.0, rows), 2)
    logit = 1.2 - 0.03 * tenure + 1.0 * premium + 0.5 * (region == "west") + 0.004 * spend - 0.4
    start = pd.Timestamp("2025-03-01")
    stamps = start + pd.to_timedelta(np.sort(rng.integers(0, 300 * 86400, rows)), unit="s")
    return pd.DataFrame(
        {
            "customer_id": [f"c{seed}-{i}" for i in range(rows)],
            "signup_at": stamps.strftime("%Y-%m-%dT%H:%M:%S"),
            "region": region,
            "is_premium": premium,
            "tenure_months": tenure,
            "monthly_spend": spend,
            "churned": rng.random(rows) < 1.0 / (1.0 + np.exp(-logit)),
        }
    )


def _template(base: Path) -> Project:
    """A fresh repository made from the template, with the example's champion pinned (as shipped)."""
    origin, work = base / "origin.git", base / "work"
    env = tool_env(base)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, env=env, capture_output=True)
    project = Project(work, {**env, "PYTHONPATH": str(work / "src")})
    project.git("checkout", "-q", "-b", "main")
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("configs", "manifests", "deploy-state"):
        shutil.copytree(ROOT / name, work / name)
    for name in ("dvc.yaml", ".gitignore", ".dvcignore", "params.yaml"):
        shutil.copy2(ROOT / name, work / name)
    project.dvc("init", "-q")
    project.dvc("remote", "add", "-d", "local", "../dvc-remote")
    # The example champion's bytes, where the release record says the remote has them.
    md5 = json.loads((ROOT / "manifests/prod/release.json").read_text())["model"]["dvc_md5"]
    target = base / "dvc-remote/files/md5" / md5[:2] / md5[2:]
    target.parent.mkdir(parents=True)
    shutil.copy2(ROOT / "dvc-remote/files/md5" / md5[:2] / md5[2:], target)
    return project


def _timed(steps: dict[str, float], name: str, started: float) -> None:
    steps[name] = round(time.perf_counter() - started, 1)


def _edit(project: Project, sources: Path) -> list[Path]:
    """The adopter's edits: the schema, params.yaml, configs/deploy/ and their exports."""
    (project.path / "src/rollgate/data/schema.py").write_text(SCHEMA)
    shipped = yaml.safe_load((project.path / "params.yaml").read_text())
    project.write_params(_merge(shipped, PARAMS))
    for config in (project.path / "configs/deploy").glob("*.yaml"):
        config.write_text(config.read_text().replace("app: fraud-detector", "app: churn-model"))
    frame = _customers(4_000, seed=5)
    sources.mkdir()
    months = pd.to_datetime(frame["signup_at"]).dt.to_period("M")
    files = []
    for i, (_, part) in enumerate(frame.groupby(months)):
        path = sources / (f"export-{i:02d}.csv" if i % 2 else f"export-{i:02d}.parquet")
        part.to_csv(path, index=False) if path.suffix == ".csv" else part.to_parquet(path, index=False)
        files.append(path)
    return files


@pytest.mark.e2e  # the full adoption path on a second dataset: `make test-e2e` (TESTING.md)
def test_a_second_dataset_adopts_through_the_documented_steps(tmp_path: Path) -> None:
    steps: dict[str, float] = {}
    project = _template(tmp_path)
    started = time.perf_counter()
    sources = _edit(project, tmp_path / "exports")
    _timed(steps, "edit schema, params, configs", started)

    # The example's generator stays, and says what to use instead of writing rows the schema rejects.
    generated = project.rollgate("data", "generate", check=False)
    assert generated.returncode == 1 and "rollgate data import" in generated.stderr

    started = time.perf_counter()
    imported = project.rollgate("data", "import", *map(str, sources), "--partition", "month")
    assert "dvc add data" in imported.stdout
    assert sorted(p.name for p in (project.path / "data/customers").iterdir())[0] == "2025-03.parquet"
    project.dvc("add", "-q", "data")
    project.commit("our schema, params and data")
    _timed(steps, "data import + dvc add", started)

    # Not reset yet: the example's champion cannot be scored on these columns: an explicit reject.
    started = time.perf_counter()
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    for env in ("staging", "prod"):  # each environment's champion is the example's
        verdict = json.loads((project.path / f"gates/{env}.json").read_text())
        assert verdict["verdict"] == "reject"
        problems = " ".join(r["message"] for r in verdict["reasons"] if not r["passed"])
        assert "holdout lacks its input features" in problems and "rollgate adopt" in problems
    assert project.rollgate("gate", "--check", check=False).returncode == 1
    _timed(steps, "make repro (champion is the example's)", started)

    started = time.perf_counter()
    said = project.rollgate("adopt", "--drop-example-data").stdout
    assert "no model yet" in said and "what remains" in said
    for env in ("staging", "prod"):
        assert json.loads((project.path / f"manifests/{env}/release.json").read_text())["model"] is None
        assert not list((project.path / f"manifests/{env}").glob("*.yaml"))
        assert (project.path / f"deploy-state/{env}/adopted.json").is_file()
    assert "churn-model" in (project.path / "manifests/argocd/rollgate-applicationset.yaml").read_text()
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    assert all(
        json.loads((project.path / f"gates/{e}.json").read_text())["verdict"] == "promote" for e in ("staging", "prod")
    )
    project.rollgate("gate", "--check")
    project.dvc("push", "-q")
    project.commit("adopt: start from no model, our customers")
    project.git("push", "-q", "origin", "main")
    _timed(steps, "adopt + make repro", started)

    started = time.perf_counter()
    project.rollgate("promote", "--env", "prod")
    record = json.loads((project.path / "manifests/prod/release.json").read_text())
    assert [f["name"] for f in record["features"]] == ["region", "is_premium", "tenure_months", "monthly_spend"]
    assert (project.path / "manifests/prod/churn-model-rollout.yaml").is_file()
    _timed(steps, "promote", started)

    started = time.perf_counter()
    _serve_one_row(project, record)
    _timed(steps, "serve", started)
    print("adoption steps (s):", steps)


def _serve_one_row(project: Project, record: dict[str, object]) -> None:
    port = 18000 + (hash(project.path) % 1000)
    model = project.path / "models/model.skops"
    sha = json.loads((project.path / "models/model.json").read_text())["sha256"]
    release = project.path / "manifests/prod/release.json"
    cmd = [str(BIN / "rollgate"), "serve", "--model", str(model), "--sha256", sha, "--release", str(release)]
    server = subprocess.Popen([*cmd, "--port", str(port)], cwd=project.path, env=project.env)
    try:
        row = {"region": "west", "is_premium": True, "tenure_months": 3, "monthly_spend": 120.5}
        body = json.dumps({"instances": [row]}).encode()
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", data=body, method="POST")
                request.add_header("Content-Type", "application/json")
                with urllib.request.urlopen(request, timeout=5) as answer:
                    scored = json.loads(answer.read())
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and server.poll() is None, "the server did not come up"
                time.sleep(0.3)
        assert 0.0 <= scored["predictions"][0]["score"] <= 1.0
        bad = json.dumps({"instances": [{**row, "region": "mars"}]}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", data=bad, method="POST")
        request.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code in (400, 422)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _clone(tmp_path: Path) -> Project:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tmp_path / "clone")], check=True, capture_output=True)
    return Project(tmp_path / "clone", tool_env(tmp_path))


def _objects(project: Project) -> set[str]:
    return {p.name for p in (project.path / "dvc-remote/files/md5").rglob("*") if p.is_file()}


def test_adopt_drops_the_example_data_and_its_objects_from_the_embedded_remote(tmp_path: Path) -> None:
    project = _clone(tmp_path)
    project.dvc("pull", "-q", "data.dvc")
    data_md5 = yaml.safe_load((project.path / "data.dvc").read_text())["outs"][0]["md5"]
    before = _objects(project)
    assert data_md5[2:] in before

    said = project.rollgate("adopt", "--drop-example-data").stdout

    assert "removed data/transactions/" in said and "objects of the example from the in-tree DVC remote" in said
    after = _objects(project)
    assert data_md5[2:] not in after and len(after) < len(before)
    assert not (project.path / "data/transactions").exists()
    assert not (project.path / "dvc-remote/runs").exists()
    for env in ("staging", "prod"):
        assert sorted(p.name for p in (project.path / "manifests" / env).iterdir()) == ["release.json"]
        anchor = json.loads((project.path / f"deploy-state/{env}/adopted.json").read_text())
        assert anchor["env"] == env and anchor["by"] == "rollgate adopt"


def test_adopt_leaves_the_remote_alone_once_data_dvc_records_other_data(tmp_path: Path) -> None:
    project = _clone(tmp_path)
    (project.path / "data/mine").mkdir(parents=True)
    _customers(50, seed=1).to_parquet(project.path / "data/mine/2025-03.parquet", index=False)
    project.dvc("add", "-q", "data")
    before = _objects(project)

    said = project.rollgate("adopt", "--drop-example-data").stdout

    assert "the DVC remote is left as it is" in said
    assert _objects(project) == before
