"""The scikit-learn Pipeline: raw feature columns in, fraud probability out.

All preprocessing lives inside the Pipeline and uses scikit-learn's own classes only, so the artifact
loads without importing rollgate and the server needs no feature code of its own. Categories come
from the feature contract (not from the training data), so encoding never depends on which
categories a given week happened to contain.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from rollgate.contracts.features import FeatureContract
from rollgate.params import TrainParams


def _split(contract: FeatureContract) -> tuple[list[str], list[str], list[list[str]]]:
    categorical = [f for f in contract.features if f.type == "category"]
    numeric = [f.name for f in contract.features if f.type != "category"]
    return [f.name for f in categorical], numeric, [list(f.categories or ()) for f in categorical]


def build_pipeline(contract: FeatureContract, params: TrainParams, seed: int) -> Pipeline:
    """An unfitted Pipeline for the estimator `params` selects, deterministic for `seed`."""
    categorical, numeric, categories = _split(contract)
    if params.estimator == "hist_gradient_boosting":
        hgb = params.hist_gradient_boosting
        encode = ColumnTransformer(
            [
                # Unknown categories map to NaN, which the trees route like missing values.
                (
                    "categorical",
                    OrdinalEncoder(
                        categories=categories,
                        handle_unknown="use_encoded_value",
                        unknown_value=np.nan,
                        dtype=np.float64,
                    ),
                    categorical,
                ),
                ("numeric", "passthrough", numeric),
            ],
            verbose_feature_names_out=False,
        )
        model = HistGradientBoostingClassifier(
            learning_rate=hgb.learning_rate,
            max_iter=hgb.max_iter,
            max_leaf_nodes=hgb.max_leaf_nodes,
            min_samples_leaf=hgb.min_samples_leaf,
            l2_regularization=hgb.l2_regularization,
            categorical_features=list(range(len(categorical))),
            early_stopping=False,  # no internal random validation split: same data, same model
            random_state=seed,
        )
        return Pipeline([("encode", encode), ("model", model)])
    lr = params.logistic_regression
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                categorical,
            ),
            ("numeric", StandardScaler(), numeric),
        ],
        verbose_feature_names_out=False,
    )
    model = LogisticRegression(C=lr.C, max_iter=lr.max_iter, random_state=seed)
    return Pipeline([("encode", encode), ("model", model)])
