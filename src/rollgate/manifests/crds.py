"""`make schemas`: verify the official CRD files listed in `schemas.lock` and convert each to a strict JSON
Schema per kind and version, laid out as `<group>/<kind>_<version>.json` (kubeconform's layout).

Every file must have the sha256 the lock records: a different digest is refused, and so is an entry
without one, unless a maintainer passes `--trust-new` outside CI to record it (CI never trusts on first
use). The files are downloaded from their pinned URLs, or read with `--from DIR` from local copies named
as the URLs end, so the check and the conversion also run offline.

Strict means: wherever a schema lists `properties`, other fields are rejected (unless the CRD keeps
unknown fields with `x-kubernetes-preserve-unknown-fields`), so a misspelt field fails validation;
`x-kubernetes-int-or-string` becomes integer-or-string; `nullable` admits null; `apiVersion` and
`kind` are required and pinned to the CRD's own; `metadata` is always an allowed object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError, RollgateError

LOCK = Path("schemas.lock")
SHA256 = re.compile(r"[0-9a-f]{64}")
COVER = re.compile(r"(?P<group>[a-z0-9.-]+)/(?P<version>v[a-z0-9]+) (?P<kind>[A-Z][A-Za-z0-9]*)")
# The C loader parses the 1.4 MB ApplicationSet CRD in a fraction of the pure-Python loader's time.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Entry:
    """One CRD file of the lock: where it lives, the digest it must have, the kinds it must define."""

    name: str
    version: str
    url: str
    sha256: str | None
    covers: tuple[str, ...]

    @property
    def filename(self) -> str:
        """The file's name in a `--from` directory: the last part of its URL."""
        return self.url.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


def strict(node: Any) -> Any:
    """A copy of an OpenAPI v3 schema node with the rules above applied, recursively."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def convert(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`<group>/<kind>_<version>.json` -> strict schema, for every served version of one CRD."""
    spec = crd.get("spec", {})
    group, kind = spec.get("group"), spec.get("names", {}).get("kind")
    if crd.get("kind") != "CustomResourceDefinition" or not group or not kind:
        raise ContractError("not a CustomResourceDefinition with spec.group and spec.names.kind")
    out = {}
    for version in spec.get("versions", []):
        schema = version.get("schema", {}).get("openAPIV3Schema")
        if not version.get("served", True) or schema is None:
            continue
        converted = strict(schema)
        converted.setdefault("properties", {})
        # The API server owns metadata (ObjectMeta) on every object; some CRDs (Istio's) leave it out.
        converted["properties"].setdefault("metadata", {"type": "object"})
        rest = [r for r in converted.get("required", []) if r not in ("apiVersion", "kind")]
        converted["required"] = ["apiVersion", "kind", *rest]
        converted["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        converted["properties"]["kind"] = {"type": "string", "enum": [kind]}
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
        out[f"{group}/{kind.lower()}_{version['name']}.json"] = converted
    return out


def _entry(lock: Path, raw: Any) -> Entry:
    """One entry of the lock, refused unless well-formed: a typo must not silently weaken the check."""
    if not isinstance(raw, dict) or set(raw) != {"name", "version", "url", "sha256", "covers"}:
        raise ContractError(f"{lock}: each entry needs exactly name, version, url, sha256 and covers: {raw!r}")
    entry = Entry(raw["name"], str(raw["version"]), raw["url"], raw["sha256"], tuple(raw["covers"] or ()))
    if not entry.url.startswith("https://"):
        raise ContractError(f"{lock}: {entry}: the url must be https")
    if entry.sha256 is not None and not SHA256.fullmatch(str(entry.sha256)):
        raise ContractError(f"{lock}: {entry}: sha256 must be 64 lower-case hex digits or null")
    if bad := [c for c in entry.covers if not COVER.fullmatch(c)]:
        raise ContractError(f"{lock}: {entry}: covers wants '<group>/<version> <Kind>', not {bad}")
    return entry


def read_lock(lock: Path) -> list[Entry]:
    """The entries of `lock`, checked: https URLs, well-formed digests, file names unique for `--from`."""
    raw = yaml.safe_load(lock.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("crds"), list):
        raise ContractError(f"{lock}: expected a top-level `crds:` list")
    entries = [_entry(lock, e) for e in raw["crds"]]
    names = [e.filename for e in entries]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ContractError(f"{lock}: two entries end in the same file name {dupes}; --from could not tell them apart")
    return entries


def download(entry: Entry) -> bytes:
    """The bytes `entry.url` serves."""
    try:
        with urllib.request.urlopen(entry.url, timeout=60) as response:
            return bytes(response.read())
    except OSError as exc:
        raise ContractError(f"{entry}: cannot download ({exc}); `--from DIR` reads local copies") from exc


def local(directory: Path, entry: Entry) -> bytes:
    """The bytes of the local copy of `entry` in `directory`, named as its URL ends."""
    path = directory / entry.filename
    if not path.is_file():
        raise ContractError(f"{entry}: no local copy {path}")
    return path.read_bytes()


def digest_problem(entry: Entry, digest: str, trust_new: bool) -> str | None:
    """Why the file read for `entry` is refused, or None. `trust_new` only ever fills a missing digest."""
    if entry.sha256 is None and not trust_new:
        return (
            f"{entry}: no sha256 in the lock; the file read has {digest}. Review that file, then record its "
            "digest (`make schemas TRUST_NEW=1` does, outside CI)"
        )
    if entry.sha256 is not None and entry.sha256 != digest:
        return f"{entry}: the file read has sha256 {digest}, the lock records {entry.sha256}"
    return None


def schemas_of(entry: Entry, data: bytes) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The strict schemas of every CRD in one file, and each kind of `entry.covers` the file lacks."""
    out: dict[str, dict[str, Any]] = {}
    for doc in yaml.load_all(data, Loader=LOADER):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            out.update(convert(doc))
    missing = []
    for cover in entry.covers:
        match = COVER.fullmatch(cover)
        if match and f"{match['group']}/{match['kind'].lower()}_{match['version']}.json" not in out:
            missing.append(f"{entry}: covers {cover}, which the file does not serve")
    return out, missing


@dataclass(frozen=True)
class Verified:
    """What `verify` found: the converted schemas and the digests `--trust-new` is to record, by URL."""

    schemas: dict[str, dict[str, Any]]
    new_digests: dict[str, str]


def verify(entries: list[Entry], read: Callable[[Entry], bytes], trust_new: bool = False) -> Verified:
    """Read, check and convert every entry; every refused one is reported together in one error."""
    problems: list[str] = []
    schemas: dict[str, dict[str, Any]] = {}
    new: dict[str, str] = {}
    for entry in entries:
        data = read(entry)
        digest = hashlib.sha256(data).hexdigest()
        if problem := digest_problem(entry, digest, trust_new):
            problems.append(problem)
            continue  # never parse a file the lock does not vouch for
        if entry.sha256 is None:
            new[entry.url] = digest
        converted, missing = schemas_of(entry, data)
        schemas.update(converted)
        problems.extend(missing)
    if problems:
        raise ContractError("; ".join(problems))
    return Verified(schemas, new)


def write(out: Path, schemas: dict[str, dict[str, Any]]) -> list[Path]:
    """Write each schema under `out` at its relative path; the paths written."""
    written = []
    for rel, schema in sorted(schemas.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def record(lock: Path, new_digests: dict[str, str]) -> None:
    """Fill each `sha256: null` that follows one of the URLs in place, so the lock's comments survive."""
    text = lock.read_text(encoding="utf-8")
    for url, digest in new_digests.items():
        text, n = re.subn(rf"(url: {re.escape(url)}\n\s*sha256:) null", rf"\g<1> {digest}", text)
        if n != 1:
            raise ContractError(f"{lock}: cannot place sha256 {digest} after url {url}; record it by hand")
    lock.write_text(text, encoding="utf-8")


def run(lock: Path, out: Path, source: Path | None = None, trust_new: bool = False) -> list[Path]:
    """`make schemas`: verify the lock's files (downloaded, or from `source`), write their schemas."""
    if trust_new and os.environ.get("CI") == "true":
        raise ContractError(f"{lock}: --trust-new is refused when CI=true: CI never trusts on first use")
    read = partial(local, source) if source else download
    entries = read_lock(lock)
    try:
        verified = verify(entries, read, trust_new)
    except ContractError as exc:
        raise ContractError(f"{lock}: {exc}") from None
    written = write(out, verified.schemas)
    if verified.new_digests:
        record(lock, verified.new_digests)
    return written


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run; a refusal exits non-zero with one line naming the lock and entry."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--out", type=Path, default=Path(".schemas"))
    parser.add_argument("--from", dest="source", type=Path, help="read the CRD files from this directory")
    parser.add_argument(
        "--trust-new", action="store_true", help="maintainers only, refused in CI: record missing digests"
    )
    args = parser.parse_args(argv)
    try:
        written = run(args.lock, args.out, args.source, args.trust_new)
    except RollgateError as exc:
        raise SystemExit(f"make schemas: {exc}") from None
    print(f"{len(written)} schemas in {args.out}")


if __name__ == "__main__":
    main()
