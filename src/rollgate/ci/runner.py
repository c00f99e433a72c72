"""The files a GitHub runner reads back from a step: job outputs and the job summary. Outside a runner
(the variables unset) outputs are printed and the summary is left out, so every command runs locally."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rollgate.contracts.errors import RollgateError

OUTPUT, SUMMARY = "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"


def output(name: str, value: str) -> None:
    """Set the step output `name` (a value of any text, multi-line included)."""
    target = os.environ.get(OUTPUT)
    if not target:
        print(f"{name}={value}")
        return
    delimiter = f"rollgate_{secrets.token_hex(8)}"  # never in the value: GitHub's multi-line syntax
    _append(target, OUTPUT, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def summary(markdown: str) -> bool:
    """Append `markdown` to the job summary; False outside a runner."""
    target = os.environ.get(SUMMARY)
    if not target:
        return False
    _append(target, SUMMARY, markdown.rstrip("\n") + "\n\n")
    return True


def _append(target: str, variable: str, text: str) -> None:
    try:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise RollgateError(f"{variable}={target}: cannot append to it ({exc})") from exc
