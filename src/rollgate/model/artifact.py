"""Safe, canonical model artifacts: skops with a reviewed list of trusted types, never pickle.

skops writes Python object ids into `schema.json` (and as array file names) and the current time
into the zip; `canonical` rewrites both — ids renumbered in order of first appearance, entries
sorted, timestamps fixed — so the same fitted model always gives the same bytes and the same sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio

from rollgate.contracts.errors import ArtifactError

# Reviewed: the non-default types the example Pipeline needs beyond skops' built-in trusted set.
# Each is a scikit-learn or standard-library internal that holds data, not arbitrary code.
# (ADOPT: when your estimator needs more, review each type before adding it here.)
TRUSTED_TYPES: tuple[str, ...] = (
    "functools.partial",  # how HistGradientBoosting stores its bound score function
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",  # the function functools.partial wraps, by name
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
)

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_NPY_NAME = re.compile(r"^(\d+)\.npy$")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _renumber(schema: Any, ids: dict[int, int]) -> Any:
    """Replace object ids with their order of first appearance, in ids and in array file names.

    Keys are walked in sorted order, the order they are written in, so that re-packing a canonical
    artifact is the identity and a mere reordering of skops' JSON keys changes nothing."""
    if isinstance(schema, list):
        return [_renumber(v, ids) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in sorted(schema.items()):
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and _NPY_NAME.match(value):
            out[key] = f"{ids.setdefault(int(value[:-4]), len(ids) + 1)}.npy"
        else:
            out[key] = _renumber(value, ids)
    return out


def canonical(raw: bytes) -> bytes:
    """Re-pack a skops zip so that equal models give equal bytes."""
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    ids: dict[int, int] = {}
    schema = _renumber(json.loads(members.pop("schema.json")), ids)
    renamed = {"schema.json": json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()}
    for name, data in members.items():
        match = _NPY_NAME.match(name)
        renamed[f"{ids[int(match.group(1))]}.npy" if match else name] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, renamed[name], compresslevel=9)
    return out.getvalue()


def dumps(model: Any) -> bytes:
    """Serialize `model` canonically; refuse if it needs a type nobody reviewed."""
    raw = sio.dumps(model)
    untrusted = sorted(set(sio.get_untrusted_types(data=raw)) - set(TRUSTED_TYPES))
    if untrusted:
        raise ArtifactError(f"model needs types not in TRUSTED_TYPES (review, then add): {untrusted}")
    return canonical(raw)


def loads(data: bytes, expected_sha256: str | None = None, source: str = "model") -> Any:
    """Load an artifact after checking its digest; only reviewed types are allowed to load."""
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256:
        raise ArtifactError(f"{source}: sha256 {sha256_bytes(data)} does not match the expected {expected_sha256}")
    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ArtifactError(f"{source}: not a readable skops artifact ({exc})") from exc
    if untrusted:
        raise ArtifactError(f"{source}: refuses to load untrusted types {untrusted}")
    return sio.loads(data, trusted=list(TRUSTED_TYPES))


def prediction_fingerprint(model: Any, probe: pd.DataFrame, decimals: int = 6) -> str:
    """sha256 of the model's probabilities on a fixed probe set, rounded so that float noise in the
    last bits does not count as a different model."""
    scores = np.round(model.predict_proba(probe)[:, 1], decimals) + 0.0  # +0.0 folds -0.0 into 0.0
    return hashlib.sha256(np.ascontiguousarray(scores, dtype="<f8").tobytes()).hexdigest()
