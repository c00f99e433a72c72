"""`rollgate pr verdicts`: a pull request that commits a verdict file must commit the verdict the pipeline
gives. `dvc repro` rewrites a hand-edited `gates/<env>.json` (its output changed), and `gate --verify`
then checks the rewritten file; this checks what the pull request itself committed, for every verdict
file it changed, the way `gate --verify` does (every field exactly, latency within its tolerance)."""

from __future__ import annotations

import json
from pathlib import Path

from rollgate.adapters import git
from rollgate.ci.classify import changed_files
from rollgate.contracts import jsonio, paths, verdict
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.data.schema import DATASET
from rollgate.params import load
from rollgate.pipeline import gate as gate_stage
from rollgate.pipeline import verify


def changed(root: Path, base: str, head: str = "HEAD") -> list[str]:
    """The environments whose verdict file the range `base..head` changes."""
    found = set(changed_files(root, base, head, str(paths.GATES_DIR)))
    return [env for env in paths.environments(root) if str(paths.gate_verdict(env)) in found]


def check(root: Path, base: str, head: str = "HEAD") -> str:
    """Every verdict file changed in `base..head`, as committed at `head`, against what the inputs on disk
    give (run after `make repro`).

    Raises:
        RollgateError: a committed verdict differs (each differing field named) or is unreadable.
    """
    params = load(root / paths.PARAMS, DATASET.params_columns)
    lines, wrong = [], []
    for env in changed(root, base, head):
        path = paths.gate_verdict(env)
        text = git.show(root, head, str(path))
        if text is None:
            lines.append(f"{env}: {path} deleted by the pull request: `make repro` writes it again")
            continue
        try:
            raw = json.loads(text)
            jsonio.check(raw, verdict.SCHEMA, f"{path} as committed")
            committed = verdict.Verdict.from_dict(raw)
        except ValueError as exc:
            wrong.append(f"{env}: {path} as committed is not JSON ({exc})")
            continue
        except ContractError as exc:
            wrong.append(f"{env}: {exc}")
            continue
        found = verify.compare(
            committed, gate_stage.evidence(root, env, params.gate, params.evaluate.fpr_target), params.gate
        )
        if found:
            shown = "\n    ".join(found[: verify.SHOWN])
            wrong.append(f"{env}: {path} as committed is not the verdict the pipeline gives:\n    {shown}")
        else:
            lines.append(f"{env}: {path} as committed is the verdict the pipeline gives")
    if wrong:
        raise RollgateError("a committed verdict was not written by the gate:\n  " + "\n  ".join(wrong))
    return "\n".join(lines) or "no verdict file changed by this pull request"
