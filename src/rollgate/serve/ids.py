"""Each row's pass-through id: the field the feature contract names, echoed in answers and logged.

It is never checked as a feature, only for what echoing and logging it needs: a string of at most
MAX_ID_CHARS characters, an integer, or null (the row has no id).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

MAX_ID_CHARS = 128  # echoed in the answer and logged for every row: a longer id is refused
_TYPES = frozenset({str, int, type(None)})


def take(rows: list[dict[str, Any]], name: str) -> list[Any]:
    """Each row's id (None where a row has none), without a Python-level loop."""
    return list(map(dict.get, rows, repeat(name)))


def all_ok(ids: list[Any]) -> bool:
    """True when every id is acceptable, checked at C speed as whole columns are."""
    kinds = set(map(type, ids))
    if not kinds <= _TYPES:
        return False
    strings = [i for i in ids if type(i) is str] if int in kinds else filter(None, ids)
    return max(map(len, strings), default=0) <= MAX_ID_CHARS


def problem(value: Any) -> str | None:
    """Why `value` cannot be an id, or None."""
    if type(value) is str and len(value) > MAX_ID_CHARS:
        got = f"{len(value)} characters"
    elif type(value) not in _TYPES:
        got = type(value).__name__
    else:
        return None
    return f"an id must be a string of at most {MAX_ID_CHARS} characters or an integer, got {got}"
