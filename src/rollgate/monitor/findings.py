"""One statistical test's outcome, and a family of them judged together (Holm) against effect floors.

Every alarm in the monitor is the same rule: significant after Holm's correction within its family
(the tests of one kind in one window) at the family's alpha from the run's budget, AND an effect at or
above the floor of the level that alarms (moderate by default). Significance alone would alarm on
trivia in a huge window; an effect alone would alarm on noise in a tiny one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rollgate.gate import stats
from rollgate.monitor.jsonsafe import number

LEVELS = ("none", "moderate", "major")


@dataclass(frozen=True)
class Floors:
    """The effect sizes at which a change counts as moderate and as major."""

    moderate: float
    major: float

    def level(self, effect: float) -> str:
        if not math.isfinite(effect) or effect < self.moderate:
            return "none"
        return "major" if effect >= self.major else "moderate"


@dataclass(frozen=True)
class Finding:
    """One test: what was tested, its statistic and p-value, its effect and the rows behind it."""

    family: str  # drift, domain, prediction, label_free, realized, positives, paired
    subject: str  # a feature, "score", "flag_rate", "roc_auc", ...
    test: str  # e.g. "chi2", "ks", "fisher", "mann_whitney", "z", "delong"
    statistic: float
    p_value: float
    effect: str  # e.g. "psi", "ks_d", "auc", "flag_ratio", "auc_drop"
    effect_value: float
    floors: Floors
    rows: int
    reference_rows: int
    dispersion: float = 1.0  # φ the null was widened by (1: i.i.d. theory)
    p_adjusted: float = math.nan  # Holm within the family
    significant: bool = False
    alarm: bool = False

    @property
    def level(self) -> str:
        return self.floors.level(self.effect_value)

    def reason(self, alpha: float) -> str:
        """One line saying why this finding alarms (or would)."""
        return (
            f"{self.subject}: {self.effect} {self.effect_value:.4g} ({self.level}, floor {self.floors.moderate:g}); "
            f"{self.test} p {self.p_value:.3g}, Holm {self.p_adjusted:.3g} vs alpha {alpha:.3g}; "
            f"{self.rows} rows vs {self.reference_rows} reference"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "test": self.test,
            "statistic": number(self.statistic),
            "p_value": number(self.p_value),
            "p_adjusted": number(self.p_adjusted),
            "effect": self.effect,
            "effect_value": number(self.effect_value),
            "level": self.level,
            "floors": {"moderate": self.floors.moderate, "major": self.floors.major},
            "dispersion": number(self.dispersion),
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "significant": self.significant,
            "alarm": self.alarm,
        }


@dataclass(frozen=True)
class Family:
    """The tests of one kind in one window, judged together at `alpha`; `judged` false says why not."""

    name: str
    alpha: float
    findings: tuple[Finding, ...] = ()
    judged: bool = True
    reason: str = ""

    @property
    def alarms(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.alarm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "judged": self.judged,
            "reason": self.reason,
            "alarm": bool(self.alarms),
            "findings": [f.to_dict() for f in self.findings],
        }


def judge(name: str, findings: Sequence[Finding], alpha: float, alarm_level: str = "moderate") -> Family:
    """Holm-adjust the family's p-values; a finding alarms when significant at `alpha` and its effect
    is at least `alarm_level`."""
    if not findings:
        return Family(name, alpha, judged=False, reason="nothing to test")
    adjusted = stats.holm([f.p_value for f in findings])
    floor = LEVELS.index(alarm_level)
    out = []
    for f, p in zip(findings, adjusted, strict=True):
        significant = p <= alpha
        alarm = significant and LEVELS.index(f.level) >= floor
        out.append(replace(f, p_adjusted=p, significant=significant, alarm=alarm))
    return Family(name, alpha, tuple(out))


def not_judged(name: str, alpha: float, reason: str) -> Family:
    return Family(name, alpha, judged=False, reason=reason)
