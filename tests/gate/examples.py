"""Evidence the gate tests and the report tests share: a small feature contract, good metrics, digests."""

from __future__ import annotations

from rollgate.contracts.features import FeatureContract, FeatureSpec
from tests import fixed_params

POLICY = fixed_params.gate()
FEATURES = FeatureContract(
    (
        FeatureSpec("amount", "float", minimum=0.0, minimum_exclusive=True),
        FeatureSpec("channel", "category", categories=("online", "pos")),
    )
)
GOOD = {"roc_auc": 0.90, "average_precision": 0.30, "recall_at_fpr": 0.4, "brier": 0.01, "threshold_at_fpr": 0.1}
OLD, NEW, OTHER = "a" * 64, "b" * 64, "c" * 64
