"""Feature-contract compatibility: can every client of the champion call the challenger unchanged?"""

from __future__ import annotations

import pytest

from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.gate.compat import incompatibilities

pytestmark = pytest.mark.unit

AMOUNT = FeatureSpec("amount", "float", minimum=0.0, maximum=50_000.0, minimum_exclusive=True)
CHANNEL = FeatureSpec("channel", "category", categories=("online", "pos", "atm"))
CHAMPION = FeatureContract((AMOUNT, CHANNEL))


def _with(*specs: FeatureSpec) -> FeatureContract:
    by_name = {s.name: s for s in (AMOUNT, CHANNEL)} | {s.name: s for s in specs}
    return FeatureContract(tuple(by_name.values()))


CASES = [
    ("identical", _with(), None),
    ("optional new field", _with(FeatureSpec("device", "category", required=False, categories=("a",))), None),
    ("wider range", _with(FeatureSpec("amount", "float", minimum=0.0, maximum=90_000.0)), None),
    ("more categories", _with(FeatureSpec("channel", "category", categories=("online", "pos", "atm", "moto"))), None),
    ("dropped field", FeatureContract((AMOUNT,)), None),
    ("new required field", _with(FeatureSpec("device_age", "int", minimum=0)), "device_age: new required field"),
    ("type changed", _with(FeatureSpec("amount", "int", minimum=0.0)), "amount: type int"),
    ("minimum raised", _with(FeatureSpec("amount", "float", minimum=1.0, maximum=50_000.0)), "minimum raised"),
    ("maximum lowered", _with(FeatureSpec("amount", "float", minimum=0.0, maximum=100.0)), "maximum lowered"),
    (
        "bound made exclusive",
        _with(FeatureSpec("amount", "float", minimum=0.0, maximum=50_000.0, maximum_exclusive=True)),
        "maximum lowered",
    ),
    ("category dropped", _with(FeatureSpec("channel", "category", categories=("online", "pos"))), "accepts ['atm']"),
]


@pytest.mark.parametrize(("challenger", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_compatibility(challenger: FeatureContract, problem: str | None) -> None:
    found = incompatibilities(CHAMPION, challenger)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found


def test_a_new_required_field_says_what_clients_must_do() -> None:
    (message,) = incompatibilities(CHAMPION, _with(FeatureSpec("device_age", "int")))
    assert "clients must send it before a canary can work" in message
