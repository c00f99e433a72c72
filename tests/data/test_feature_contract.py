"""The per-row feature contract is derived from the Pandera schema, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from rollgate.contracts import jsonio
from rollgate.contracts.errors import ContractError
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.data.contract import feature_contract
from rollgate.data.example.schema import CHANNELS, COUNTRIES, MERCHANT_CATEGORIES, Transactions

pytestmark = [pytest.mark.unit, pytest.mark.example]  # the shipped example's columns

FEATURES = [
    "amount",
    "merchant_category",
    "country",
    "channel",
    "card_present",
    "hour_of_day",
    "customer_age",
    "account_age_days",
    "txn_count_24h",
    "txn_count_7d",
    "avg_amount_30d",
    "distance_from_home_km",
]

FEATURE = {"rollgate": {"role": "feature"}}


@pytest.fixture(scope="module")
def contract() -> FeatureContract:
    return feature_contract(Transactions)


# --- derived from the Transactions schema -----------------------------------------------------------


def test_contract_names_the_features_in_schema_order(contract: FeatureContract) -> None:
    assert contract.names == FEATURES


@pytest.mark.parametrize("column", ["transaction_id", "timestamp", "is_fraud"])
def test_contract_excludes_columns_that_are_not_features(contract: FeatureContract, column: str) -> None:
    assert column not in contract.names
    with pytest.raises(KeyError):
        contract[column]


def test_amount_is_positive_and_capped(contract: FeatureContract) -> None:
    amount = contract["amount"]

    assert (amount.minimum, amount.minimum_exclusive) == (0.0, True)
    assert (amount.maximum, amount.maximum_exclusive) == (25_000.0, False)


@pytest.mark.parametrize(
    ("name", "minimum", "maximum"),
    [
        ("hour_of_day", 0.0, 23.0),
        ("customer_age", 18.0, 120.0),
        ("distance_from_home_km", 0.0, 20_000.0),
    ],
)
def test_inclusive_bounds_come_from_ge_and_le(
    contract: FeatureContract, name: str, minimum: float, maximum: float
) -> None:
    spec = contract[name]

    assert (spec.minimum, spec.maximum) == (minimum, maximum)
    assert not spec.minimum_exclusive
    assert not spec.maximum_exclusive


@pytest.mark.parametrize(
    ("name", "categories"),
    [("channel", CHANNELS), ("country", COUNTRIES), ("merchant_category", MERCHANT_CATEGORIES)],
)
def test_categories_come_from_the_isin_checks(
    contract: FeatureContract, name: str, categories: tuple[str, ...]
) -> None:
    assert contract[name].categories == categories


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("amount", "float"),
        ("card_present", "bool"),
        ("hour_of_day", "int"),
        ("country", "category"),
        ("distance_from_home_km", "float"),
    ],
)
def test_types_follow_the_schema_dtypes(contract: FeatureContract, name: str, type_: str) -> None:
    assert contract[name].type == type_


def test_every_schema_feature_is_required(contract: FeatureContract) -> None:
    assert all(spec.required for spec in contract.features)


def test_descriptions_come_from_the_schema_metadata(contract: FeatureContract) -> None:
    assert contract["channel"].description == "where the card was used"


# --- serialised form --------------------------------------------------------------------------------


def test_round_trip_through_a_list_is_lossless(contract: FeatureContract) -> None:
    assert FeatureContract.from_list(contract.to_list(), contract.id_field) == contract


def test_the_id_column_is_the_pass_through_id_and_no_feature(contract: FeatureContract) -> None:
    assert contract.id_field == "transaction_id"
    assert "transaction_id" not in contract.names


def test_a_schema_without_an_id_column_has_no_id_field() -> None:
    class Plain(pa.DataFrameModel):
        score: Series[float] = pa.Field(metadata=FEATURE)

    assert feature_contract(Plain).id_field is None


def test_the_list_matches_the_json_schema(contract: FeatureContract) -> None:
    jsonio.check(contract.to_list(), "feature-contract", "x")


def _with(change: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "amount", "type": "float", "required": True, **change}]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(_with({"type": "decimal"}), "0.type", id="unknown-type"),
        pytest.param(_with({"name": "Amount"}), "0.name", id="name-pattern"),
        pytest.param(_with({"unit": "EUR"}), "0", id="extra-field"),
        pytest.param(_with({"categories": ["a", "a"]}), "0.categories", id="duplicate-categories"),
        pytest.param(_with({"minimum": "0"}), "0.minimum", id="string-bound"),
        pytest.param([{"name": "amount", "type": "float"}], "0", id="required-missing"),
        pytest.param([], "(top level)", id="empty"),
    ],
)
def test_a_broken_contract_fails_the_json_schema(raw: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(ContractError, match=r"^x: does not match the feature-contract schema") as caught:
        jsonio.check(raw, "feature-contract", "x")

    assert f"\n  {field}: " in str(caught.value)


def test_an_unknown_type_is_refused_when_read_back() -> None:
    with pytest.raises(ContractError, match=r"feature 'amount': type must be one of"):
        FeatureContract.from_list(_with({"type": "decimal"}))


# --- any Pandera model ------------------------------------------------------------------------------


def test_a_new_feature_column_and_its_bounds_show_up() -> None:
    class Scores(pa.DataFrameModel):
        key: Series[str] = pa.Field()
        score: Series[float] = pa.Field(
            ge=1.5, lt=9.5, metadata={"rollgate": {"role": "feature", "description": "risk score"}}
        )
        level: Series[int] = pa.Field(gt=0, nullable=True, metadata=FEATURE)
        label: Series[int] = pa.Field(isin=[0, 1], metadata={"rollgate": {"role": "label"}})

    derived = feature_contract(Scores)

    assert derived.features == (
        FeatureSpec(
            name="score",
            type="float",
            minimum=1.5,
            maximum=9.5,
            description="risk score",
            maximum_exclusive=True,
        ),
        FeatureSpec(name="level", type="int", required=False, minimum=0.0, minimum_exclusive=True),
    )


def test_a_feature_without_a_feature_type_is_refused() -> None:
    class Events(pa.DataFrameModel):
        at: Series[pd.Timestamp] = pa.Field(metadata=FEATURE)

    with pytest.raises(TypeError, match=r"column 'at': no feature type for dtype datetime64"):
        feature_contract(Events)


def test_in_range_bounds_show_up_with_their_inclusiveness() -> None:
    class Ranged(pa.DataFrameModel):
        b: Series[float] = pa.Field(
            in_range={"min_value": 0.0, "max_value": 5.0, "include_max": False}, metadata=FEATURE
        )

    spec = feature_contract(Ranged)["b"]
    assert (spec.minimum, spec.maximum, spec.minimum_exclusive, spec.maximum_exclusive) == (0.0, 5.0, False, True)
