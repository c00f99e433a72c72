"""`rollgate signing import`: the promotion key, for the job steps that commit after it.

The workflow passes the ASCII-armoured secret key in `ROLLGATE_SIGNING_KEY`, an environment secret of
the environment the job runs in. It is imported into a new GNUPGHOME of its own (under `$RUNNER_TEMP`,
or `--home`), refused unless it is the key `promotion.signing_key` names, and the later steps are told
to sign with it: `GNUPGHOME` and git's `user.signingkey` (through `GIT_CONFIG_COUNT`/`_KEY_n`/`_VALUE_n`,
so no config file is written) go to `$GITHUB_ENV`. The key itself is never printed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path

from rollgate.adapters import identity, signing
from rollgate.ci import runner
from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError

SECRET = "ROLLGATE_SIGNING_KEY"


def run(root: Path, env: str, home: Path | None = None) -> str:
    """Import the promotion key for `env` and make the job's later steps sign with it; what was done.

    Raises:
        RollgateError: the secret is missing while `env` verifies signatures, is not the configured key,
            or cannot sign; no `--home` outside a runner; a bad deploy config.
    """
    who, shown = identity.load(root, env), (paths.DEPLOY_CONFIGS / f"{env}.yaml").as_posix()
    armored = os.environ.get(SECRET, "")
    if who.signing_key is None:
        if armored.strip():
            return f"{SECRET} is set but {shown} does not verify signatures: not imported; commits stay unsigned"
        return f"{shown} does not verify signatures and {SECRET} is unset: nothing to import; commits stay unsigned"
    want = who.signing_key
    if not armored.strip():
        raise RollgateError(
            f"{SECRET} is not set: {shown} verifies signatures by {want.key_id} ({want.source}); store the "
            f"promotion key's secret as the environment secret {SECRET} of `{env}` and pass it to this step"
        )
    home = home or _runner_home()
    try:
        fingerprint = signing.import_secret(armored, home)
        if fingerprint != want.fingerprint:
            raise RollgateError(
                f"{SECRET} holds key {fingerprint[-16:]}, but {want.source} is {want.key_id}: "
                "store the secret of the configured key (or commit this key's public half there)"
            )
    except RollgateError:
        signing.stop(home)
        shutil.rmtree(home, ignore_errors=True)
        raise
    config = {"user.signingkey": f"{fingerprint}!", "gpg.format": "openpgp", "gpg.program": signing.gpg()}
    variables = {"GNUPGHOME": str(home), **_git_config(config)}
    if not all(runner.environment(name, value) for name, value in variables.items()):
        exports = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables.items())
        return f"imported {want.key_id} into {home}; not on a runner, so for your shell:\n{exports}"
    return f"imported {want.key_id} into {home}: the job's later steps sign with it (GNUPGHOME, user.signingkey)"


def _runner_home() -> Path:
    temp = os.environ.get("RUNNER_TEMP")
    if not temp:
        raise RollgateError("RUNNER_TEMP is unset (not on a runner): give --home DIR, a new folder for the key")
    return Path(tempfile.mkdtemp(prefix="rollgate-gnupg-", dir=temp))


def _git_config(config: dict[str, str]) -> dict[str, str]:
    """git config as environment variables, after any `GIT_CONFIG_COUNT` entries already set."""
    try:
        start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        raise RollgateError(f"GIT_CONFIG_COUNT={os.environ['GIT_CONFIG_COUNT']!r} is not a number") from None
    found = {"GIT_CONFIG_COUNT": str(start + len(config))}
    for i, (key, value) in enumerate(config.items(), start):
        found |= {f"GIT_CONFIG_KEY_{i}": key, f"GIT_CONFIG_VALUE_{i}": value}
    return found
