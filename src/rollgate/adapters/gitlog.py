"""Reading an environment's history for the trust checks: one `git log`, one `git cat-file --batch`.

The log follows the first-parent chain (main as it moved) and lists only the commits that touched
`manifests/<env>/` or `deploy-state/<env>/`, each with its author, committer, signature status when
asked (judged by the promotion key alone), its trailer block as git parses it, and the tree and blob
ids of what changed (`--raw -t`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from rollgate.adapters import git, signing
from rollgate.contracts import paths, trailers
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.ledger import Commit
from rollgate.contracts.trailers import SigningKey

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("%H", "%P", "%an", "%ae", "%cn", "%ce", "%G?", "%s", "%(trailers:only,unfold)")


def require_full_history(root: Path, what: str) -> None:
    """Refuse a shallow clone: what it lacks could be the promotion or the revert that decides."""
    if git.git(root, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise RollgateError(
            f"{root.resolve()} is a shallow clone: {what} is decided by the whole history; "
            "run `git fetch --unshallow` (or clone with fetch-depth 0) first"
        )


def read(root: Path, env: str, rev: str = "HEAD", key: SigningKey | None = None) -> list[Commit]:
    """The first-parent commits up to `rev` that touched the env's manifests or state, oldest first;
    with `key`, each commit's `%G?` as judged by that key alone (`rollgate.adapters.signing`)."""
    fields = [f if f != "%G?" or key else "" for f in _FIELDS]
    folder = paths.release_record(env).parent.as_posix()
    state = (trailers.STATE_DIR / env).as_posix()
    log = (
        "log", "--first-parent", "--reverse", "--raw", "-t", "--no-abbrev", "--no-renames",
        "--format=%x1e" + "%x1f".join(fields) + "%x1f", rev, "--", folder, state,
    )  # fmt: skip
    if key is None:
        out = git.git(root, *log)
    else:
        with signing.verifying(key) as check:
            out = git.git(root, *check.args, *log, env=check.env)
    return [_commit(env, chunk) for chunk in out.split("\x1e") if chunk.strip()]


def _commit(env: str, chunk: str) -> Commit:
    sha, parents, an, ae, cn, ce, signature, subject, block, raw = chunk.split("\x1f", 9)
    changes: dict[str, tuple[str | None, str | None, str]] = {}
    for line in raw.splitlines():
        meta, tab, path = line.partition("\t")
        if line.startswith(":") and tab:
            _, _, old, new, status = meta.split()
            changes[path] = (None if set(old) == {"0"} else old, None if set(new) == {"0"} else new, status)
    folder = paths.release_record(env).parent.as_posix()
    reallowed = {d: s for p, (_, _, s) in changes.items() if (d := trailers.reallowed_digest(env, p))}
    return Commit(
        sha=sha, subject=subject, author=(an, ae), committer=(cn, ce), signature=signature.strip(),
        found=trailers.parse(block), root=not parents.strip(),
        folder=changes[folder][:2] if folder in changes else None,
        record=changes[f"{folder}/release.json"][:2] if f"{folder}/release.json" in changes else None,
        anchored=changes.get(trailers.anchor(env).as_posix(), (None, None, "D"))[2] in ("A", "M"),
        reallowed=tuple(d for d, s in reallowed.items() if s != "D"),
        unreallowed=tuple(d for d, s in reallowed.items() if s == "D"),
    )  # fmt: skip


def digests(root: Path, blobs: Iterable[str]) -> dict[str, str | None]:
    """The digest each release.json blob pins (None: no model, or not a valid record)."""
    wanted = sorted(set(blobs))
    if not wanted:
        return {}
    done = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=root, input="\n".join(wanted).encode() + b"\n", capture_output=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RollgateError(f"`git cat-file --batch` failed: {done.stderr.decode(errors='replace').strip()}")
    found: dict[str, str | None] = {}
    data = done.stdout
    for oid in wanted:
        header, _, data = data.partition(b"\n")
        if header.endswith(b" missing"):
            found[oid] = None
            continue
        size = int(header.split()[2])
        found[oid], data = _pinned(data[:size]), data[size + 1 :]
    return found


def _pinned(blob: bytes) -> str | None:
    """`model.sha256` of a release record, read without its schema (which may have changed since)."""
    try:
        model = json.loads(blob).get("model")
    except (ValueError, AttributeError):
        return None  # malformed: it pins nothing
    digest = model.get("sha256") if isinstance(model, dict) else None
    return digest if isinstance(digest, str) and _SHA256.match(digest) else None


def tree_id(folder: Path, object_format: str = "sha1") -> str:
    """The git tree id `folder` would have once committed (plain files and folders, no filters)."""
    entries = []
    for path in folder.iterdir():
        if path.is_dir():
            if any(p.is_file() for p in path.rglob("*")):
                entries.append((path.name.encode() + b"/", b"40000 ", tree_id(path, object_format)))
            continue
        data = path.read_bytes()
        mode = b"100755 " if os.access(path, os.X_OK) else b"100644 "
        entries.append((path.name.encode(), mode, _object(b"blob", data, object_format)))
    body = b"".join(mode + name.rstrip(b"/") + b"\0" + bytes.fromhex(oid) for name, mode, oid in sorted(entries))
    return _object(b"tree", body, object_format)


def _object(kind: bytes, body: bytes, object_format: str) -> str:
    return hashlib.new(object_format, kind + b" %d\0" % len(body) + body).hexdigest()
