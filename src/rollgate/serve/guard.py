"""The API key check on a request's path: which key, whether it may, counted, and refused with 401 or 403."""

from __future__ import annotations

from collections.abc import Callable

from rollgate.serve import auth
from rollgate.serve.http import ClientError
from rollgate.serve.keyfile import WatchedKeys

_HOW = "send it as Authorization: Bearer <key> or X-API-Key: <key>"


class Guard:
    """Checks requests against the key file's last good keys; `count(key, outcome)` sees every check."""

    def __init__(self, keys: WatchedKeys, count: Callable[[str, auth.Outcome], None]) -> None:
        self.keys, self.count = keys, count

    def check(self, headers: list[tuple[bytes, bytes]], path: str) -> None:
        """Return when the request's key may use `path`; else raise the 401 or 403 to answer."""
        scope = auth.PATH_SCOPES[path]
        presented = auth.presented_key(headers)
        key, outcome = self.keys.current().decide(presented, scope)
        self.count(key, outcome)
        if outcome == "allowed":
            return
        if outcome == "forbidden":
            raise ClientError(403, f"API key {key!r} lacks the {scope!r} scope that {path} needs")
        # RFC 6750: every 401 names the scheme; a key that was sent but is not known is an invalid token.
        error = ClientError(401, f"an API key is required: {_HOW}" if presented is None else "unknown API key")
        challenge = 'Bearer realm="rollgate"'
        error.headers["www-authenticate"] = challenge if presented is None else f'{challenge}, error="invalid_token"'
        raise error
