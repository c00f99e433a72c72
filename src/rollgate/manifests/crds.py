"""`make schemas`: download the official CRDs listed in `schemas.lock` and convert each to a strict JSON
Schema per kind and version, laid out as `<group>/<kind>_<version>.json` (kubeconform's layout).

Strict means: wherever a schema lists `properties`, other fields are rejected (unless the CRD keeps
unknown fields with `x-kubernetes-preserve-unknown-fields`), so a misspelt field fails validation;
`x-kubernetes-int-or-string` becomes integer-or-string; `nullable` admits null; `apiVersion` and
`kind` are pinned to the CRD's own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError

LOCK = Path("schemas.lock")


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
        converted["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        converted["properties"]["kind"] = {"type": "string", "enum": [kind]}
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
        out[f"{group}/{kind.lower()}_{version['name']}.json"] = converted
    return out


def fetch(lock: Path, out: Path, trust_new: bool = False) -> list[Path]:
    """Download every CRD file of the lock, check its sha256, convert it into `out`.

    An entry without a sha256 is refused unless `trust_new`, which records the digest in the lock
    (trust on first use: review the diff of schemas.lock before committing it).
    """
    raw = yaml.safe_load(lock.read_text(encoding="utf-8"))
    entries = raw["crds"]
    written = []
    for entry in entries:
        try:
            with urllib.request.urlopen(entry["url"], timeout=60) as response:
                data = response.read()
        except OSError as exc:
            raise ContractError(
                f"{lock}: cannot download {entry['url']} ({exc}); --schemas DIR takes a local copy"
            ) from exc
        digest = hashlib.sha256(data).hexdigest()
        if not entry.get("sha256") and not trust_new:
            raise ContractError(
                f"{lock}: {entry['url']} has no sha256 yet: `make schemas TRUST_NEW=1` records {digest}"
            )
        if entry.get("sha256") and entry["sha256"] != digest:
            raise ContractError(f"{lock}: {entry['url']} has sha256 {digest}, the lock says {entry['sha256']}")
        entry["sha256"] = digest
        for doc in yaml.safe_load_all(data):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                for rel, schema in convert(doc).items():
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    (out / rel).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
                    written.append(out / rel)
    if trust_new:
        lock.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--out", type=Path, default=Path(".schemas"))
    parser.add_argument("--trust-new", action="store_true", help="record the sha256 of entries that have none")
    args = parser.parse_args()
    try:
        written = fetch(args.lock, args.out, args.trust_new)
    except ContractError as exc:
        raise SystemExit(f"make schemas: {exc}") from None
    print(f"{len(written)} schemas in {args.out}")


if __name__ == "__main__":
    main()
