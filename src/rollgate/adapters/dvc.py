"""The DVC adapter: objects of the cache and remote by content address, `.dvc` files, `dvc.lock`, `dvc.yaml`.

The `dvc` package is imported inside the functions that need it, so reading a lock or hashing a
directory stays cheap and nothing touches DVC on import.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ArtifactError, ContractError, DataValidationError, RollgateError
from rollgate.model import artifact

LOCK = Path("dvc.lock")
PIPELINE = Path("dvc.yaml")


def read_object(root: Path, md5: str, what: str) -> bytes:
    """The bytes DVC stores under `md5` (a file, or a directory listing `<md5>.dir`).

    Raises:
        ArtifactError: neither the cache nor the default remote has it, naming `what` was sought.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            cache = repo.cache.local
            path = cache.oid_to_path(md5)
            if not cache.fs.exists(path):
                remote = repo.cloud.get_remote_odb(command="fetch")
                remote.fs.get_file(remote.oid_to_path(md5), path)
            data: bytes = cache.fs.read_bytes(path)
    except (DvcException, OSError) as exc:
        where = "neither in the DVC cache nor in the default remote"
        raise ArtifactError(f"{what} (dvc md5 {md5}) is {where}: {exc}") from exc
    return data


def fetch_artifact(root: Path, md5: str, sha256: str, what: str, pinned_by: str) -> bytes:
    """An artifact's bytes by dvc md5, refused unless they have the sha256 that `pinned_by` pins."""
    data = read_object(root, md5, what)
    actual = artifact.sha256_bytes(data)
    if actual != sha256:
        raise ArtifactError(f"{what} (dvc md5 {md5}) has sha256 {actual}, but {pinned_by} pins {sha256}")
    return data


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dir_md5(directory: Path) -> str:
    """The md5 DVC gives a directory (as in `data.dvc`): md5 of the sorted JSON list of its files."""
    entries = [
        {"md5": md5_file(p), "relpath": p.relative_to(directory).as_posix()}
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    ]
    entries.sort(key=lambda e: e["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"


def dir_listing(root: Path, md5: str) -> dict[str, str]:
    """relpath -> md5 of every file of a directory DVC tracks under `md5` (a `.dir` object)."""
    entries = json.loads(read_object(root, md5, "data listing"))
    return {e["relpath"]: e["md5"] for e in entries}


def recorded_md5(text: str, source: str) -> str:
    """The md5 a `.dvc` file's text records for its single output."""
    try:
        md5: str = yaml.safe_load(text)["outs"][0]["md5"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise DataValidationError(f"{source}: unreadable or without outs[0].md5 ({exc})") from exc
    return md5


def recorded_md5_of(dvc_file: Path) -> str:
    """The md5 the `.dvc` file at `dvc_file` records for its single output."""
    try:
        text = dvc_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataValidationError(f"{dvc_file}: unreadable or without outs[0].md5 ({exc})") from exc
    return recorded_md5(text, str(dvc_file))


def locked_md5(root: Path, stage: str, out: str) -> str:
    """The md5 `dvc.lock` records for output `out` of `stage`."""
    lock = yaml.safe_load((root / LOCK).read_text(encoding="utf-8")) if (root / LOCK).exists() else None
    outs = ((lock or {}).get("stages", {}).get(stage) or {}).get("outs", [])
    found = [o.get("md5") for o in outs if o.get("path") == out]
    if not found or not found[0]:
        raise ContractError(f"{LOCK}: no md5 for {out} in the {stage} stage: run `make repro`")
    return str(found[0])


def commit_stage(root: Path, stage: str) -> None:
    """Record `stage`'s current inputs and outputs in `dvc.lock`, saving no run-cache entry.

    Like `dvc commit <stage>`: promotion uses it for the gate, which never judged the model against the
    new release record, so no later run may replay that verdict from the run cache.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo, repo.lock:
            for info in repo.stage.collect_granular(stage):
                info.stage.save(run_cache=False)
                info.stage.dvcfile.dump_stages([info.stage], update_pipeline=False)
    except DvcException as exc:
        raise RollgateError(f"refreshing the {stage} stage's entry in {LOCK} failed: {exc}") from exc


def plots(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(path, spec) of each top-level `plots:` entry of `dvc.yaml`."""
    pipeline = yaml.safe_load((root / PIPELINE).read_text(encoding="utf-8"))
    return [next(iter(entry.items())) for entry in pipeline.get("plots", [])]


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, float]:
    """Run the `dvc` command line of this environment in `cwd`: its output and the seconds it took."""
    cmd = [str(Path(sys.executable).parent / "dvc"), *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RollgateError(f"`dvc {' '.join(args)}` failed in {cwd}:\n{done.stdout}{done.stderr}".rstrip())
    return done.stdout + done.stderr, time.perf_counter() - start
