"""The promotion's re-judgement: each verdict judged again by the base commit's gate policy and code.

The privileged promotion job runs rollgate from the base commit (main before the merge), so the
decision here is the base's code applied to the merged commit's evidence with the base's gate section
of `params.yaml`. A verdict that is exactly what the base gives is confirmed. One that differs is
refused, unless the merge changed how the gate judges (its code, a contract, its policy: the
promotion workflow's plan, `rollgate promotion plan`, says so) and a person approved that in the
protected environment: then the base's verdict decides, replaces the merged one in `gates/<env>.json`
for the promotion, and every difference is reported.
"""

from __future__ import annotations

from pathlib import Path

from rollgate import params as params_
from rollgate.contracts import paths, verdict
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.gate.decide import decide
from rollgate.pipeline import gate as gate_stage
from rollgate.pipeline import verify


def confirm(root: Path, env: str, base: str, approved: bool) -> list[str]:
    """Re-judge `env`'s verdict under `base`'s gate policy with this (the base's) code; lines to report.

    Args:
        root: the checkout of the merged commit, its pipeline outputs in place.
        env: the environment.
        base: the commit whose gate policy judges (main before the merge).
        approved: the merge changed how the gate judges and a reviewer approved it: the base's verdict
            decides instead of a refusal.

    Raises:
        RollgateError: the recorded verdict differs and nothing approved it (a hand-edited verdict).
    """
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    policy = verify.base_policy(root, base, params)
    recorded = gate_stage.read(root, env)
    found = gate_stage.evidence(root, env, policy, params.evaluate.fpr_target)
    differences = verify.compare(recorded, found, policy)
    source = paths.gate_verdict(env)
    if not differences:
        return [f"gate ({env}): {recorded.verdict}, as the gate policy and code of {base[:12]} judge it"]
    listed = [f"  {d}" for d in differences[: verify.SHOWN]]
    if not approved:
        raise RollgateError(
            f"{source} is not the verdict the gate policy and code of {base[:12]} give; refused (a hand-edited "
            "verdict, or a merge that changed how the gate judges without the approval it needs):\n" + "\n".join(listed)
        )
    again = decide(found, policy)
    verdict.write(root / source, again)
    return [
        f"gate ({env}): the merge changed how the gate judges; the verdict of {base[:12]}'s policy and code "
        f"decides: {again.verdict} (the merged commit's said {recorded.verdict}). Differences:",
        *listed,
    ]
