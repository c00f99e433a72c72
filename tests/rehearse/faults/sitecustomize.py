"""Test-only faults for the rehearsal's scenario tests: a model server that answers slowly or fails.

Python imports `sitecustomize` at start-up from the first folder on its path that has one; this folder
is put on a server's PYTHONPATH only by tests (through `rollgate.rehearse.run.Options.canary_env`, which
the command line does not expose). It is never installed — `tests/` is not part of the package, and the
package's entry points never name it — and it refuses to act unless ROLLGATE_TESTING=1 is set too, so a
stray ROLLGATE_TEST_FAULTS in a production environment does nothing but stop the server with a message.

ROLLGATE_TEST_FAULTS: `slow=SECONDS` (every scoring request waits that long before it is scored) or
`errors=SHARE` (that share of scoring requests is answered 500).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys

_SPEC = os.environ.get("ROLLGATE_TEST_FAULTS", "")

if _SPEC:
    if os.environ.get("ROLLGATE_TESTING") != "1":
        sys.exit("ROLLGATE_TEST_FAULTS is a test-only hook and ROLLGATE_TESTING=1 is not set: refusing to start")
    _KIND, _, _AMOUNT = _SPEC.partition("=")
    if _KIND not in ("slow", "errors"):
        sys.exit(f"ROLLGATE_TEST_FAULTS={_SPEC!r}: expected slow=SECONDS or errors=SHARE")

    from rollgate.serve import routes

    _original = routes._score

    async def _faulty(rt, rows, rid):  # type: ignore[no-untyped-def]
        if _KIND == "slow":
            await asyncio.sleep(float(_AMOUNT))
        elif random.random() < float(_AMOUNT):
            raise routes.ClientError(500, "injected fault (ROLLGATE_TEST_FAULTS, tests only)")
        return await _original(rt, rows, rid)

    routes._score = _faulty  # type: ignore[assignment]
