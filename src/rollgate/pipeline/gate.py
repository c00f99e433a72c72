"""Stage `gate` (one per environment): champion and challenger on the same holdout, in the same run,
judged by the policy.

For one environment of `configs/deploy/`: reads the challenger on disk, the champion the environment's
release record pins (by content from the DVC cache or remote, checked by sha256), the holdout and the
environment's history in git; the core (`gate.inputs`, `gate.decide`) judges; `gates/<env>.json` is
written. A verdict of `reject` is a result, not a failure: the stage succeeds and `rollgate gate --check`
fails the pull request.
"""

from __future__ import annotations

from pathlib import Path

from rollgate import params as params_
from rollgate.adapters import dvc_store, history, tracking
from rollgate.contracts import model_metadata, paths, release, verdict
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.contracts.release import Release
from rollgate.data import batches
from rollgate.data.schema import DATASET
from rollgate.gate import inputs
from rollgate.gate.decide import GateInputs, decide
from rollgate.model import artifact
from rollgate.params import GateParams


def _champion(root: Path, record: Release | None, needed: bool) -> inputs.Candidate | None:
    if record is None:
        return None
    model = None
    if needed:
        what, pinned_by = f"champion artifact {record.model.sha256[:12]}", str(paths.release_record(record.env))
        data = dvc_store.fetch_artifact(root, record.model.dvc_md5, record.model.sha256, what, pinned_by)
        model = artifact.loads(data, record.model.sha256, what)
    return inputs.Candidate(model, record.model.sha256, record.features, dict(record.metrics), record.threshold)


def known(root: Path, env: str) -> None:
    known = paths.environments(root)
    if env not in known:
        raise RollgateError(
            f"gate --env {env}: no {paths.DEPLOY_CONFIGS}/{env}.yaml (environments: {', '.join(known) or 'none'})"
        )


def run(root: Path, env: str, track: bool = True) -> verdict.Verdict:
    known(root, env)
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    result = decide(evidence(root, env, params.gate, params.evaluate.fpr_target), params.gate)
    out = root / paths.gate_verdict(env)
    verdict.write(out, result)
    print(summary(result))
    if track:
        failed = [r.criterion for r in result.failed]
        sha, experiment = result.challenger["sha256"], params.shared.model_name
        tracking.log_gate(root, experiment, sha, result.verdict, failed=failed, path=out)
    return result


def evidence(root: Path, env: str, policy: GateParams, fpr: float) -> GateInputs:
    """What the decision judges for `env`: the model on disk and the env's champion on the same holdout."""
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes(), meta.sha256, str(paths.MODEL_ARTIFACT))
    holdout = batches.read_table(root / paths.HOLDOUT_SET, [DATASET.label], str(paths.HOLDOUT_SET))
    record = release.read_env(root, env)
    past = history.read(root, env)
    challenger = inputs.Candidate(model, meta.sha256, meta.features)
    pinned = record.model.sha256 if record else None
    champion = _champion(root, record, inputs.needs_champion_model(meta.sha256, pinned, past))
    return inputs.gather(
        challenger, champion, env=env, holdout=holdout, y=holdout[DATASET.label].to_numpy(), past=past,
        policy=policy, fpr=fpr,
    )  # fmt: skip


def summary(result: verdict.Verdict) -> str:
    lines = [f"gate ({result.env}): {result.verdict}"]
    lines += [f"  {'ok  ' if r.passed else 'FAIL'} {r.criterion}: {r.message}" for r in result.reasons]
    return "\n".join(lines)


def read(root: Path, env: str) -> verdict.Verdict:
    """The verdict for `env`, checked to judge the model on disk for that environment."""
    path = paths.gate_verdict(env)
    if not (root / path).exists():
        raise ContractError(f"{path}: missing: run the pipeline (`make repro`)")
    result = verdict.read(root / path)
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    if result.env != env:
        raise ContractError(f"{path} is the verdict for {result.env!r}, not {env!r}: run `make repro`")
    if result.challenger["sha256"] != meta.sha256:
        raise RollgateError(
            f"digest mismatch: {path} judged {result.challenger['sha256'][:12]}, but the model on disk "
            f"({paths.MODEL_METADATA}) is {meta.sha256[:12]}: re-run the gate (`make repro`)"
        )
    return result


def check(root: Path, env: str | None = None) -> int:
    """`rollgate gate --check [--env ENV]`: 0 when every environment's verdict (or ENV's) is promote,
    rollback or same_model; 1 otherwise, after printing every verdict with its reasons."""
    envs = [env] if env else paths.environments(root)
    for name in envs:
        known(root, name)
    refused = []
    for name in envs:
        result = read(root, name)
        print(summary(result))
        if result.verdict == "same_model":
            print(f"nothing to deploy to {name}: the challenger is the model it already runs")
        elif not result.deployable:
            refused.append(name)
    if refused:
        print(f"not deployable to {', '.join(refused)}")
    return 1 if refused else 0
