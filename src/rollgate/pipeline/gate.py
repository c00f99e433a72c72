"""Stage `gate`: champion and challenger on the same holdout, in the same run, judged by the policy.

Loads both models (the champion by content from the DVC cache or remote, checked by sha256),
gathers the evidence, calls the pure decision and writes `gate.json`. A verdict of `reject` is a
result, not a failure: the stage succeeds and `rollgate gate --check` fails the pull request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollgate import params as params_
from rollgate.contracts import model_metadata, paths, verdict
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.release import Release
from rollgate.data.schema import LABEL
from rollgate.delivery import history
from rollgate.gate import evidence, stats
from rollgate.gate.decide import GateInputs, decide
from rollgate.model import artifact, latency
from rollgate.model import metrics as m
from rollgate.params import GateParams
from rollgate.pipeline import champion, tracking


def _score(model: Any, holdout: pd.DataFrame, names: list[str], who: str) -> tuple[np.ndarray, list[str]]:
    missing = [n for n in names if n not in holdout.columns]
    if missing:
        return np.full(len(holdout), np.nan), [f"{who}: holdout lacks its input columns {missing}"]
    scores: np.ndarray = model.predict_proba(holdout[names])[:, 1]
    return scores, []


def _metrics(y: np.ndarray, scores: np.ndarray, who: str, fpr: float) -> tuple[dict[str, float], list[str]]:
    try:
        return m.headline(y, scores, fpr, where=f"{who} on the holdout"), []
    except RollgateError as exc:
        return {k: float("nan") for k in m.HEADLINE}, [str(exc)]


def gather(root: Path, policy: GateParams, fpr: float) -> GateInputs:
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes(), meta.sha256, str(paths.MODEL_ARTIFACT))
    holdout = pd.read_parquet(root / paths.HOLDOUT_SET)
    y = holdout[LABEL].to_numpy()
    record: Release | None = champion.read_record(root, policy.env)
    past = history.read(root, policy.env, Path(paths.release_record(policy.env)))
    scores, problems = _score(model, holdout, meta.features.names, "challenger")
    metrics, more = _metrics(y, scores, "challenger", fpr)
    challenger = evidence.ModelEvidence(meta.sha256, metrics, meta.features)
    current = record.model.sha256 if record else None
    base = {
        "env": policy.env,
        "challenger": challenger,
        "withdrawn": past.withdrawn,
        "deployed_before": past.deployed - past.withdrawn - {current},
    }
    if record is None or current == meta.sha256 or meta.sha256 in past.withdrawn:
        champ = None if record is None else evidence.ModelEvidence(current or "", dict(record.metrics), record.features)
        return GateInputs(champion=champ, problems=tuple(problems + more), **base)  # type: ignore[arg-type]
    return _against(
        root,
        record,
        model=model,
        holdout=holdout,
        y=y,
        scores=scores,
        problems=problems + more,
        base=base,
        policy=policy,
        fpr=fpr,
    )


def _against(
    root: Path,
    record: Release,
    *,
    model: Any,
    holdout: pd.DataFrame,
    y: np.ndarray,
    scores: np.ndarray,
    problems: list[str],
    base: dict[str, Any],
    policy: GateParams,
    fpr: float,
) -> GateInputs:
    """The full comparison with a champion (same holdout, same run)."""
    champ_model = champion.load(root, record)
    champ_scores, more = _score(champ_model, holdout, record.features.names, "champion")
    champ_metrics, even_more = _metrics(y, champ_scores, "champion", fpr)
    problems = problems + more + even_more
    comparison: stats.Difference | None = None
    segments: tuple[evidence.SegmentEvidence, ...] = ()
    if not problems:
        try:
            comparison = evidence.compare(y, champ_scores, scores, policy)
            segments = evidence.segments(holdout, y, champ_scores, scores, policy)
        except RollgateError as exc:
            problems.append(f"comparison: {exc}")
    rows = holdout.head(policy.latency.rows)
    seconds = latency.paired_per_row_seconds(
        champ_model, model, rows[record.features.names], rows[base["challenger"].features.names], policy.latency.repeats
    )
    return GateInputs(
        champion=evidence.ModelEvidence(record.model.sha256, champ_metrics, record.features),
        comparison=comparison,
        segments=segments,
        latency=evidence.Latency(*seconds),
        problems=tuple(problems),
        **base,
    )


def run(root: Path, track: bool = True) -> verdict.Verdict:
    params = params_.load(root / paths.PARAMS)
    inputs = gather(root, params.gate, params.evaluate.fpr_target)
    result = decide(inputs, params.gate)
    verdict.write(root / paths.GATE_VERDICT, result)
    print(summary(result))
    if track:
        failed = [r.criterion for r in result.failed]
        tracking.log_gate(
            root,
            params.shared.model_name,
            result.challenger["sha256"],
            result.verdict,
            failed=failed,
            path=root / paths.GATE_VERDICT,
        )
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
