"""The promotion identity of an environment: `promotion` in `configs/deploy/<env>.yaml`.

Declared here, below `rollgate.manifests.deploy_config` (which validates the whole file with this
model), because the history checks in `rollgate.adapters.trust` need it and sit below the manifests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rollgate.adapters import git, signing
from rollgate.contracts import paths, strict_yaml
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.trailers import Identity, SigningKey

# A path inside the repository, relative to its root: no leading `/`, no segment starting with `.` (so no `..`).
REPO_PATH = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$"


class PromotionConfig(BaseModel):
    """Who makes promotion commits: the only author and committer whose promotion trailers count."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, Field(pattern=r"^[^<>\n]+$")]
    email: Annotated[str, Field(pattern=r"^[^<>\s@]+@[^<>\s@]+$")]
    # Also require a good signature from `signing_key` alone; rollgate then signs its commits with it.
    verify_signatures: bool = False
    # The promotion key's ASCII-armoured PUBLIC key, committed in the repository (required with
    # verify_signatures, and only then).
    signing_key: Annotated[str, Field(pattern=REPO_PATH)] | None = None

    @model_validator(mode="after")
    def _key_with_verification(self) -> PromotionConfig:
        if self.verify_signatures and self.signing_key is None:
            raise ValueError(
                "verify_signatures: true needs signing_key: the public key file its commits are signed with"
            )
        if not self.verify_signatures and self.signing_key is not None:
            raise ValueError("signing_key is set but verify_signatures is false: set both, or neither")
        return self


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
    config = strict_yaml.validate(_Only.model_validate, raw, shown, "deploy config", ContractError).promotion
    key = _key(root, rev if text is not None else None, shown, config.signing_key) if config.signing_key else None
    return Identity(config.name, config.email, key)


def _key(root: Path, rev: str | None, shown: str, path: str) -> SigningKey:
    """The public key `path` holds (at `rev`, where the deploy config was read, else in the work tree)."""
    where = f"{shown}: promotion.signing_key: {path}"
    text = git.show(root, rev, path) if rev else (root / path).read_text() if (root / path).is_file() else None
    if text is None:
        raise ContractError(f"{where}: no such file{f' at {rev[:12]}' if rev else ''}")
    try:
        return signing.public_key(text, where)
    except RollgateError as exc:
        raise ContractError(str(exc)) from None
