"""A small trained model on disk, for tests that serve or score one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rollgate.contracts import model_metadata
from rollgate.contracts.features import FeatureContract
from rollgate.contracts.probe import probe_frame
from rollgate.data.schema import DATASET
from rollgate.model import artifact
from rollgate.model.build import build_pipeline
from tests import fixed_params


@dataclass(frozen=True)
class TinyModel:
    path: Path
    sha256: str
    model: Any
    contract: FeatureContract

    def rows(self, n: int, offset: int = 0) -> list[dict[str, Any]]:
        """`n` valid rows as a client sends them (plain JSON types), distinct for distinct offsets."""
        frame = probe_frame(self.contract, n + offset).iloc[offset:]
        return json.loads(frame.to_json(orient="records"))

    def scores(self, rows: list[dict[str, Any]]) -> list[float]:
        frame = pd.DataFrame(rows)[self.contract.names]
        for spec in self.contract.features:
            if spec.type == "category":
                frame[spec.name] = frame[spec.name].astype("str")
        return [float(s) for s in self.model.predict_proba(frame)[:, 1]]


def train_tiny(
    tmp_path_factory: pytest.TempPathFactory, iterations: int, leaves: int = 31, rows: int = 6_000
) -> TinyModel:
    """A small model trained on the example's sample, on disk with its metadata beside it, as the train
    stage leaves them (the server's tests and the example's prediction-log tests serve it)."""
    contract = DATASET.features
    df = DATASET.sample(rows, seed=3)
    params = fixed_params.train(
        hist_gradient_boosting={"max_iter": iterations, "max_leaf_nodes": leaves, "min_samples_leaf": 5}
    )
    model = build_pipeline(contract, params, seed=0).fit(df[contract.names], df[DATASET.label])
    data = artifact.dumps(model)
    sha = artifact.sha256_bytes(data)
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.skops").write_bytes(data)
    meta = model_metadata.ModelMetadata(
        name="fraud-detector", artifact="model.skops", sha256=sha, size_bytes=len(data), format="skops",
        trusted_types=artifact.TRUSTED_TYPES,
        prediction_fingerprint=artifact.prediction_fingerprint(model, probe_frame(contract, 64)),
        estimator="hist_gradient_boosting", params={"train": {"probe_rows": 64}}, params_hash="0" * 64,
        data_md5="0" * 32 + ".dir", train_rows=len(df), train_positives=int(df[DATASET.label].sum()),
        features=contract, versions={}, git=model_metadata.GitInfo(None, False),
    )  # fmt: skip
    model_metadata.write(folder / "model.json", meta)
    return TinyModel(folder / "model.skops", sha, model, contract)
