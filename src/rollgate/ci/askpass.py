"""`rollgate-askpass`: git's GIT_ASKPASS program for pushes with a GitHub App token.

A job that pushes sets `GIT_ASKPASS: rollgate-askpass` and `ROLLGATE_PUSH_TOKEN` (the App token) in the
step's environment: git asks this program for the credentials of an https remote, and the token is
never written to `.git/config` nor put in a URL (so checkouts keep `persist-credentials: false`).
Standard library only."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

TOKEN = "ROLLGATE_PUSH_TOKEN"
USER = "x-access-token"  # the user name GitHub expects with an installation token


def answer(prompt: str, token: str | None) -> str:
    """What git asked for: the user name, or the token as the password.

    Raises:
        SystemExit: the token is not set, or git asked something else.
    """
    if prompt.lower().startswith("username"):
        return USER
    if prompt.lower().startswith("password"):
        if not token:
            raise SystemExit(f"rollgate-askpass: {TOKEN} is not set: the step that pushes must pass the App token")
        return token
    raise SystemExit(f"rollgate-askpass: git asked {prompt!r}, not for a user name or password")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    print(answer(args[0] if args else "", os.environ.get(TOKEN)))
    return 0
