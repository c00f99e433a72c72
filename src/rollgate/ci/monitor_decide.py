"""What a monitor run calls for: nothing, a retraining pull request, or the revert of the live promotion.

Pure: the evidence (the alarms of the monitor's reports, and the paired comparison of the deployed model
with the previous known-good one on pooled matured rows) and the suppressions in, a `Decision` out.

- **revert** when the paired comparison was judged — a previous known-good model exists and the pooled
  matured rows hold at least the stated minimum of positives — and it found the deployed model worse;
- else **retrain** when any retrain alarm fired (drift, a realized drop against the holdout, more or
  fewer positives than expected): also when both models degraded alike, where reverting would not help;
- else nothing.

A cause a suppression holds is passed over (and said so), and the next one is considered. The pull
request's key is (environment, cause, deployed model digest), and its branch is a function of the key
alone, so a later run finds the same open pull request and updates it instead of opening another.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollgate.ci.monitor_suppress import Suppression, matching

RETRAIN, REVERT = "retrain", "revert"
MIN_POOLED_POSITIVES = 30  # positives the pooled matured rows need before the paired comparison counts


@dataclass(frozen=True)
class Key:
    """At most one open pull request per key."""

    env: str
    cause: str
    sha256: str  # the deployed model's

    @property
    def branch(self) -> str:
        return f"rollgate/monitor-{self.env}-{self.cause}-{self.sha256[:12]}"

    @property
    def marker(self) -> str:
        """A line in the pull request's body saying which key it is for."""
        return f"<!-- rollgate-monitor env={self.env} cause={self.cause} sha256={self.sha256} -->"


@dataclass(frozen=True)
class Paired:
    """The deployed model against the previous known-good one on the same pooled matured rows."""

    positives: int  # labelled positives in the pooled rows
    alarms: tuple[str, ...] = ()  # the revert alarms of that comparison's report
    why_not: str = ""  # set: not compared at all (no previous model, no matured rows)
    minimum: int = MIN_POOLED_POSITIVES

    @property
    def judged(self) -> bool:
        return not self.why_not and self.positives >= self.minimum

    def note(self) -> str:
        if self.why_not:
            return f"revert not judged: {self.why_not}"
        if self.positives < self.minimum:
            return f"revert not judged: {self.positives} pooled positives, fewer than the {self.minimum} needed"
        return f"revert judged on {self.positives} pooled positives: " + (
            "the deployed model is worse" if self.alarms else "no significant difference"
        )


@dataclass(frozen=True)
class Evidence:
    env: str
    sha256: str  # the deployed model
    retrain: tuple[str, ...]  # every retrain alarm's reason, of every report
    paired: Paired


@dataclass(frozen=True)
class Decision:
    key: Key | None  # None: no pull request
    reasons: tuple[str, ...]  # why that cause
    suppressed: tuple[tuple[str, Suppression], ...] = ()  # causes passed over, with what held them
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        held = [f"{cause} suppressed by {s.describe()}" for cause, s in self.suppressed]
        head = f"{self.key.cause} pull request" if self.key else "no pull request"
        return "; ".join([head, *held, *self.notes])


def decide(evidence: Evidence, suppressions: tuple[Suppression, ...]) -> Decision:
    """The cause to open (or update) a pull request for, every suppressed one and why."""
    wanted: list[tuple[str, tuple[str, ...]]] = []
    if evidence.paired.judged and evidence.paired.alarms:
        wanted.append((REVERT, evidence.paired.alarms))
    if evidence.retrain:
        wanted.append((RETRAIN, evidence.retrain))
    held: list[tuple[str, Suppression]] = []
    notes = (evidence.paired.note(),)
    for cause, reasons in wanted:
        found = matching(suppressions, evidence.env, cause, evidence.sha256)
        if found is None:
            return Decision(Key(evidence.env, cause, evidence.sha256), reasons, tuple(held), notes)
        held.append((cause, found))
    return Decision(None, (), tuple(held), notes)
