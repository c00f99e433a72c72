"""The DVC adapter in real repositories: an object fetched into a fresh clone's cache, an output pushed
to the default remote (inside the work tree or not), and each failure told apart by its message."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from rollgate.adapters import dvc_store
from rollgate.contracts.errors import ArtifactError
from tests.helpers import BIN, tool_env

pytestmark = pytest.mark.integration

BLOB = b"a tracked artifact\n" * 100
MD5 = hashlib.md5(BLOB, usedforsecurity=False).hexdigest()


def _run(cwd: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=tool_env(cwd), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _dvc(cwd: Path, *args: str) -> str:
    return _run(cwd, str(BIN / "dvc"), *args)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository tracking `blob.bin` with DVC, pushed to a remote outside it (an absolute path)."""
    base = tmp_path_factory.mktemp("dvc-adapter")
    repo = base / "repo"
    repo.mkdir()
    _run(repo, "git", "init", "-q", "-b", "main")
    _dvc(repo, "init", "-q")
    _dvc(repo, "remote", "add", "-d", "store", str(base / "remote"))
    (repo / "blob.bin").write_bytes(BLOB)
    _dvc(repo, "add", "-q", "blob.bin")
    _run(repo, "git", "add", "-A")
    _run(repo, "git", "commit", "-q", "-m", "a tracked blob")
    _dvc(repo, "push", "-q")
    return repo


def _clone(origin: Path, dest: Path) -> Path:
    _run(dest.parent, "git", "clone", "-q", str(origin), str(dest))
    shutil.rmtree(dest / ".dvc" / "cache", ignore_errors=True)  # a fresh clone: no cache folder at all
    return dest


def test_a_fresh_clone_fetches_an_object_from_the_remote_into_a_new_cache(origin: Path, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "clone")
    assert dvc_store.read_object(clone, MD5, "the blob") == BLOB
    assert (clone / ".dvc" / "cache" / "files" / "md5" / MD5[:2] / MD5[2:]).read_bytes() == BLOB
    sha = hashlib.sha256(BLOB).hexdigest()
    assert dvc_store.fetch_artifact(clone, MD5, sha, "the blob", "a test") == BLOB


def test_an_object_the_remote_lacks_is_named_so(origin: Path, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "clone")
    with pytest.raises(ArtifactError, match="neither in the DVC cache nor in the default remote") as caught:
        dvc_store.read_object(clone, "0" * 32, "the champion")
    assert "the champion (dvc md5 " + "0" * 32 in str(caught.value) and "dvc push" in str(caught.value)


def test_a_cache_that_cannot_be_written_is_told_apart_from_a_missing_object(origin: Path, tmp_path: Path) -> None:
    clone = _clone(origin, tmp_path / "clone")
    (clone / ".dvc" / "cache").write_text("not a folder")  # root ignores permissions; a file blocks anyone
    with pytest.raises(ArtifactError, match="is in the default remote") as caught:
        dvc_store.read_object(clone, MD5, "the champion")
    assert "writing it into the DVC cache" in str(caught.value) and "neither" not in str(caught.value)


@pytest.fixture
def copy(origin: Path, tmp_path: Path) -> Path:
    """The origin with its cache, whose default remote each test points elsewhere (`.dvc/config.local`)."""
    return Path(shutil.copytree(origin, tmp_path / "repo", symlinks=True))


def _point_remote(repo: Path, url: Path) -> None:
    _dvc(repo, "remote", "modify", "--local", "store", "url", str(url))


def test_push_output_fills_a_remote_outside_the_work_tree(copy: Path, tmp_path: Path) -> None:
    _point_remote(copy, tmp_path / "elsewhere")
    assert dvc_store.push_output(copy, "blob.bin", MD5) is None
    assert (tmp_path / "elsewhere" / "files" / "md5" / MD5[:2] / MD5[2:]).read_bytes() == BLOB
    assert dvc_store.push_output(copy, "blob.bin", MD5) is None  # already there: nothing to do


def test_push_output_names_the_object_of_a_remote_inside_the_work_tree(copy: Path) -> None:
    _point_remote(copy, copy / "objects")  # any name: "inside the work tree" is a path test
    found = dvc_store.push_output(copy, "blob.bin", MD5)
    assert found == f"objects/files/md5/{MD5[:2]}/{MD5[2:]}"
    assert (copy / found).read_bytes() == BLOB


def test_a_failed_push_names_the_command_to_run(copy: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    _point_remote(copy, tmp_path / "a-file" / "remote")  # a remote path no one can create
    with pytest.raises(ArtifactError, match="to the DVC default remote failed") as caught:
        dvc_store.push_output(copy, "blob.bin", MD5)
    assert "run `dvc push blob.bin`" in str(caught.value) and "\n" not in str(caught.value)


def test_a_cache_without_the_object_is_a_refusal_not_a_silent_push(copy: Path, tmp_path: Path) -> None:
    _point_remote(copy, tmp_path / "elsewhere")
    shutil.rmtree(copy / ".dvc" / "cache")
    with pytest.raises(ArtifactError, match="the DVC cache lacks it") as caught:
        dvc_store.push_output(copy, "blob.bin", MD5)
    assert "`dvc commit -f blob.bin`" in str(caught.value)
