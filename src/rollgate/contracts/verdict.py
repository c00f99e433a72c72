"""The gate verdict — `gate.json`, a DVC metric: the decision, every criterion with its outcome, the
policy as applied and the evidence. `rollgate promote` accepts only `promote` and `rollback`, and
only for the digest on disk."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rollgate.contracts import jsonio

SCHEMA = "verdict"
SCHEMA_VERSION = 1

VerdictName = Literal["promote", "reject", "same_model", "rollback"]
VERDICTS: tuple[VerdictName, ...] = ("promote", "reject", "same_model", "rollback")
DEPLOYABLE: tuple[VerdictName, ...] = ("promote", "rollback")


@dataclass(frozen=True)
class Reason:
    """One criterion and its outcome; failed ones explain a `reject`."""

    criterion: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictName
    env: str
    reasons: tuple[Reason, ...]
    policy: dict[str, Any]
    challenger: dict[str, Any]
    champion: dict[str, Any] | None
    comparison: dict[str, Any] | None = None
    segments: tuple[dict[str, Any], ...] = ()
    latency: dict[str, Any] | None = None
    operating_point: dict[str, Any] | None = None  # flagged shares at the thresholds each model ships
    withdrawn: tuple[str, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.passed)

    @property
    def deployable(self) -> bool:
        return self.verdict in DEPLOYABLE

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schema_version"] = SCHEMA_VERSION
        out["reasons"] = [asdict(r) for r in self.reasons]
        out["segments"] = list(self.segments)
        out["withdrawn"] = list(self.withdrawn)
        finite: dict[str, Any] = _finite(out)
        return finite

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Verdict:
        fields = {k: v for k, v in raw.items() if k != "schema_version"}
        fields["reasons"] = tuple(Reason(**r) for r in raw["reasons"])
        fields["segments"] = tuple(raw.get("segments", ()))
        fields["withdrawn"] = tuple(raw.get("withdrawn", ()))
        return cls(**fields)


def _finite(obj: Any) -> Any:
    """NaN and infinities become null: a metric that could not be computed is absent, never a number."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write(path: Path, verdict: Verdict) -> None:
    jsonio.write_checked(path, verdict.to_dict(), SCHEMA)


def read(path: Path) -> Verdict:
    return Verdict.from_dict(jsonio.read(path, SCHEMA))
