"""What an environment ran before, and what was withdrawn, read from git history (read-only).

The rules are `rollgate.adapters.trust`'s: only the promotions the promotion identity made since the
trust anchor count, and a withdrawal is an exact revert (or a rollback verdict), never a message.
"""

from __future__ import annotations

from pathlib import Path

from rollgate.adapters import trust
from rollgate.contracts.trailers import History


def read(root: Path, env: str) -> History:
    """Digests `env` ran since its trust anchor, those withdrawn from it, and the withdrawn re-renders.

    Raises:
        RollgateError: not a repository, a shallow clone, or no valid promotion identity for `env`.
    """
    return trust.ledger(root, env).history()
