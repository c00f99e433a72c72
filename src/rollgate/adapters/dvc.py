"""The DVC adapter, files and hashes: `.dvc` files, `dvc.lock`, `dvc.yaml`, DVC's md5 of files and folders.

Objects in the cache and the remote live in `rollgate.adapters.dvc_store`, the `dvc` command line in
`rollgate.adapters.dvc_cli`. The `dvc` package is imported inside the functions that need it, so
reading a lock or hashing a directory stays cheap and nothing touches DVC on import.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError, DataValidationError, RollgateError

LOCK = Path("dvc.lock")
PIPELINE = Path("dvc.yaml")


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
            # The stage by its file: a bare name is looked up in the cwd's dvc.yaml, not the repository's.
            for info in repo.stage.collect_granular(f"{(root / PIPELINE).resolve()}:{stage}"):
                info.stage.save(run_cache=False)
                info.stage.dvcfile.dump_stages([info.stage], update_pipeline=False)
    except DvcException as exc:
        raise RollgateError(f"refreshing the {stage} stage's entry in {LOCK} failed: {exc}") from exc


def plots(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(path, spec) of each top-level `plots:` entry of `dvc.yaml`."""
    pipeline = yaml.safe_load((root / PIPELINE).read_text(encoding="utf-8"))
    return [next(iter(entry.items())) for entry in pipeline.get("plots", [])]
