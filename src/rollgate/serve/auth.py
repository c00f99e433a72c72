"""API keys: the key file's format, which key a request presents, and what that key may do.

Pure: text in, objects out, no file or clock. The file holds only sha256 hashes of the keys, so a leaked
file (a ConfigMap, a backup) gives no caller access; a presented key is hashed and compared with every
stored hash in constant time, so neither the answer's timing nor its content tells which key is close.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from rollgate.contracts.errors import RollgateError

SCOPES = ("score", "model", "metrics")
# The scope each guarded path needs; the probes need none (the kubelet has no key).
PATH_SCOPES = {
    "/v1/predict": "score",
    "/invocations": "score",
    "/v1/model": "model",
    "/openapi.json": "model",
    "/metrics": "metrics",
}
MODES = ("keys", "mesh", "none")
# Label values of the metric for a request without a key and with an unrecognised one: never an id.
NO_KEY, UNKNOWN_KEY = "none", "unknown"
Outcome = Literal["allowed", "unauthenticated", "forbidden"]

_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # a metric label value and a log word, so bounded and plain
ID_RULE = "1-64 of A-Z a-z 0-9 . _ -, and not 'none' or 'unknown'"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HINT = "plain-text keys are refused: store sha256 hashes, see rollgate serve hash-key"


@dataclass(frozen=True)
class ApiKey:
    id: str
    digest: bytes  # sha256 of the key's UTF-8 bytes
    scopes: frozenset[str]


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[ApiKey, ...]

    def identify(self, presented: bytes) -> ApiKey | None:
        """The key whose hash matches, comparing with every stored hash (no early exit)."""
        digest = hashlib.sha256(presented).digest()
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found

    def decide(self, presented: bytes | None, scope: str) -> tuple[str, Outcome]:
        """(the metric's key label, the outcome) for a request presenting `presented` on a `scope` path."""
        if presented is None:
            return NO_KEY, "unauthenticated"
        key = self.identify(presented)
        if key is None:
            return UNKNOWN_KEY, "unauthenticated"
        return key.id, "allowed" if scope in key.scopes else "forbidden"


def presented_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key in `Authorization: Bearer <key>` (first) or `X-API-Key: <key>`, from the raw ASGI headers."""
    api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value.strip():
            api_key = value.strip()
    return api_key


def parse(text: str, source: str) -> KeyRing:
    """The key file `text` (named `source` in errors) as a KeyRing; any problem raises a RollgateError."""
    try:
        raw = json.loads(text)
    except ValueError as exc:  # the message gives a position, never the file's content
        raise RollgateError(f"{source}: not JSON ({exc})") from None
    _fields(raw, {"keys"}, source, "the file")
    entries = raw.get("keys")
    if not isinstance(entries, list) or not entries:
        raise RollgateError(f"{source}: keys: a non-empty list of {{id, sha256, scopes}} is required")
    keys = [_key(entry, f"{source}: keys[{i}]") for i, entry in enumerate(entries)]
    for i, key in enumerate(keys):
        for earlier in keys[:i]:
            if key.id == earlier.id:
                raise RollgateError(f"{source}: keys[{i}].id: {key.id!r} is already the id of an earlier key")
            if key.digest == earlier.digest:
                raise RollgateError(f"{source}: keys[{i}].sha256: the same hash as key {earlier.id!r}")
    return KeyRing(tuple(keys))


def _key(entry: Any, where: str) -> ApiKey:
    _fields(entry, {"id", "sha256", "scopes"}, where, "a key")
    key_id, digest, scopes = entry.get("id"), entry.get("sha256"), entry.get("scopes")
    if not isinstance(key_id, str) or not valid_id(key_id):
        raise RollgateError(f"{where}.id: {ID_RULE} required")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise RollgateError(f"{where} ({key_id}).sha256: not 64 lowercase hex characters ({_HINT})")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise RollgateError(f"{where} ({key_id}).scopes: a non-empty list of {', '.join(SCOPES)} is required")
    if unknown := sorted(set(scopes) - set(SCOPES)):
        raise RollgateError(f"{where} ({key_id}).scopes: unknown scope {unknown[0]!r} (known: {', '.join(SCOPES)})")
    return ApiKey(key_id, bytes.fromhex(digest), frozenset(scopes))


def valid_id(key_id: str) -> bool:
    return bool(_ID.match(key_id)) and key_id not in (NO_KEY, UNKNOWN_KEY)


def _fields(raw: Any, allowed: set[str], where: str, what: str) -> None:
    if not isinstance(raw, dict):
        raise RollgateError(f"{where}: {what} must be a JSON object")
    if unknown := sorted(set(raw) - allowed):
        raise RollgateError(f"{where}: unknown field {unknown[0][:40]!r} (allowed: {', '.join(sorted(allowed))})")


def entry_line(key: str, key_id: str, scopes: list[str]) -> str:
    """The key file's entry for `key`, as one JSON line (checked as the server will check it)."""
    line = json.dumps({"id": key_id, "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": scopes})
    _key(json.loads(line), "hash-key: the entry")
    return line


def check_mode(auth: str, api_keys: str | None, host: str) -> None:
    """Secure by default: no key check only on a loopback host, or where a mesh authenticates callers."""
    if auth not in MODES:
        raise RollgateError(f"--auth must be one of {', '.join(MODES)} (got {auth!r})")
    if auth == "keys" and api_keys is None:
        raise RollgateError("--auth keys needs --api-keys FILE")
    if auth != "keys" and api_keys is not None:
        raise RollgateError(f"--api-keys is only read with --auth keys (got --auth {auth})")
    if auth == "none" and not is_loopback(host):
        raise RollgateError(
            f"--host {host} is not a loopback address, so callers must be authenticated: pass --api-keys FILE, "
            "or --auth mesh when a service mesh authenticates every caller"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
