"""The DVC adapter: objects of the cache and remote by content address, `.dvc` files, `dvc.lock`, `dvc.yaml`.

Objects are fetched into the cache (a fresh clone's included) and one output is pushed to the default
remote before promotion pins its URI there; `repro` is `make repro`, DVC's refusals explained.

The `dvc` package is imported inside the functions that need it, so reading a lock or hashing a
directory stays cheap and nothing touches DVC on import.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
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


def _in_tree(root: Path, odb: Any, md5: str) -> str | None:
    """The object's path relative to `root` when the remote is a local folder inside the work tree."""
    if odb.fs.protocol != "local":
        return None
    found, base = Path(odb.oid_to_path(md5)).resolve(), root.resolve()
    return found.relative_to(base).as_posix() if found.is_relative_to(base) else None


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


# DVC's refusal to overwrite an output whose bytes are in no cache; the paths follow, one a line.
UNSAVED = "Can't remove the following unsaved files"


def _stream(cwd: Path, args: tuple[str, ...]) -> tuple[int, str]:
    """Run `dvc args` with its output on this terminal as it comes; its exit code and its stderr."""
    cmd = [str(Path(sys.executable).parent / "dvc"), *args]
    with subprocess.Popen(cmd, cwd=cwd, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None  # piped above
        lines = []
        for line in proc.stderr:
            sys.stderr.write(line)
            lines.append(line)
    return proc.returncode, "".join(lines)


def _unsaved(root: Path, stderr: str) -> list[str]:
    """The files DVC refused to overwrite, relative to `root`, read from the lines after its refusal."""
    _, found, rest = stderr.partition(UNSAVED)
    names = []
    for line in rest.splitlines()[1:] if found else []:
        if not line.strip() or line.startswith(("ERROR", "WARNING", "Having any troubles")):
            break
        path = Path(line.strip())
        names.append(path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else line)
    return names


def _refusal(root: Path, args: tuple[str, ...], stderr: str) -> str:
    """One message for a failed `dvc args`: DVC's reason and what to do about it."""
    errors = [line.removeprefix("ERROR: ").strip() for line in stderr.splitlines() if line.startswith("ERROR")]
    command, reason = f"`dvc {' '.join(args)}`", errors[-1] if errors else "see its output above"
    files = _unsaved(root, stderr)
    if not files:
        return f"{command} failed ({reason}): fix what it names (`dvc status` lists what changed), then `make repro`"
    listed = " ".join(files)
    return (
        f"{command} refused ({reason}): {', '.join(files)} changed by hand since dvc.lock recorded it. To keep "
        f"the change, copy it elsewhere first (its stage rewrites it: change params.yaml or the code instead); "
        f"to drop it, run `dvc checkout --force {listed}`. Then run `make repro` again"
    )


def repro(root: Path) -> None:
    """`make repro`: fetch what the remote has, then reproduce the pipeline, DVC's output shown as it runs.

    Raises:
        RollgateError: DVC refused or a stage failed, with DVC's reason and the remedy (for an output
            changed by hand: the file, and how to keep or drop the change; DVC refuses before it writes).
    """
    for args in (("pull", "--allow-missing"), ("repro", "--single-item", str(PIPELINE))):
        code, stderr = _stream(root, args)
        if code != 0:
            raise RollgateError(_refusal(root, args, stderr))


def drop_recorded_objects(root: Path) -> int:
    """Remove from an in-tree default remote (a folder inside the repository, like the embedded
    `dvc-remote/`) the objects `data.dvc` and `dvc.lock` record, and its run cache: `rollgate adopt`
    dropping the example. A remote elsewhere is never touched. Returns how many files went."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        remote = repo.cloud.get_remote_odb(command="push")
        objects = Path(remote.path).resolve()  # <remote>/files/md5
        if remote.fs.protocol != "local" or not objects.is_relative_to(root.resolve()):
            return 0
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
