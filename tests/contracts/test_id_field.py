"""The pass-through id field in the records that carry a feature contract: written when set, absent otherwise."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rollgate.contracts import model_metadata, release
from rollgate.contracts.errors import ContractError
from rollgate.contracts.features import FeatureContract, FeatureSpec

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests/contracts/release_example.json"
AMOUNT = FeatureSpec("amount", "float", minimum=0.0)


def _metadata(features: FeatureContract) -> model_metadata.ModelMetadata:
    return model_metadata.ModelMetadata(
        name="m", artifact="model.skops", sha256="a" * 64, size_bytes=1, format="skops", trusted_types=(),
        prediction_fingerprint="b" * 64, estimator="logistic_regression", params={}, params_hash="c" * 64,
        data_md5="d" * 32, train_rows=1, train_positives=1, features=features, versions={},
        git=model_metadata.GitInfo(None, False),
    )  # fmt: skip


@pytest.mark.parametrize("id_field", ["transaction_id", None])
def test_model_metadata_keeps_the_id_field(tmp_path: Path, id_field: str | None) -> None:
    meta = _metadata(FeatureContract((AMOUNT,), id_field))
    model_metadata.write(tmp_path / "model.json", meta)  # schema-checked
    assert model_metadata.read(tmp_path / "model.json") == meta
    assert ("id_field" in json.loads((tmp_path / "model.json").read_text())) is (id_field is not None)


def test_a_release_record_keeps_the_id_field_and_one_without_still_reads(tmp_path: Path) -> None:
    old = release.read(EXAMPLE)
    assert old is not None and old.features.id_field is None
    assert "id_field" not in old.to_dict()  # a record without an id keeps its bytes
    new = replace(old, features=replace(old.features, id_field="transaction_id"))
    release.write(tmp_path / "release.json", new)  # schema-checked
    assert release.read(tmp_path / "release.json") == new


def test_an_id_field_that_is_also_a_feature_is_refused() -> None:
    with pytest.raises(ContractError, match="id field 'amount' is also a feature: an id is never a model input"):
        FeatureContract((AMOUNT,), "amount")
