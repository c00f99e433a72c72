"""What the prediction log may hold: fields a client sends beyond the model's inputs, dropped or hashed.

The log keeps every field the model uses, so that its rows can be re-scored: a policy that names one
is refused, as is dropping the id (labels are joined on it; hash it instead). A hashed field becomes
HMAC-SHA256 under a key from the environment (never a file, never the settings): stable across
restarts and workers, so hashed ids still join, yet not reversible by whoever reads the log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract

HASH_KEY_ENV = "ROLLGATE_LOG_HASH_KEY"
MIN_KEY_BYTES = 16  # a short key could be guessed from the hashes of values that are easy to guess


@dataclass(frozen=True)
class FieldPolicy:
    """Fields dropped from the log, and fields replaced by their keyed hash."""

    drop: frozenset[str] = frozenset()
    hash: frozenset[str] = frozenset()
    key: bytes = field(default=b"", repr=False)

    def __bool__(self) -> bool:
        return bool(self.drop or self.hash)

    def apply(self, fields: dict[str, Any]) -> dict[str, Any]:
        """`fields` as the log may hold them."""
        drop, hashed = self.drop, self.hash
        return {name: self.digest(v) if name in hashed else v for name, v in fields.items() if name not in drop}

    def digest(self, value: Any) -> str | None:
        """HMAC-SHA256 in hex of a string's UTF-8 bytes, or of another value's JSON text; null stays null."""
        if value is None:
            return None
        data = value.encode() if isinstance(value, str) else orjson.dumps(value)
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()


def _refuse_model_fields(flag: str, names: Iterable[str], contract: FeatureContract) -> None:
    for name in names:
        if name in contract.names:
            raise RollgateError(
                f"{flag} {name}: the model uses this field, and the log keeps it so that its rows can be re-scored"
            )


def field_policy(
    drop: Iterable[str], hashed: Iterable[str], contract: FeatureContract, environ: Mapping[str, str] = os.environ
) -> FieldPolicy:
    """The policy `--log-drop` and `--log-hash` ask for, with the key from `environ`.

    Raises:
        RollgateError: a listed field is a model input, the id is dropped, or hashing has no usable key.
    """
    drop, hashed = frozenset(drop), frozenset(hashed)
    _refuse_model_fields("--log-drop", sorted(drop), contract)
    _refuse_model_fields("--log-hash", sorted(hashed), contract)
    if contract.id_field is not None and contract.id_field in drop:
        raise RollgateError(
            f"--log-drop {contract.id_field}: labels are joined on the id; hash it (--log-hash) to keep it joinable"
        )
    if not hashed:
        return FieldPolicy(drop)
    key = environ.get(HASH_KEY_ENV, "").encode()
    if not key:
        raise RollgateError(f"--log-hash needs a secret key: set {HASH_KEY_ENV} (at least {MIN_KEY_BYTES} bytes)")
    if len(key) < MIN_KEY_BYTES:
        raise RollgateError(f"{HASH_KEY_ENV} has {len(key)} bytes; it needs at least {MIN_KEY_BYTES}")
    return FieldPolicy(drop, hashed, key)
