"""Commit trailers of promotion commits, and how a revert withdraws a promoted digest.

A promotion commit's message ends with these trailers; `git revert` of it withdraws its digest for
that environment until a later commit carries `Rollgate-Reallow: <sha256>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENV = "Rollgate-Env"
MODEL_SHA256 = "Rollgate-Model-Sha256"
SOURCE_COMMIT = "Rollgate-Source-Commit"
VERDICT = "Rollgate-Verdict"
REALLOW = "Rollgate-Reallow"
# A re-render of the model already pinned (same model; configs, templates or image changed) carries
# this instead of MODEL_SHA256 and VERDICT: reverting it (a bad image or setting) withdraws nothing.
RERENDER = "Rollgate-Rerender"


@dataclass(frozen=True)
class History:
    """What an environment ran, read from git history: the gate and promotion judge by it."""

    deployed: frozenset[str]  # every digest the env's release record ever pinned
    withdrawn: frozenset[str]  # digests whose promotion to the env was reverted (and not re-allowed)


_TRAILER = re.compile(r"^(Rollgate-[A-Za-z0-9-]+):\s*(\S+)\s*$", re.MULTILINE)
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")


def parse(message: str) -> dict[str, list[str]]:
    """Every `Rollgate-*` trailer in a commit message, by key (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for key, value in _TRAILER.findall(message):
        found.setdefault(key, []).append(value)
    return found


def reverted_commit(message: str) -> str | None:
    """The commit a `git revert` message says it reverts."""
    match = _REVERTS.search(message)
    return match.group(1) if match else None
