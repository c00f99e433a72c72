"""DVC objects by content address: read from the cache or the default remote (a fresh clone's cache
included), one output pushed before promotion pins its URI, the example's objects dropped on adoption.

The `dvc` package is imported inside the functions that need it; nothing touches DVC on import.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from rollgate.adapters.dvc import LOCK, recorded_md5_of
from rollgate.contracts.errors import ArtifactError
from rollgate.model import artifact


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _into_cache(repo: Any, md5: str, label: str) -> None:
    """Copy the object `md5` from the default remote into the cache, creating its folder as DVC does."""
    cache = repo.cache.local
    remote = repo.cloud.get_remote_odb(command="fetch")
    try:
        found = remote.exists(md5)
    except OSError as exc:
        where = f"the default remote {remote.path} is unreadable"
        raise ArtifactError(f"{label} is not in the DVC cache, and {where}: {exc}") from exc
    if not found:
        raise ArtifactError(
            f"{label} is neither in the DVC cache nor in the default remote {remote.path}: "
            "run `dvc push` where it was built (a promotion pushes the model it pins)"
        )
    try:
        cache.add(remote.oid_to_path(md5), remote.fs, md5)  # makes the cache's `xx/` folder first
    except OSError as exc:
        raise ArtifactError(
            f"{label} is in the default remote {remote.path}, but writing it into the DVC cache "
            f"{cache.path} failed: {exc} (check that .dvc/cache is a writable folder)"
        ) from exc


def read_object(root: Path, md5: str, what: str) -> bytes:
    """The bytes DVC stores under `md5` (a file, or a directory listing `<md5>.dir`).

    An object missing from the cache (a fresh clone's) is fetched from the default remote first.

    Raises:
        ArtifactError: naming `what` and which of these happened: the default remote lacks the object
            too, the remote is missing or unreadable, or the cache could not be written or read.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    label = f"{what} (dvc md5 {md5})"
    try:
        with Repo(str(root)) as repo:
            cache = repo.cache.local
            if not cache.exists(md5):
                _into_cache(repo, md5, label)
            data: bytes = cache.fs.read_bytes(cache.oid_to_path(md5))
    except DvcException as exc:
        raise ArtifactError(f"{label} is not in the DVC cache, and the default remote fails: {_one_line(exc)}") from exc
    except OSError as exc:
        raise ArtifactError(f"{label}: reading the DVC cache failed: {exc}") from exc
    return data


def _inside(root: Path, odb: Any) -> bool:
    """Whether the remote is a local folder inside the work tree (the embedded `dvc-remote/`)."""
    return bool(odb.fs.protocol == "local" and Path(odb.path).resolve().is_relative_to(root.resolve()))


def _in_tree(root: Path, odb: Any, md5: str) -> str | None:
    """The object's path relative to `root` when the remote is a local folder inside the work tree."""
    if not _inside(root, odb):
        return None
    return Path(odb.oid_to_path(md5)).resolve().relative_to(root.resolve()).as_posix()


def push_output(root: Path, out: str, md5: str) -> str | None:
    """Make sure the DVC default remote holds output `out` (recorded in `dvc.lock` as `md5`): `dvc push <out>`.

    Promotion calls this before a release record pins a URI under that remote's layout. Only this one
    output is pushed; an object the remote holds already is left alone.

    Returns:
        The object's path relative to `root` when the default remote is a folder inside the work tree
        (such as the embedded `dvc-remote/`, committed to git), else None.

    Raises:
        ArtifactError: the push failed or left the remote without the object, naming the command to run.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    retry = f"fix the default remote (`dvc remote list`, .dvc/config), then run `dvc push {out}`"
    try:
        with Repo(str(root)) as repo:
            remote = repo.cloud.get_remote_odb(command="push")
            if not remote.exists(md5):
                repo.push(targets=[str(root.resolve() / out)])  # DVC resolves targets against the cwd
            if not remote.exists(md5):  # DVC only warns when the cache lacks what it should push
                raise ArtifactError(
                    f"`dvc push {out}` left dvc md5 {md5} out of the default remote {remote.path}: the DVC cache "
                    f"lacks it; run `dvc commit -f {out}` and `dvc push {out}`"
                )
            return _in_tree(root, remote, md5)
    except (DvcException, OSError) as exc:
        raise ArtifactError(
            f"pushing {out} (dvc md5 {md5}) to the DVC default remote failed: {_one_line(exc)}: {retry}"
        ) from exc


def fetch_artifact(root: Path, md5: str, sha256: str, what: str, pinned_by: str) -> bytes:
    """An artifact's bytes by dvc md5, refused unless they have the sha256 that `pinned_by` pins."""
    data = read_object(root, md5, what)
    actual = artifact.sha256_bytes(data)
    if actual != sha256:
        raise ArtifactError(f"{what} (dvc md5 {md5}) has sha256 {actual}, but {pinned_by} pins {sha256}")
    return data


def dir_listing(root: Path, md5: str) -> dict[str, str]:
    """relpath -> md5 of every file of a directory DVC tracks under `md5` (a `.dir` object)."""
    entries = json.loads(read_object(root, md5, "data listing"))
    return {e["relpath"]: e["md5"] for e in entries}


def drop_recorded_objects(root: Path) -> int:
    """Remove from an in-tree default remote (a folder inside the repository, like the embedded
    `dvc-remote/`) the objects `data.dvc` and `dvc.lock` record, and its run cache: `rollgate adopt`
    dropping the example. A remote elsewhere is never touched. Returns how many files went."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        remote = repo.cloud.get_remote_odb(command="push")
        if not _inside(root, remote):
            return 0
        objects = Path(remote.path).resolve()  # <remote>/files/md5
        paths = remote.oid_to_path
    md5s = {recorded_md5_of(root / "data.dvc")} if (root / "data.dvc").is_file() else set()
    if (root / LOCK).is_file():
        for stage in (yaml.safe_load((root / LOCK).read_text()) or {}).get("stages", {}).values():
            md5s |= {out["md5"] for out in stage.get("outs", []) if "md5" in out}
    for md5 in sorted(m for m in md5s if m.endswith(".dir")):
        with contextlib.suppress(ArtifactError, ValueError):
            md5s |= set(dir_listing(root, md5).values())
    gone = 0
    for md5 in md5s:
        path = Path(paths(md5))
        if path.is_file():
            path.unlink()
            gone += 1
    runs = objects.parent.parent / "runs"  # DVC's run cache beside files/
    if runs.is_dir():
        gone += sum(1 for p in runs.rglob("*") if p.is_file())
        shutil.rmtree(runs)
    return gone
