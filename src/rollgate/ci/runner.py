"""The files a GitHub runner reads back from a step: job outputs, the job summary and the environment of
later steps. Outside a runner (the variables unset) outputs are printed and the summary and the
environment are left out, so every command runs locally."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rollgate.contracts.errors import RollgateError

OUTPUT, SUMMARY, ENV = "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV"


def output(name: str, value: str) -> None:
    """Set the step output `name` (a value of any text, multi-line included)."""
    target = os.environ.get(OUTPUT)
    if not target:
        print(f"{name}={value}")
        return
    _append(target, OUTPUT, _assignment(name, value))


def environment(name: str, value: str) -> bool:
    """Set the environment variable `name` for the job's later steps; False outside a runner."""
    target = os.environ.get(ENV)
    if not target:
        return False
    _append(target, ENV, _assignment(name, value))
    return True


def _assignment(name: str, value: str) -> str:
    delimiter = f"rollgate_{secrets.token_hex(8)}"  # never in the value: GitHub's multi-line syntax
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


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
