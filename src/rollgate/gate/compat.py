"""Feature-contract compatibility: every row the champion accepts must also be valid for the
challenger, or a canary would fail requests that stable serves."""

from __future__ import annotations

from rollgate.contracts.features import FeatureContract, FeatureSpec


def _range_problems(old: FeatureSpec, new: FeatureSpec) -> list[str]:
    problems = []
    if new.minimum is not None and (
        old.minimum is None
        or new.minimum > old.minimum
        or (new.minimum == old.minimum and new.minimum_exclusive and not old.minimum_exclusive)
    ):
        problems.append(f"{new.name}: minimum raised to {new.minimum} (champion: {old.minimum})")
    if new.maximum is not None and (
        old.maximum is None
        or new.maximum < old.maximum
        or (new.maximum == old.maximum and new.maximum_exclusive and not old.maximum_exclusive)
    ):
        problems.append(f"{new.name}: maximum lowered to {new.maximum} (champion: {old.maximum})")
    return problems


def incompatibilities(champion: FeatureContract, challenger: FeatureContract) -> list[str]:
    """Why clients of the champion could not call the challenger unchanged (empty: compatible)."""
    problems = []
    old_by_name = {f.name: f for f in champion.features}
    for new in challenger.features:
        old = old_by_name.get(new.name)
        if old is None:
            if new.required:
                problems.append(f"{new.name}: new required field — clients must send it before a canary can work")
            continue
        if new.required and not old.required:
            problems.append(f"{new.name}: now required (optional for the champion)")
        if new.type != old.type:
            problems.append(f"{new.name}: type {new.type} (champion: {old.type})")
        problems += _range_problems(old, new)
        if new.categories is not None:
            dropped = sorted(set(old.categories or ()) - set(new.categories))
            if old.categories is None or dropped:
                problems.append(f"{new.name}: no longer accepts {dropped or 'arbitrary values'}")
    return problems
