"""The monitor's knobs: effect floors, minimums, caps and seeds (`Policy`), and alpha per family (`Alphas`).

Defaults, and why:
- floors (moderate, major): PSI 0.1 / 0.25 and KS D 0.05 / 0.1 (credit-scoring practice; D catches a
  scale change that decile PSI misses); domain-classifier AUC 0.55 / 0.60; flag-rate and
  observed-vs-expected-positives ratios 1.25 / 1.5 (either direction); ROC AUC drop 0.01 / 0.03.
  A moderate effect alarms (`alarm_level`).
- `epsilon` 1e-4: the share an empty bin counts as in PSI. `min_expected` 5: χ² bins pooled below it.
- `min_positives` 10: fewer labelled positives (or negatives) than this, or fewer expected ones for the
  label-free estimate, and the window is "not judged".
- domain classifier: at most `domain_rows` (5,000) rows a side, a side under `domain_min_rows` (20) is
  not judged, `domain_iterations` (30) boosting rounds of depth 3.
- `draws` 200 parametric-bootstrap draws for the label-free band; average precision's interval by the
  gate's bootstrap (`resamples` 200) over at most `ap_bootstrap_rows` (10,000) labelled rows (a
  stratified subsample above that, its interval scaled by √(m/n)).
- reported intervals at `confidence` 0.95 (two-sided); `seed` 0 makes every draw repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.findings import LEVELS, Floors

PSI = Floors(0.1, 0.25)
KS_D = Floors(0.05, 0.1)
DOMAIN_AUC = Floors(0.55, 0.60)
RATIO = Floors(1.25, 1.5)
AUC_DROP = Floors(0.01, 0.03)


@dataclass(frozen=True)
class Policy:
    psi: Floors = PSI
    ks: Floors = KS_D
    domain_auc: Floors = DOMAIN_AUC
    flag_ratio: Floors = RATIO
    positives_ratio: Floors = RATIO
    auc_drop: Floors = AUC_DROP
    alarm_level: str = "moderate"
    epsilon: float = 1e-4
    min_expected: float = 5.0
    min_positives: int = 10
    domain_rows: int = 5000
    domain_min_rows: int = 20
    domain_iterations: int = 30
    draws: int = 200
    resamples: int = 200
    ap_bootstrap_rows: int = 10_000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.alarm_level not in LEVELS[1:]:
            raise RollgateError(f"monitor policy: alarm_level {self.alarm_level!r} (moderate or major)")
        if not 0 < self.confidence < 1 or not 0 < self.epsilon < 1:
            raise RollgateError("monitor policy: confidence and epsilon must lie strictly between 0 and 1")
        if min(self.min_positives, self.domain_min_rows, self.draws, self.resamples) < 2:
            raise RollgateError("monitor policy: minimums, draws and resamples must be at least 2")


@dataclass(frozen=True)
class Alphas:
    """The significance level each family of tests is judged at in one window (see `budget.split`)."""

    drift: float = 0.01
    domain: float = 0.01
    prediction: float = 0.01
    label_free: float = 0.01
    realized: float = 0.01
    positives: float = 0.01
    paired: float = 0.01


@dataclass(frozen=True)
class ReferenceSettings:
    """How the reference is built (see `reference` and `spread`)."""

    bins: int = 10  # deciles
    ks_points: int = 1000  # KS sketch: D on it is at most ~1/1000 below the exact two-sample D
    max_categories: int = 100
    sample_rows: int = 5000  # training rows kept (as bin codes) for the domain classifier
    seed: int = 0
    epsilon: float = 1e-4  # PSI's empty-bin share
    min_expected: float = 5.0  # χ² bins pooled below this expected count
    heterogeneity_alpha: float = 0.05  # widen a feature's nulls only if its weeks differ at this level

    def __post_init__(self) -> None:
        # the domain classifier takes category codes as categorical features: at most 255 of them
        if not 1 <= self.max_categories <= 250 or self.bins < 2 or self.ks_points < 10:
            raise RollgateError("reference settings: bins >= 2, ks_points >= 10, max_categories in 1..250")


DEFAULT_POLICY = Policy()
DEFAULT_ALPHAS = Alphas()
DEFAULT_SETTINGS = ReferenceSettings()
