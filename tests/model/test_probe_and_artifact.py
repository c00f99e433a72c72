"""The probe set and the model artifact: same contract, same probe rows; same fitted model, same bytes,
same sha256 and same prediction fingerprint; anything unreadable, untrusted or tampered is refused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from rollgate.contracts.errors import ArtifactError
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.contracts.probe import probe_frame
from rollgate.data.contract import feature_contract
from rollgate.data.example.generate import generate_week
from rollgate.data.example.schema import Transactions
from rollgate.model import artifact
from rollgate.model.build import build_pipeline
from rollgate.params import TrainParams
from tests import fixed_params

pytestmark = [pytest.mark.unit, pytest.mark.example]  # the shipped example's columns

LABEL = "is_fraud"

Fit = Callable[[TrainParams], Pipeline]


def _double(x: Any) -> Any:
    """A function skops has never been told to trust."""
    return x * 2


def _ids(node: Any) -> list[int]:
    """Every skops object id in a schema.json tree."""
    if isinstance(node, list):
        return [i for item in node for i in _ids(item)]
    if not isinstance(node, dict):
        return []
    own = [node["__id__"]] if isinstance(node.get("__id__"), int) else []
    return own + [i for value in node.values() for i in _ids(value)]


def _trees(max_iter: int) -> TrainParams:
    return fixed_params.train(hist_gradient_boosting={"max_iter": max_iter})


@pytest.fixture(scope="module")
def contract() -> FeatureContract:
    return feature_contract(Transactions)


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    frame = generate_week(0, rows=600)
    assert frame[LABEL].nunique() == 2  # both classes, or the fits below prove nothing
    return frame


@pytest.fixture(scope="module")
def fit(contract: FeatureContract, training: pd.DataFrame) -> Fit:
    def fit(params: TrainParams) -> Pipeline:
        return build_pipeline(contract, params, seed=0).fit(training[contract.names], training[LABEL])

    return fit


@pytest.fixture(scope="module")
def twins(fit: Fit) -> tuple[Pipeline, Pipeline]:
    """Two separate fits of the same small model on the same data."""
    return fit(_trees(5)), fit(_trees(5))


@pytest.fixture(scope="module")
def probe(contract: FeatureContract) -> pd.DataFrame:
    return probe_frame(contract, 256)


# --- probe_frame ------------------------------------------------------------------------------------


def test_probe_is_deterministic(contract: FeatureContract) -> None:
    pd.testing.assert_frame_equal(probe_frame(contract, 300), probe_frame(contract, 300))


def test_probe_has_the_contract_columns_and_rows(contract: FeatureContract, probe: pd.DataFrame) -> None:
    assert list(probe.columns) == contract.names
    assert len(probe) == 256


def test_probe_values_satisfy_the_contract(contract: FeatureContract) -> None:
    frame = probe_frame(contract, 2_000)

    for spec in contract.features:
        values = frame[spec.name]
        if spec.categories is not None:
            assert set(values) <= set(spec.categories), spec.name
        if spec.minimum is not None:
            assert (values > spec.minimum).all() if spec.minimum_exclusive else (values >= spec.minimum).all()
        if spec.maximum is not None:
            assert (values < spec.maximum).all() if spec.maximum_exclusive else (values <= spec.maximum).all()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("amount", "f"), ("hour_of_day", "i"), ("card_present", "b")],
)
def test_probe_dtypes_follow_the_feature_types(probe: pd.DataFrame, name: str, kind: str) -> None:
    assert probe[name].dtype.kind == kind


def test_probe_category_columns_are_strings(probe: pd.DataFrame) -> None:
    assert all(isinstance(v, str) for v in probe["channel"])


def test_probe_respects_an_exclusive_float_minimum() -> None:
    tiny = FeatureContract((FeatureSpec("share", "float", minimum=0.0, maximum=0.02, minimum_exclusive=True),))

    values = probe_frame(tiny, 1_000)["share"]

    assert (values > 0.0).all()
    assert (values <= 0.02).all()


def test_probe_depends_only_on_the_contract() -> None:
    one = FeatureContract((FeatureSpec("a", "float", minimum=1.0, maximum=2.0),))
    other = FeatureContract((FeatureSpec("a", "float", minimum=1.0, maximum=3.0),))

    assert not probe_frame(one, 50).equals(probe_frame(other, 50))


# --- dumps / loads ----------------------------------------------------------------------------------


def test_two_fits_serialise_to_identical_bytes(twins: tuple[Pipeline, Pipeline]) -> None:
    first, second = twins

    assert artifact.dumps(first) == artifact.dumps(second)


def test_artifact_has_no_timestamps_or_object_ids(twins: tuple[Pipeline, Pipeline]) -> None:
    with zipfile.ZipFile(io.BytesIO(artifact.dumps(twins[0]))) as zipped:
        infos = zipped.infolist()
        schema = json.loads(zipped.read("schema.json"))

    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    ids = set(_ids(schema))  # an object referenced twice keeps one id
    assert sorted(ids) == list(range(1, len(ids) + 1))  # renumbered 1..n, not memory addresses
    arrays = {int(name[: -len(".npy")]) for name in names if name.endswith(".npy")}
    assert arrays and arrays <= ids


def test_loads_with_the_right_digest_predicts_the_same(
    twins: tuple[Pipeline, Pipeline], contract: FeatureContract, training: pd.DataFrame
) -> None:
    data = artifact.dumps(twins[0])

    loaded = artifact.loads(data, expected_sha256=artifact.sha256_bytes(data))

    rows = training[contract.names]
    np.testing.assert_array_equal(loaded.predict_proba(rows), twins[0].predict_proba(rows))


def test_a_wrong_digest_is_refused(twins: tuple[Pipeline, Pipeline]) -> None:
    data = artifact.dumps(twins[0])

    with pytest.raises(
        ArtifactError, match=r"^models/model\.skops: sha256 [0-9a-f]{64} does not match the expected 0{64}$"
    ):
        artifact.loads(data, expected_sha256="0" * 64, source="models/model.skops")


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a zip", b"PK\x03\x04truncated"],
    ids=["empty", "text", "zip-header-only"],
)
def test_garbage_bytes_are_refused(garbage: bytes) -> None:
    with pytest.raises(ArtifactError, match=r"^model: not a readable skops artifact"):
        artifact.loads(garbage)


def test_truncated_artifact_is_refused(twins: tuple[Pipeline, Pipeline]) -> None:
    data = artifact.dumps(twins[0])

    with pytest.raises(ArtifactError, match="not a readable skops artifact"):
        artifact.loads(data[: len(data) // 2])


def test_a_model_needing_an_unreviewed_type_is_not_written() -> None:
    with pytest.raises(ArtifactError, match=r"not in TRUSTED_TYPES .*_double"):
        artifact.dumps(FunctionTransformer(func=_double))


def test_an_artifact_with_an_unreviewed_type_is_not_loaded() -> None:
    raw = sio.dumps(FunctionTransformer(func=_double))

    with pytest.raises(ArtifactError, match=r"^model: refuses to load untrusted types .*_double"):
        artifact.loads(raw)


def test_logistic_regression_serialises_with_the_same_trusted_types(
    fit: Fit, contract: FeatureContract, training: pd.DataFrame
) -> None:
    model = fit(fixed_params.train(estimator="logistic_regression"))

    data = artifact.dumps(model)
    loaded = artifact.loads(data, expected_sha256=artifact.sha256_bytes(data))

    rows = training[contract.names]
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    assert artifact.dumps(fit(fixed_params.train(estimator="logistic_regression"))) == data


# --- prediction_fingerprint -------------------------------------------------------------------------


def test_fingerprint_is_stable_across_fits(twins: tuple[Pipeline, Pipeline], probe: pd.DataFrame) -> None:
    first, second = (artifact.prediction_fingerprint(m, probe) for m in twins)

    assert first == second
    assert len(first) == 64


def test_fingerprint_survives_a_round_trip(twins: tuple[Pipeline, Pipeline], probe: pd.DataFrame) -> None:
    loaded = artifact.loads(artifact.dumps(twins[0]))

    assert artifact.prediction_fingerprint(loaded, probe) == artifact.prediction_fingerprint(twins[0], probe)


def test_fingerprint_changes_when_the_model_changes(
    twins: tuple[Pipeline, Pipeline], fit: Fit, probe: pd.DataFrame
) -> None:
    longer = fit(_trees(6))

    assert artifact.prediction_fingerprint(longer, probe) != artifact.prediction_fingerprint(twins[0], probe)


@pytest.mark.parametrize(
    "spec",
    [
        FeatureSpec("n", "int", minimum=0, maximum=10, minimum_exclusive=True, maximum_exclusive=True),
        FeatureSpec("x", "float", minimum=0.0, maximum=1.0, maximum_exclusive=True),
    ],
    ids=["int-exclusive", "float-exclusive-max"],
)
def test_probe_respects_exclusive_bounds(spec: FeatureSpec) -> None:
    values = probe_frame(FeatureContract((spec,)), 2_000)[spec.name]
    low_ok = values.min() > spec.minimum if spec.minimum_exclusive else values.min() >= spec.minimum  # type: ignore[operator]
    assert low_ok and values.max() < spec.maximum  # type: ignore[operator]


def test_canonical_is_idempotent(twins: tuple[Pipeline, Pipeline]) -> None:
    data = artifact.dumps(twins[0])
    assert artifact.canonical(data) == data
