"""`python -m rollgate.ci.buildah`: the images built here, with buildah and no daemon, and what any build
of the Dockerfile needs first.

  context  `make image-context`: the wheelhouse `.wheelhouse/`, every file of requirements/ the Dockerfile
           installs downloaded with `pip download --require-hashes --no-deps` (cached under
           <cache>/wheels/<sha256 of those files>/); with --base REF, a base image that is not pinned by
           digest (`name@sha256:<64 hex>`) is refused: what CI builds FROM.
  build    `make image`: the context, a local base image (Debian bookworm with Python 3.11 from
           mmdebstrap, cached as <cache>/image/base-<key>.tar, committed once as localhost/rollgate-base),
           then `buildah bud --target TARGET`; prints the image, its id and its size.
<cache> is $ROLLGATE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/rollgate. buildah keeps its own storage
(vfs, no overlay needed) under <cache>/containers, so builds here never touch the system's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rollgate.contracts.errors import RollgateError

REQUIREMENTS = ("requirements/build.txt", "requirements/serve.txt", "requirements/pipeline.txt")
WHEELHOUSE = Path(".wheelhouse")  # in the build context: the Dockerfile copies it to /wheels
DEBIAN = ("bookworm", "python3,python3-venv,ca-certificates")  # the suite and packages of the local base
BASE = "localhost/rollgate-base"
TARGETS = {"serve": "localhost/rollgate-serve", "pipeline": "localhost/rollgate-pipeline"}
PINNED = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")


def cache() -> Path:
    found = os.environ.get("ROLLGATE_CACHE")
    return Path(found) if found else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rollgate"


def check_base(ref: str) -> str:
    """`ref` when it names an image by digest; else a RollgateError saying what CI must pass."""
    if not PINNED.match(ref):
        raise RollgateError(
            f"BASE_IMAGE {ref!r} is not pinned by digest: pass name@sha256:<64 hex> "
            "(the repository variable ROLLGATE_BASE_IMAGE), never a tag"
        )
    return ref


def _run(argv: Sequence[str], capture: bool = False) -> str:
    done = subprocess.run(argv, check=False, text=True, capture_output=capture)
    if done.returncode != 0:
        why = (done.stderr or "").strip().splitlines()[-1:] if capture else []
        raise RollgateError(f"`{' '.join(argv[:4])} ...` failed (exit {done.returncode}){': ' + why[0] if why else ''}")
    return done.stdout.strip() if capture else ""


def context(root: Path, base: str | None = None) -> Path:
    """The wheelhouse in `root` for every requirement file, from the cache or downloaded once."""
    if base is not None:
        check_base(base)
    files = [root / name for name in REQUIREMENTS]
    key = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    cached = cache() / "wheels" / key
    if not cached.is_dir():
        partial = cached.with_name(f"{key}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "download", "-qq", "--require-hashes", "--no-deps", "-d", str(partial)]
        _run([*pip, *(arg for f in files for arg in ("-r", str(f)))])
        partial.rename(cached)
    house = root / WHEELHOUSE
    shutil.rmtree(house, ignore_errors=True)
    shutil.copytree(cached, house, copy_function=_link)
    return house


def _link(source: str, dest: str) -> None:
    """A hard link where the cache and the context share a file system (no copy of 300 MB), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def buildah(*args: str) -> list[str]:
    """A buildah command on rollgate's own storage (vfs: no overlay or fuse needed, as root)."""
    store = cache() / "containers"
    return ["buildah", "--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "vfs", *args]


def exists(image: str) -> bool:
    found = subprocess.run(buildah("inspect", "--type", "image", image), capture_output=True, check=False)
    return found.returncode == 0


def _make_base_tar(tar: Path) -> None:
    """mmdebstrap's tarball at `tar`, written beside it under a name of this process's and moved into
    place whole. The format is named: mmdebstrap guesses it from the target's extension, and a name
    ending in anything but .tar makes it write a directory. What a killed run left at either path
    (a directory included) is removed first."""
    tar.parent.mkdir(parents=True, exist_ok=True)
    partial = tar.with_name(f"{tar.name}.{os.getpid()}.partial")
    for stale in (tar, partial):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
    try:
        options = ["--quiet", "--variant=apt", "--format=tar", f"--include={DEBIAN[1]}"]
        _run(["mmdebstrap", *options, DEBIAN[0], str(partial)])
        partial.replace(tar)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial)
        else:
            partial.unlink(missing_ok=True)


def base_image() -> str:
    """The local base (mmdebstrap's bookworm with Python 3.11), made once; its name@digest."""
    key = hashlib.sha256(" ".join(DEBIAN).encode()).hexdigest()[:12]
    name = f"{BASE}:{DEBIAN[0]}-{key}"
    if not exists(name):
        tar = cache() / "image" / f"base-{DEBIAN[0]}-{key}.tar"
        if not tar.is_file():
            _make_base_tar(tar)
        box = _run(buildah("from", "scratch"), capture=True)
        try:
            _run(["tar", "-xf", str(tar), "-C", _run(buildah("mount", box), capture=True)])
            _run(buildah("commit", "--quiet", box, name), capture=True)
        finally:
            subprocess.run(buildah("rm", box), capture_output=True, check=False)
    digest = _run(buildah("inspect", "--type", "image", "--format", "{{.FromImageDigest}}", name), capture=True)
    return f"{BASE}@{digest}"


def build(root: Path, target: str, base: str, tag: str | None = None, digest_file: Path | None = None) -> str:
    """`buildah bud` of the Dockerfile's `target` FROM `base`; the image's name. With `digest_file`, it
    is also pushed to an OCI layout beside it, as a registry would store it, and its digest written."""
    name = tag or f"{TARGETS[target]}:dev"
    bud = ["bud", "--quiet", "--isolation", "chroot", "--layers=false", "--target", target]
    args = ["--build-arg", f"BASE_IMAGE={base}", "-f", str(root / "Dockerfile"), "-t", name, str(root)]
    _run(buildah(*bud, *args), capture=True)
    if digest_file is not None:
        layout = digest_file.with_suffix(".oci")
        _run(buildah("push", "--quiet", "--digestfile", str(digest_file), name, f"oci:{layout}:{target}"))
    return name


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m rollgate.ci.buildah", description=__doc__.splitlines()[0])
    cli.add_argument("--root", type=Path, default=Path(), help="repository root (default: current directory)")
    sub = cli.add_subparsers(dest="command", required=True)
    ctx = sub.add_parser("context", help="the wheelhouse .wheelhouse/; --base: refuse an image not pinned by digest")
    ctx.add_argument("--base", help="the base image CI builds from (name@sha256:...)")
    one = sub.add_parser("build", help="context, the local base (or --base), then buildah bud --target TARGET")
    one.add_argument("--target", choices=sorted(TARGETS), default="serve")
    one.add_argument("--base", help="build FROM this image instead of the local base (name@sha256:...)")
    one.add_argument("--tag", help="the image's name (default localhost/rollgate-TARGET:dev)")
    one.add_argument("--digest-file", type=Path, help="also push to an OCI layout beside it; write the digest here")
    args = cli.parse_args(argv)
    try:
        context(args.root, args.base if args.command == "context" else None)
        if args.command == "context":
            print(f"{WHEELHOUSE}: {len(list((args.root / WHEELHOUSE).iterdir()))} files")
            return 0
        name = build(args.root, args.target, args.base or base_image(), args.tag, args.digest_file)
        print(_run(buildah("images", "--format", "{{.Name}}:{{.Tag}} {{.ID}} {{.Size}}", name), capture=True))
    except RollgateError as exc:
        print(f"buildah: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
