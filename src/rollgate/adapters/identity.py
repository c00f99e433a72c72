"""The promotion identity of an environment: `promotion` in `configs/deploy/<env>.yaml`.

Declared here, below `rollgate.manifests.deploy_config` (which validates the whole file with this
model), because the history checks in `rollgate.adapters.trust` need it and sit below the manifests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rollgate.adapters import git
from rollgate.contracts import paths, strict_yaml
from rollgate.contracts.errors import ContractError
from rollgate.contracts.trailers import Identity


class PromotionConfig(BaseModel):
    """Who makes promotion commits: the only author and committer whose promotion trailers count."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, Field(pattern=r"^[^<>\n]+$")]
    email: Annotated[str, Field(pattern=r"^[^<>\s@]+@[^<>\s@]+$")]
    # Also require a good signature (git's %G? = G) from a key this machine's git trusts
    # (gpg.ssh.allowedSignersFile, or the gpg keyring); rollgate then signs its commits (`-S`).
    verify_signatures: bool = False

    def identity(self) -> Identity:
        return Identity(self.name, self.email, self.verify_signatures)


class _Only(BaseModel):
    """A deploy config's `promotion` key alone (the rest is `DeployConfig`'s to validate)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    promotion: PromotionConfig


def load(root: Path, env: str, rev: str | None = None) -> Identity:
    """The promotion identity `configs/deploy/<env>.yaml` names (at commit `rev` when it has the file, else
    in the work tree); a missing or bad one is an error naming the file and the key."""
    shown = str(paths.DEPLOY_CONFIGS / f"{env}.yaml")
    text = git.show(root, rev, shown) if rev else None
    if rev and text is not None:
        raw = strict_yaml.parse(text, ContractError, f"{shown}@{rev[:12]}")
    elif (root / shown).is_file():
        raw = strict_yaml.load(root / shown, ContractError, shown)
    else:
        known = ", ".join(paths.environments(root)) or "none"
        raise ContractError(f"{shown}: no such environment (configured: {known})")
    return strict_yaml.validate(_Only.model_validate, raw, shown, "deploy config", ContractError).promotion.identity()
