"""The monitor's suppressions: `configs/monitor/suppressions.yaml`, a reviewed file, never a flag.

Each entry stops the monitor workflow from opening (or updating) the pull request of one cause in one
environment, optionally for one model digest only, until its expiry date:

    suppressions:
      - env: prod
        cause: retrain            # retrain | revert
        sha256: <64 hex>          # optional: this deployed model only
        expires: 2026-12-31       # the last day it holds
        reason: the merchant feed is being migrated; drift expected until the cut-over

An entry with an unknown key, an unknown cause or environment, or an expiry date already past is an
error naming the file and the entry: a suppression is lifted or extended by another reviewed change,
never by being silently ignored. No file means no suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rollgate.contracts import strict_yaml
from rollgate.contracts.errors import ContractError

SUPPRESSIONS = Path("configs/monitor/suppressions.yaml")
CAUSES = ("retrain", "revert")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    env: Annotated[str, Field(min_length=1)]
    cause: Literal["retrain", "revert"]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    expires: Annotated[date, Field(strict=False)]  # YAML's unquoted date, or an ISO 8601 string
    reason: Annotated[str, Field(min_length=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    suppressions: tuple[_Entry, ...] = ()


@dataclass(frozen=True)
class Suppression:
    """One entry, checked: which (env, cause[, model]) it silences, until when, and why."""

    env: str
    cause: str
    sha256: str | None
    expires: date
    reason: str
    entry: int  # its place in the file, from 0 (`suppressions[N]` in messages)

    def holds(self, env: str, cause: str, sha256: str) -> bool:
        return (self.env, self.cause) == (env, cause) and self.sha256 in (None, sha256)

    def describe(self) -> str:
        model = f" for {self.sha256[:12]}" if self.sha256 else ""
        held = f"{self.env} {self.cause}{model} until {self.expires}"
        return f"{SUPPRESSIONS} suppressions[{self.entry}] ({held}: {self.reason})"


def parse(raw: object, shown: str, envs: list[str], today: date) -> tuple[Suppression, ...]:
    """The entries of a parsed suppression file, each checked against the environments and `today`.

    Raises:
        ContractError: naming `shown` and the entry: an unknown key, cause or environment, a bad digest,
            no reason, or an expiry date before `today`.
    """
    if raw is None:
        return ()
    checked = strict_yaml.validate(_File.model_validate, raw, shown, "suppression file", ContractError)
    found = []
    for i, e in enumerate(checked.suppressions):
        where = f"{shown}: suppressions[{i}] ({e.env} {e.cause})"
        if e.env not in envs:
            raise ContractError(f"{where}: env {e.env!r} is none of {', '.join(envs) or 'no environment'}")
        if e.expires < today:
            raise ContractError(
                f"{where} expired on {e.expires} (today is {today}): remove it, or extend it in a reviewed change"
            )
        found.append(Suppression(e.env, e.cause, e.sha256, e.expires, e.reason, i))
    return tuple(found)


def load(root: Path, envs: list[str], today: date) -> tuple[Suppression, ...]:
    """The suppressions of `root`'s `configs/monitor/suppressions.yaml` (none without the file)."""
    path = root / SUPPRESSIONS
    if not path.is_file():
        return ()
    return parse(strict_yaml.load(path, ContractError, str(SUPPRESSIONS)), str(SUPPRESSIONS), envs, today)


def matching(suppressions: tuple[Suppression, ...], env: str, cause: str, sha256: str) -> Suppression | None:
    """The first suppression holding for this environment, cause and deployed model, if any."""
    return next((s for s in suppressions if s.holds(env, cause, sha256)), None)
