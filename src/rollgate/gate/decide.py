"""The gate's decision: a pure function of the evidence and the policy, returning the verdict with
every criterion it checked. Loading models, scoring and writing files happen elsewhere."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rollgate.contracts.verdict import Reason, Verdict, VerdictName
from rollgate.gate.compat import incompatibilities
from rollgate.gate.evidence import Latency, ModelEvidence, OperatingPoint, SegmentEvidence
from rollgate.gate.stats import Difference
from rollgate.model.metrics import THRESHOLD_AT_FPR
from rollgate.params import GateParams


@dataclass(frozen=True)
class GateInputs:
    env: str
    challenger: ModelEvidence
    champion: ModelEvidence | None
    comparison: Difference | None = None
    segments: tuple[SegmentEvidence, ...] = ()
    latency: Latency | None = None
    operating: OperatingPoint | None = None  # both models' flagged rows at the thresholds they ship
    deployed_before: frozenset[str] = frozenset()  # digests this env ran, never withdrawn
    withdrawn: frozenset[str] = frozenset()  # digests whose promotion to this env was reverted
    problems: tuple[str, ...] = ()  # evidence that could not be computed: each one rejects


def _floors(inputs: GateInputs, policy: GateParams) -> list[Reason]:
    out = []
    for name, floor in sorted(policy.floors.items()):
        value = inputs.challenger.metrics.get(name, math.nan)
        ok = math.isfinite(value) and value >= floor
        out.append(Reason(f"floor.{name}", ok, f"{name} {value:.4f} {'>=' if ok else 'is below the floor'} {floor}"))
    return out


def _safety(inputs: GateInputs, policy: GateParams) -> list[Reason]:
    """Checks that hold for any deployment, a rollback included: features and latency."""
    out = []
    if inputs.champion is not None:
        problems = incompatibilities(inputs.champion.features, inputs.challenger.features)
        message = "; ".join(problems) if problems else "every row the champion accepts is valid for the challenger"
        out.append(Reason("features", not problems, message))
    if inputs.latency is not None:
        ratio, budget = inputs.latency.ratio, policy.latency.budget_ratio
        ok = math.isfinite(ratio) and ratio <= budget
        out.append(Reason("latency", ok, f"predict time per row {ratio:.2f}x the champion's (budget {budget}x)"))
    if inputs.operating is not None:
        out.append(_operating(inputs.operating, policy))
    return out


def _kept_threshold(inputs: GateInputs) -> str:
    """A new fpr_target with the same model changes nothing that ships: say so rather than stay silent."""
    shipped = inputs.champion.threshold if inputs.champion else None
    new = inputs.challenger.metrics.get(THRESHOLD_AT_FPR, math.nan)
    if shipped is None or not math.isfinite(new) or round(new, 6) == round(shipped, 6):
        return ""
    return (
        f"; the threshold it ships stays {shipped:.4g} (evaluate.fpr_target now sets {new:.4g}, "
        "which ships with the next model)"
    )


def _operating(op: OperatingPoint, policy: GateParams) -> Reason:
    f, band = op.flags, policy.operating_point.max_positive_rate_ratio
    ok = f.folded_lower <= band
    return Reason(
        "operating_point",
        ok,
        f"the challenger flags {f.challenger_flagged / f.rows:.2%} of the holdout at threshold "
        f"{op.challenger_threshold:.4g} vs the champion's {f.champion_flagged / f.rows:.2%} at "
        f"{op.champion_threshold:.4g} ({f.rows:,} rows): ratio "
        f"{f.ratio:.2f}, {policy.confidence:.1%} lower bound of the change {f.folded_lower:.2f}x "
        f"{'<=' if ok else '> the band'} {band}x",
    )


def _improvement(comparison: Difference | None, policy: GateParams) -> Reason:
    if comparison is None or not math.isfinite(comparison.lower):
        return Reason("improvement", False, "no valid comparison with the champion could be computed")
    threshold = policy.decision_margin if policy.rule == "superiority" else -policy.margin
    ok = comparison.lower > threshold
    level = f"{policy.confidence:.1%} lower bound"
    return Reason(
        "improvement",
        ok,
        f"{policy.primary_metric} {comparison.challenger:.4f} vs {comparison.champion:.4f}: difference "
        f"{comparison.difference:+.4f}, {level} {comparison.lower:+.4f} {'>' if ok else '<='} {threshold:+.4f} "
        f"({policy.rule}, {comparison.method})",
    )


def _segments(segments: tuple[SegmentEvidence, ...], policy: GateParams) -> list[Reason]:
    out, alpha, tol = [], 1 - policy.confidence, policy.segments.tolerance
    for s in segments:
        if not s.judged or s.difference is None or s.p_adjusted is None:
            continue
        regressed = s.difference < -tol and s.p_adjusted < alpha
        out.append(
            Reason(
                f"segment.{s.column}={s.value}",
                not regressed,
                f"{s.column}={s.value} ({s.rows} rows): ROC AUC {s.difference:+.4f}, "
                f"adjusted p(worse) {s.p_adjusted:.3g}" + (f" — significant drop beyond {tol}" if regressed else ""),
            )
        )
    return out


def decide(inputs: GateInputs, policy: GateParams) -> Verdict:
    """promote, reject, same_model or rollback, with every criterion checked."""
    sha = inputs.challenger.sha256
    reasons = [Reason("evidence", False, p) for p in inputs.problems]
    verdict: VerdictName
    if sha in inputs.withdrawn:
        reasons.append(Reason("withdrawn", False, f"{sha[:12]} was withdrawn from {inputs.env} by a revert"))
        verdict = "reject"
    elif inputs.champion is not None and sha == inputs.champion.sha256:
        message = f"{sha[:12]} is what {inputs.env} runs: nothing to deploy" + _kept_threshold(inputs)
        reasons.append(Reason("same_model", True, message))
        verdict = "same_model"
    elif sha in inputs.deployed_before:
        reasons.append(
            Reason(
                "rollback",
                True,
                f"{sha[:12]} ran in {inputs.env} before: floors and safety checks apply, the improvement test does not",
            )
        )
        reasons += _floors(inputs, policy) + _safety(inputs, policy)
        verdict = "rollback" if all(r.passed for r in reasons) else "reject"
    elif inputs.champion is None:
        reasons.append(Reason("champion", True, f"no champion in {inputs.env} yet: only the absolute floors apply"))
        reasons += _floors(inputs, policy)
        verdict = "promote" if all(r.passed for r in reasons) else "reject"
    else:
        reasons += [*_floors(inputs, policy), _improvement(inputs.comparison, policy)]
        reasons += _segments(inputs.segments, policy) + _safety(inputs, policy)
        verdict = "promote" if all(r.passed for r in reasons) else "reject"
    return _verdict(verdict, tuple(reasons), inputs, policy)


def _model(
    evidence: ModelEvidence, comparison: Difference | None, is_champion: bool, segments: tuple[SegmentEvidence, ...]
) -> dict[str, object]:
    intervals = {}
    if comparison is not None:
        intervals["primary"] = list(comparison.champion_interval if is_champion else comparison.challenger_interval)
    by_segment = {f"{s.column}={s.value}": (s.champion if is_champion else s.challenger) for s in segments if s.judged}
    return {
        "sha256": evidence.sha256,
        "metrics": dict(evidence.metrics),
        "intervals": intervals,
        "segments": by_segment,
    }


def _verdict(name: VerdictName, reasons: tuple[Reason, ...], inputs: GateInputs, policy: GateParams) -> Verdict:
    c = inputs.comparison
    comparison = None if c is None else {**asdict(c), "metric": policy.primary_metric, "confidence": policy.confidence}
    latency = None if inputs.latency is None else {**asdict(inputs.latency), "ratio": inputs.latency.ratio}
    op = inputs.operating
    operating = None
    if op is not None:
        operating = {"champion_threshold": op.champion_threshold, "challenger_threshold": op.challenger_threshold}
        operating.update(asdict(op.flags))
    return Verdict(
        verdict=name,
        env=inputs.env,
        reasons=reasons,
        policy=policy.model_dump(mode="json"),
        challenger=_model(inputs.challenger, c, False, inputs.segments),
        champion=None if inputs.champion is None else _model(inputs.champion, c, True, inputs.segments),
        comparison=comparison,
        segments=tuple(asdict(s) for s in inputs.segments),
        latency=latency,
        operating_point=operating,
        withdrawn=tuple(sorted(inputs.withdrawn)),
    )
