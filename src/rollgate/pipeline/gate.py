"""Stage `gate`: champion and challenger on the same holdout, in the same run, judged by the policy.

Reads the challenger on disk, the champion the environment's release record pins (by content from the
DVC cache or remote, checked by sha256), the holdout and the environment's history in git; the core
(`gate.inputs`, `gate.decide`) judges; `gate.json` is written. A verdict of `reject` is a result, not a
failure: the stage succeeds and `rollgate gate --check` fails the pull request.
"""

from __future__ import annotations

from pathlib import Path

from rollgate import params as params_
from rollgate.adapters import dvc_store, history, tracking
from rollgate.contracts import model_metadata, paths, release, verdict
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.release import Release
from rollgate.data import batches
from rollgate.data.schema import DATASET
from rollgate.gate import inputs
from rollgate.gate.decide import decide
from rollgate.model import artifact


def _champion(root: Path, record: Release | None, needed: bool) -> inputs.Candidate | None:
    if record is None:
        return None
    model = None
    if needed:
        what, pinned_by = f"champion artifact {record.model.sha256[:12]}", str(paths.release_record(record.env))
        data = dvc_store.fetch_artifact(root, record.model.dvc_md5, record.model.sha256, what, pinned_by)
        model = artifact.loads(data, record.model.sha256, what)
    return inputs.Candidate(model, record.model.sha256, record.features, dict(record.metrics), record.threshold)


def run(root: Path, track: bool = True) -> verdict.Verdict:
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    policy, fpr, experiment = params.gate, params.evaluate.fpr_target, params.shared.model_name
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes(), meta.sha256, str(paths.MODEL_ARTIFACT))
    holdout = batches.read_table(root / paths.HOLDOUT_SET, [DATASET.label], str(paths.HOLDOUT_SET))
    record = release.read_env(root, policy.env)
    past = history.read(root, policy.env)
    challenger = inputs.Candidate(model, meta.sha256, meta.features)
    pinned = record.model.sha256 if record else None
    champion = _champion(root, record, inputs.needs_champion_model(meta.sha256, pinned, past))
    gathered = inputs.gather(
        challenger, champion, holdout=holdout, y=holdout[DATASET.label].to_numpy(), past=past, policy=policy, fpr=fpr
    )
    result = decide(gathered, policy)
    verdict.write(root / paths.GATE_VERDICT, result)
    print(summary(result))
    if track:
        failed = [r.criterion for r in result.failed]
        sha = result.challenger["sha256"]
        tracking.log_gate(root, experiment, sha, result.verdict, failed=failed, path=root / paths.GATE_VERDICT)
    return result


def summary(result: verdict.Verdict) -> str:
    lines = [f"gate ({result.env}): {result.verdict}"]
    lines += [f"  {'ok  ' if r.passed else 'FAIL'} {r.criterion}: {r.message}" for r in result.reasons]
    return "\n".join(lines)


def check(root: Path) -> int:
    """`rollgate gate --check`: 0 for promote, rollback and same_model; 1 otherwise."""
    result = verdict.read(root / paths.GATE_VERDICT)
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    if result.challenger["sha256"] != meta.sha256:
        raise RollgateError(
            f"{paths.GATE_VERDICT} judged {result.challenger['sha256'][:12]}, but "
            f"{paths.MODEL_METADATA} is {meta.sha256[:12]}: run `make repro`"
        )
    print(summary(result))
    if result.verdict == "same_model":
        print("nothing to deploy: the challenger is the model this environment already runs")
        return 0
    return 0 if result.deployable else 1
