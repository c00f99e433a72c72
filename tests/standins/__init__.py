"""Stand-ins for the services that cannot run here (GitHub's API), checked against their published descriptions.

What they are checked against comes from npm packages, pinned by version and fetched once: `npm pack`
into a temporary folder, one member read from the tarball as a stream, and the small part the tests
need cached outside the repository under `${XDG_CACHE_HOME:-~/.cache}/rollgate/<package>-<version>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

NPM_TIMEOUT_S = 600  # the OpenAPI package is a 29 MB tarball: generous for a slow mirror


class Unavailable(Exception):  # noqa: N818 (what it says: the description cannot be had here)
    """npm is missing or the package could not be fetched; the message is one line."""


def cache_dir(package: str, version: str) -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/rollgate/<package without @, / as ->-<version>`."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rollgate" / f"{package.lstrip('@').replace('/', '-')}-{version}"


def npm_member(package: str, version: str, member: str) -> bytes:
    """The bytes of `member` (a path inside the package, e.g. `package/index.json`) of `package@version`."""
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable(f"npm is not installed (needed once to fetch {package}@{version})")
    with tempfile.TemporaryDirectory(prefix="rollgate-npm-") as tmp:
        argv = [npm, "pack", f"{package}@{version}", "--ignore-scripts", "--pack-destination", tmp]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"npm pack {package}@{version} took over {NPM_TIMEOUT_S} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise Unavailable(f"npm pack {package}@{version} failed: {last}")
        tarball = next(Path(tmp).glob("*.tgz"), None)  # the one file npm wrote (the folder was empty)
        if tarball is None:
            raise Unavailable(f"npm pack {package}@{version} wrote no tarball")
        with tarfile.open(tarball, "r|gz") as stream:  # a stream: members are read in order, once
            for entry in stream:
                if entry.name == member and (handle := stream.extractfile(entry)) is not None:
                    return handle.read()
    raise Unavailable(f"{package}@{version} has no {member}")


def cached_json(path: Path, build: Callable[[], Any], current: Callable[[Any], bool] = bool) -> Any:
    """The JSON at `path`, built and written first when missing or not `current`. The write goes to a unique
    temporary file renamed into place, so concurrent builders (xdist workers) never leave or read half a file."""
    if path.is_file() and current(found := json.loads(path.read_text(encoding="utf-8"))):
        return found
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(value, out, sort_keys=True, separators=(",", ":"))
        Path(tmp).chmod(0o644)  # mkstemp's 0600 would hide the cache from another user sharing it
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return value


def unavailable(why: str) -> NoReturn:
    """TESTING.md's rule for a missing tool: skip with a one-line reason, but fail where CI=true."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)
