"""From validated columns to fraud scores: the plain path and a checked fast path.

scikit-learn's fixed cost per call (DataFrame indexing in the ColumnTransformer, input checks) is
several milliseconds, far more than the trees cost for a few rows, and it bounds how many single-row
requests a process can answer. For the common shape — a Pipeline of a ColumnTransformer made of
ordinal encoders and passthrough columns, then one estimator — `ColumnPredictor` encodes the columns
itself from the fitted encoders' public attributes and calls only the final estimator. It is used
only after it has given bit-for-bit the same scores as the plain path on the probe set; otherwise
(or for any other shape) the server uses `FramePredictor`, the model exactly as trained.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rollgate.contracts.features import FeatureContract
from rollgate.contracts.probe import probe_frame
from rollgate.serve.validation import Columns

log = logging.getLogger("rollgate.serve")
PROBE_ROWS = 256
_DTYPES = {"float": "float64", "int": "int64", "bool": "bool", "category": "str"}


class Predictor(Protocol):
    kind: str

    def scores(self, columns: Columns) -> np.ndarray: ...


class FramePredictor:
    """The model exactly as trained: a DataFrame with the training dtypes, then `predict_proba`."""

    kind = "frame"

    def __init__(self, model: Any, contract: FeatureContract) -> None:
        self.model = model
        optional = {s.name for s in contract.features if not s.required}
        # An optional column may hold nulls, which int and bool dtypes cannot: let pandas choose there.
        self.dtypes = {s.name: None if s.name in optional else _DTYPES[s.type] for s in contract.features}

    def scores(self, columns: Columns) -> np.ndarray:
        frame = pd.DataFrame({name: pd.Series(columns[name], dtype=dtype) for name, dtype in self.dtypes.items()})
        return np.asarray(self.model.predict_proba(frame)[:, 1], dtype=np.float64)


def _ordinal_encoder(encoder: Any, names: list[str]) -> list[tuple[str, dict[Any, float], float]] | None:
    """Per column: (name, category -> code, code for unknown), or None when the encoder does more than map."""
    settings = encoder.get_params()
    if settings.get("min_frequency") is not None or settings.get("max_categories") is not None:
        return None
    if settings.get("handle_unknown") != "use_encoded_value" or np.dtype(settings.get("dtype")) != np.float64:
        return None
    unknown = float(settings["unknown_value"])
    pairs = zip(names, encoder.categories_, strict=True)
    return [(n, {c: float(i) for i, c in enumerate(cats)}, unknown) for n, cats in pairs]


class ColumnPredictor:
    """Encode with the fitted encoders' attributes, then call the final estimator on a float matrix."""

    kind = "columns"

    def __init__(self, steps: list[tuple[str, list[Any]]], estimator: Any) -> None:
        self.steps = steps  # ("ordinal", [(name, mapping, unknown)]) or ("passthrough", [name])
        self.estimator = estimator

    @classmethod
    def compile(cls, model: Any) -> ColumnPredictor | None:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

        if not isinstance(model, Pipeline) or len(model.steps) != 2:
            return None
        encode, estimator = model.steps[0][1], model.steps[1][1]
        if not isinstance(encode, ColumnTransformer) or hasattr(estimator, "feature_names_in_"):
            return None
        steps: list[tuple[str, list[Any]]] = []
        for _, transformer, cols in encode.transformers_:
            if transformer == "drop" or (isinstance(cols, list) and not cols):
                continue
            if not (isinstance(cols, list) and all(isinstance(c, str) for c in cols)):
                return None
            if isinstance(transformer, OrdinalEncoder):
                mapping = _ordinal_encoder(transformer, cols)
                if mapping is None:
                    return None
                steps.append(("ordinal", mapping))
            elif transformer == "passthrough" or (
                isinstance(transformer, FunctionTransformer) and transformer.func is None
            ):
                steps.append(("passthrough", list(cols)))
            else:
                return None
        return cls(steps, estimator)

    def scores(self, columns: Columns) -> np.ndarray:
        # An object matrix, as the ColumnTransformer hands over mixed columns: estimators that encode
        # categories themselves (HistGradientBoosting) were fitted on exactly that.
        parts: list[list[Any]] = []
        for kind, spec in self.steps:
            if kind == "ordinal":
                parts.extend([mapping.get(v, unknown) for v in columns[name]] for name, mapping, unknown in spec)
            else:
                parts.extend(columns[name] for name in spec)
        matrix = np.empty((len(parts[0]) if parts else 0, len(parts)), dtype=object)
        for j, values in enumerate(parts):
            matrix[:, j] = values
        return np.asarray(self.estimator.predict_proba(matrix)[:, 1], dtype=np.float64)


def _forest(fast: ColumnPredictor) -> Predictor | None:
    """The numpy forest for small batches over `fast`, when the estimator has that shape."""
    from rollgate.serve import forest

    names: list[str] = []
    codes: dict[str, dict[Any, float]] = {}
    for kind, spec in fast.steps:
        if kind == "ordinal":
            for name, mapping, _ in spec:
                names.append(name)
                codes[name] = mapping
        else:
            names.extend(spec)
    compiled = forest.Forest.compile(fast.estimator)
    columns = forest.internal_encoding(fast.estimator, names, codes)
    return None if compiled is None or columns is None else forest.ForestPredictor(compiled, columns, fast)


def _same(candidate: Predictor, expected: np.ndarray, columns: Columns, chunk: int) -> bool:
    """Whether `candidate` gives bit-for-bit the `expected` scores, fed in batches of `chunk` rows."""
    rows = len(next(iter(columns.values())))
    try:
        parts = [candidate.scores({k: v[i : i + chunk] for k, v in columns.items()}) for i in range(0, rows, chunk)]
        return bool(np.array_equal(np.concatenate(parts), expected))
    except (ValueError, TypeError, IndexError) as exc:  # a shape this code did not foresee
        log.warning("%s path refused (%s)", candidate.kind, exc)
        return False


def build(model: Any, contract: FeatureContract) -> Predictor:
    """The fastest predictor that gives exactly the trained model's scores on the probe set."""
    from rollgate.serve.forest import SMALL_BATCH

    plain = FramePredictor(model, contract)
    fast = ColumnPredictor.compile(model)
    if fast is None or any(not s.required for s in contract.features):
        return plain
    probe = probe_frame(contract, PROBE_ROWS)
    columns = {name: probe[name].tolist() for name in contract.names}
    try:
        expected = plain.scores(columns)  # the model as trained, scored once
    except (ValueError, TypeError) as exc:
        log.warning("fast path refused (%s); serving through the plain pipeline", exc)
        return plain
    if not _same(fast, expected, columns, PROBE_ROWS):
        log.warning("fast path differs from the pipeline on the probe set; serving through the plain pipeline")
        return plain
    quick = _forest(fast)
    if quick is None:
        return fast
    if not _same(quick, expected, columns, SMALL_BATCH // 4) or not _same(quick, expected, columns, SMALL_BATCH):
        log.warning("forest path differs from the pipeline on the probe set; serving through the column path")
        return fast
    return quick


def fingerprint(predictor: Predictor, contract: FeatureContract, rows: int) -> str:
    """The prediction fingerprint of the predictor actually serving (as `artifact.prediction_fingerprint`)."""
    import hashlib

    probe = probe_frame(contract, rows)
    scores = np.round(predictor.scores({n: probe[n].tolist() for n in contract.names}), 6) + 0.0
    return hashlib.sha256(np.ascontiguousarray(scores, dtype="<f8").tobytes()).hexdigest()
