"""What `rollgate promotion stage` decided for one environment, written beside the staged render
(`<env>.json`) and read back by `rollgate promotion land`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rollgate.contracts.errors import ContractError

DEPLOY, RERENDER, NOTHING = "deploy", "rerender", "nothing"


@dataclass(frozen=True)
class Plan:
    """What `stage` decided for one environment (`<env>.json` beside the render)."""

    env: str
    kind: str  # DEPLOY, RERENDER or NOTHING
    sha256: str  # the model on disk
    source_commit: str  # the commit it was staged from
    changed: tuple[str, ...] = ()  # a re-render's changed files
    render: str = ""  # a re-render's tree id

    def write(self, folder: Path) -> None:
        (folder / f"{self.env}.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, folder: Path, env: str) -> Plan:
        path = folder / f"{env}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = cls(**{**raw, "changed": tuple(raw.get("changed", ()))})
        except (OSError, ValueError, TypeError) as exc:
            raise ContractError(
                f"{path}: no staged promotion for {env} ({exc}): run `rollgate promotion stage`"
            ) from exc
        if found.env != env or found.kind not in (DEPLOY, RERENDER, NOTHING):
            raise ContractError(f"{path}: a staged promotion of {found.env!r} ({found.kind!r}), not of {env!r}")
        return found
