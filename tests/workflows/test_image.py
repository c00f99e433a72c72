"""The image workflow (`.github/workflows/image.yml`) run by `act` against a bare origin: the server
image really built with buildah (the build-push stand-in) FROM a digest-pinned local Debian bookworm,
signed, given an SBOM and provenance by stand-ins that check their inputs, and the digest pull request
opened by the App; then the built image run with `buildah run`, serving the trained model as uid 10001."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgate.ci import buildah
from rollgate.contracts.probe import probe_frame
from rollgate.data.schema import DATASET
from tests.helpers import ROOT, Project
from tests.serve.conftest import free_ports
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity
from tests.workflows.act import Act, act_binary, add_workflow_files

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REPO = "acme/fraud-model"
APP_TOKEN = "ghs_app_installation_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)
IMAGE_FILES = ("Dockerfile", ".dockerignore", "README.md", "LICENSE", "requirements")


def _tools() -> None:
    """buildah and mmdebstrap, as root; skip without them, or fail under CI=true."""
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    why = f"no {' or '.join(missing)}: `make test-deps` installs them" if missing else None
    if why is None and os.geteuid() != 0:
        why = "buildah's vfs storage and chroot isolation need root here (.ci/run runs as root)"
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {APP_TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == [], "the stand-in answered against its own schema"


@pytest.fixture
def pushed(project: Project) -> Project:
    """The seed project with the workflows and what the images are built from, pushed to its origin."""
    _tools()
    act_binary()
    add_workflow_files(project)
    for name in IMAGE_FILES:
        source, dest = ROOT / name, project.path / name
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)
    project.commit("the workflows and the image")
    project.git("push", "-q", "origin", "main")
    return project


@contextlib.contextmanager
def _served(name: str, port: int, admin: int, models: Path, keys: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The image's own entrypoint in a buildah container, serving `models` (a trained models/ folder,
    mounted read-only) on `port` and `admin` (a later --port wins) with the API keys of `keys` (a folder
    holding keys.json: the entrypoint listens beyond loopback, so it authenticates); the container is
    removed afterwards."""
    sha = json.loads((models / "model.json").read_text())["sha256"]
    inspected = subprocess.run(buildah.buildah("inspect", "--type", "image", name), capture_output=True, check=True)
    entry = json.loads(inspected.stdout)["OCIv1"]["config"]["Entrypoint"]
    args = ["--model", "/model/model.skops", "--sha256", sha, "--port", str(port), "--admin-port", str(admin)]
    args += ["--api-keys", "/keys/keys.json"]
    box = subprocess.run(buildah.buildah("from", "--pull-never", name), capture_output=True, text=True, check=True)
    mounts = ["-v", f"{models}:/model:ro", "-v", f"{keys}:/keys:ro"]
    run = ["run", "--isolation", "chroot", *mounts, box.stdout.strip(), "--"]
    try:
        proc = subprocess.Popen(buildah.buildah(*run, *entry, *args))
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        subprocess.run(buildah.buildah("rm", box.stdout.strip()), capture_output=True, check=False)


def _get(port: int, method: str, path: str, body: object = None, key: str | None = None) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        conn.request(method, path, data, headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        conn.close()


def _listener_uid(port: int) -> int:
    """The uid owning the socket listening on `port` (/proc/net/tcp{,6}: state 0A is LISTEN)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
                return int(fields[7])
    raise AssertionError(f"nothing listens on {port}")


def test_the_image_is_built_signed_and_its_digest_pr_opened(
    pushed: Project, api: GitHubAPI, tmp_path: Path, reproduced_seed: Project
) -> None:
    start = time.monotonic()
    base = buildah.base_image()  # the local bookworm, by digest: what ROLLGATE_BASE_IMAGE names in CI
    act = Act(pushed.path.parent / "origin.git", tmp_path / "act", dict(pushed.env), api.url)
    act.variables = {"ROLLGATE_APP_CLIENT_ID": "Iv23-rollgate", "ROLLGATE_BASE_IMAGE": base}
    act.secrets = {"ROLLGATE_APP_PRIVATE_KEY": "-----BEGIN stand-in-----"}
    act.extra_env = {"ROLLGATE_ACT_APP_TOKEN": APP_TOKEN, "ROLLGATE_CACHE": str(buildah.cache())}
    event = {"ref": "refs/heads/main", "repository": {"full_name": REPO, "name": "fraud-model"}, "inputs": {}}
    run = act.run("workflow_dispatch", event, "image.yml", "ghs_github_token")
    assert run.returncode == 0, run.failure(8000)
    assert run.job_results() == {"build": "succeeded", "pin": "succeeded"}
    images = run.artifacts / "images"
    digest = (images / "serve.digest").read_text().strip()
    tag = (images / "serve.tag").read_text().strip()
    serve = "ghcr.io/your-org/rollgate-serve"
    assert tag.startswith(f"{serve}:")
    # Signed, the SBOM attested and provenance attested, for both images, by digest.
    signed = (run.artifacts / "cosign.log").read_text().splitlines()
    assert f"sign {serve}@{digest}" in signed and f"attest spdxjson {serve}@{digest}" in signed
    assert sum(line.startswith("sign ghcr.io/your-org/rollgate-pipeline@sha256:") for line in signed) == 1
    attested = (run.artifacts / "attestations.log").read_text()
    assert f"{serve}@{digest} push=true" in attested and "rollgate-pipeline@sha256:" in attested
    # One pull request by the App, whose branch changes the digest lines alone, to the built digest.
    made = [c for c in api.calls if c["operation"] == "pulls/create"]
    assert len(made) == 1 and made[0]["user"] == APP.login
    branch = made[0]["body"]["head"]
    assert branch == f"rollgate/image-{digest.removeprefix('sha256:')[:12]}"
    pushed.git("fetch", "-q", "origin")
    diff = pushed.git("diff", "--unified=0", "origin/main", f"origin/{branch}").stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed.count(f'+  digest: "{digest}"') == 2 and len(changed) == 4, diff
    assert all(line.startswith(("-  digest: ", "+  digest: ")) for line in changed)
    built = time.monotonic() - start
    size = subprocess.run(buildah.buildah("images", "--format", "{{.Size}}", tag), capture_output=True, check=False)
    print(f"\nimage workflow under act: {built:.0f} s to the digest PR; {tag} is {size.stdout.decode().strip()}")
    try:
        _serves_the_trained_model_as_10001(tag, reproduced_seed.path / "models")  # models/ is no checkout's
    finally:  # vfs stores every image whole: keep only the cached base
        subprocess.run(buildah.buildah("rmi", tag), capture_output=True, check=False)


def _serves_the_trained_model_as_10001(tag: str, models: Path) -> None:
    """The built image serves the trained model on 127.0.0.1, as uid 10001, to callers with a key."""
    port, admin = free_ports(2)
    keys = Path(tempfile.mkdtemp(prefix="rollgate-keys-"))
    keys.chmod(0o755)
    key = secrets.token_urlsafe(32)
    entry = {"id": "e2e", "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": ["score"]}
    (keys / "keys.json").write_text(json.dumps({"keys": [entry]}))
    (keys / "keys.json").chmod(0o644)  # uid 10001 reads it, as from a Secret volume
    with _served(tag, port, admin, models, keys):
        for _ in range(120):
            with contextlib.suppress(OSError):
                if _get(port, "GET", "/healthz")[0] == 200:
                    break
            time.sleep(0.5)
        assert _get(port, "GET", "/healthz") == (200, {"status": "ok"})
        row = json.loads(probe_frame(DATASET.features, 1).to_json(orient="records"))
        assert _get(port, "POST", "/v1/predict", {"instances": row})[0] == 401  # no key, no score
        status, answer = _get(port, "POST", "/v1/predict", {"instances": row}, key)
        assert status == 200, answer
        assert len(answer["predictions"]) == 1 and 0.0 <= answer["predictions"][0]["score"] <= 1.0  # type: ignore[index]
        assert _listener_uid(port) == 10001 and _listener_uid(admin) == 10001


def test_make_image_builds_the_pipeline_image_that_runs_the_stages(tmp_path: Path) -> None:
    """`make image TARGET=pipeline` (`python -m rollgate.ci.buildah build`, the local mmdebstrap base):
    DVC, MLflow and Pandera import, `rollgate validate` is there, and it runs as uid 10001 in /work."""
    _tools()
    for name in (*IMAGE_FILES, "pyproject.toml", "src"):
        source, dest = ROOT / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, dest)
    tag = "localhost/rollgate-pipeline:e2e"
    build = [sys.executable, "-m", "rollgate.ci.buildah", "--root", str(tmp_path), "build", "--target", "pipeline"]
    done = subprocess.run([*build, "--tag", tag], capture_output=True, text=True, check=False, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    try:
        box = subprocess.run(buildah.buildah("from", "--pull-never", tag), capture_output=True, text=True, check=True)
        probe = "import dvc, mlflow, pandera, rollgate.pipeline.validate, os; print(os.getuid(), os.getcwd())"
        try:
            ran = subprocess.run(
                buildah.buildah("run", "--isolation", "chroot", box.stdout.strip(), "--", "python", "-c", probe),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert ran.stdout.split() == ["10001", "/work"], ran.stderr[-2000:]
        finally:
            subprocess.run(buildah.buildah("rm", box.stdout.strip()), capture_output=True, check=False)
        print(f"\n{done.stdout.strip()}")
    finally:
        subprocess.run(buildah.buildah("rmi", tag), capture_output=True, check=False)
