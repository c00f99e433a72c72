"""`rollgate image`: the digest pinned into the deploy configs byte for byte, the refusals, the
repositories pushed to, the digest pull request on real git and the GitHub API stand-in, and the hashed
requirement files cut from the lock."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgate.ci import buildah, image, lockset
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.manifests.deploy_config import load_deploy_config
from tests.helpers import ROOT, Project
from tests.standins import openapi
from tests.standins.github_api import GitHubAPI, Identity

DIGEST = "sha256:" + "ab" * 32
CONFIGS = Path("configs/deploy")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A folder with the shipped deploy configs alone."""
    shutil.copytree(ROOT / CONFIGS, tmp_path / CONFIGS)
    return tmp_path


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip


@pytest.mark.unit
def test_pin_changes_the_digest_value_alone_in_every_environment(root: Path) -> None:
    before = {p.name: p.read_text() for p in (root / CONFIGS).glob("*.yaml")}
    assert image.pin(root, DIGEST) == ["prod", "staging"]
    for name, text in before.items():
        after = (root / CONFIGS / name).read_text()
        old = text.split('digest: "', 1)[1].split('"', 1)[0]
        assert _changed_lines(text, after) == [f'-  digest: "{old}"', f'+  digest: "{DIGEST}"']
        assert after.count("#") == text.count("#")  # every comment kept
    assert load_deploy_config(root, "prod").image.digest == DIGEST
    assert image.pin(root, DIGEST) == []  # pinned already: nothing changes


@pytest.mark.unit
def test_pin_of_one_environment_leaves_the_others(root: Path) -> None:
    prod = (root / CONFIGS / "prod.yaml").read_bytes()
    assert image.pin(root, DIGEST, ["staging"]) == ["staging"]
    assert (root / CONFIGS / "prod.yaml").read_bytes() == prod


@pytest.mark.unit
@pytest.mark.parametrize(
    "digest", ["sha256:" + "AB" * 32, "sha256:abc", "md5:" + "ab" * 16, "ab" * 32, "sha256:" + "ab" * 32 + " "]
)
def test_pin_refuses_a_bad_digest(root: Path, digest: str) -> None:
    with pytest.raises(RollgateError, match=r"is not sha256:<64 lowercase hex digits>"):
        image.pin(root, digest)


@pytest.mark.unit
def test_pin_refuses_an_unknown_environment(root: Path) -> None:
    with pytest.raises(
        ContractError, match=r"configs/deploy/qa.yaml: no such environment \(configured: prod, staging\)"
    ):
        image.pin(root, DIGEST, ["qa"])


BROKEN = {
    "no image key": (lambda t: t.replace("image:\n", "picture:\n"), r"prod.yaml: no top-level `image:` key"),
    "no digest key": (lambda t: t.replace("  digest:", "  checksum:"), r"prod.yaml: image.digest: no such key"),
    "an inline image": (
        lambda t: t.replace("image:\n", "image: {repository: ghcr.io/x/y, digest: 'sha256:0'}\nold:\n"),
        r"prod.yaml: image: is written inline",
    ),
    "a result the model refuses": (
        lambda t: t.replace("ghcr.io/your-org/rollgate-serve", "Not A Repository"),
        r"(?s)prod.yaml: invalid deploy config:.*image.repository",
    ),
}


@pytest.mark.unit
@pytest.mark.parametrize(("edit", "error"), BROKEN.values(), ids=BROKEN.keys())
def test_pin_names_the_file_and_key_and_writes_nothing(root: Path, edit: object, error: str) -> None:
    prod = root / CONFIGS / "prod.yaml"
    prod.write_text(edit(prod.read_text()))  # type: ignore[operator]
    before = {p: p.read_bytes() for p in (root / CONFIGS).glob("*.yaml")}
    with pytest.raises(ContractError, match=error):
        image.pin(root, DIGEST)
    assert {p: p.read_bytes() for p in before} == before  # staging put back too


@pytest.mark.unit
def test_targets_are_the_one_repository_of_every_environment(root: Path) -> None:
    assert image.repositories(root) == {
        "serve": "ghcr.io/your-org/rollgate-serve",
        "pipeline": "ghcr.io/your-org/rollgate-pipeline",
        "registry": "ghcr.io",
    }
    staging = root / CONFIGS / "staging.yaml"
    staging.write_text(staging.read_text().replace("your-org/rollgate-serve", "other/rollgate-serve"))
    with pytest.raises(ContractError, match=r"one repository in every environment \(prod: ghcr.io/your-org"):
        image.repositories(root)


@pytest.mark.unit
@pytest.mark.parametrize("ref", ["ghcr.io/x/y:latest", "ghcr.io/x/y", "ghcr.io/x/y@sha256:abc"])
def test_only_a_digest_is_signed_or_built_from(ref: str) -> None:
    with pytest.raises(RollgateError, match="not name@sha256:<64 hex>"):
        image.sign(ref)
    with pytest.raises(RollgateError, match="is not pinned by digest"):
        buildah.check_base(ref)


@pytest.mark.unit
def test_the_image_requirement_files_are_the_locks_lines() -> None:
    """requirements/{serve,pipeline,build}.txt hold exactly the lock's pins and hashes (`make requirements`
    rewrites them), and the server's holds none of the pipeline's libraries."""
    lock = lockset.entries((ROOT / lockset.LOCK).read_text())
    for name in ("serve", "pipeline", "build"):
        found = lockset.entries((ROOT / f"requirements/{name}.txt").read_text())
        assert found and all(lock[n] == entry for n, entry in found.items()), name
    serve = lockset.entries((ROOT / "requirements/serve.txt").read_text())
    assert {"uvicorn", "scikit-learn", "numpy"} <= set(serve)
    assert not {"dvc", "mlflow", "pandera", "pydantic", "jinja2"} & set(serve)
    assert {"dvc", "mlflow", "pandera"} <= set(lockset.entries((ROOT / "requirements/pipeline.txt").read_text()))


@pytest.mark.unit
def test_the_closure_follows_extras_and_markers() -> None:
    metadata = {
        "app": ["lib", "web ; extra == 'serve'", "train ; extra == 'pipeline'", "win ; sys_platform == 'win32'"],
        "lib": [],
        "web": ["server[fast]"],
        "server": ["speedups ; extra == 'fast'"],
        "speedups": [],
    }
    found = lockset.closure([lockset.Requirement("app[serve]")], metadata.__getitem__)
    assert found == {"app", "lib", "web", "server", "speedups"}


REPO = "acme/fraud-model"
TOKEN = "ghs_app_token"
APP = Identity("rollgate-app[bot]", "Bot", 4242)


@pytest.fixture
def api() -> Iterator[GitHubAPI]:
    with GitHubAPI(openapi.operations(), REPO, {TOKEN: APP}) as stand_in:
        yield stand_in
    assert stand_in.failures == []


@pytest.mark.integration
def test_the_digest_pr_changes_only_the_digest_lines_and_is_opened_once(
    project: Project, api: GitHubAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"GITHUB_API_URL": api.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}.items():
        monkeypatch.setenv(name, value)
    ref = f"ghcr.io/your-org/rollgate-serve@{DIGEST}"
    said = image.pr(project.path, DIGEST, ref)
    assert said.startswith("opened #") and ref in said
    branch = "rollgate/image-" + "ab" * 6
    diff = project.git("diff", "--unified=0", "main", f"origin/{branch}").stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed and all(line.lstrip("+-").startswith("  digest: ") for line in changed)
    assert len(changed) == 4  # prod and staging, one line out and one in each
    made = [c for c in api.calls if c["operation"] == "pulls/create"]
    assert len(made) == 1 and made[0]["body"]["head"] == branch and made[0]["user"] == APP.login
    project.git("checkout", "-q", "main")
    assert image.pr(project.path, DIGEST, ref).startswith("found #")  # a retried run opens none
    assert len([c for c in api.calls if c["operation"] == "pulls/create"]) == 1


@pytest.mark.unit
def test_the_pr_refuses_an_image_ref_of_another_repository_or_digest(root: Path) -> None:
    for ref in (f"ghcr.io/elsewhere/x@{DIGEST}", "ghcr.io/your-org/rollgate-serve@sha256:" + "cd" * 32):
        with pytest.raises(RollgateError, match=r"is not ghcr\.io/your-org/rollgate-serve@sha256:abab"):
            image.pr(root, DIGEST, ref)


_FAKE_MMDEBSTRAP = """#!/bin/sh
# mmdebstrap's format guess: --format=tar writes a tarball; without it, a target not ending in .tar
# becomes a directory (what made the cached base a directory once).
for last; do :; done
case " $* " in
  *" --format=tar "*) printf 'tarball' > "$last" ;;
  *) case "$last" in *.tar) printf 'tarball' > "$last" ;; *) mkdir -p "$last/etc" ;; esac ;;
esac
"""


@pytest.mark.unit
def test_the_base_tarball_is_a_file_even_over_a_killed_runs_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mmdebstrap"
    fake.write_text(_FAKE_MMDEBSTRAP)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    tar = tmp_path / "cache" / "base.tar"
    (tar / "etc").mkdir(parents=True)  # what a run without the format left behind
    buildah._make_base_tar(tar)
    assert tar.is_file() and tar.read_text() == "tarball"
    assert [p.name for p in tar.parent.iterdir()] == ["base.tar"]  # no partial left
