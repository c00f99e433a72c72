"""JSON-safe numbers: open bin ends as the strings "-inf"/"+inf", undefined values as null."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rollgate.contracts.errors import RollgateError


def edges_out(edges: tuple[float, ...]) -> list[float | str]:
    """Bin edges for JSON: the open ends as "-inf" and "+inf", the inner edges as numbers."""
    return ["-inf", *(float(e) for e in edges[1:-1]), "+inf"]


def edges_in(raw: list[Any]) -> tuple[float, ...]:
    if len(raw) < 2 or raw[0] != "-inf" or raw[-1] != "+inf":
        raise RollgateError('baseline: numeric edges must run from "-inf" to "+inf"')
    return (-np.inf, *(float(e) for e in raw[1:-1]), np.inf)


def floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def number(value: float) -> float | None:
    """A float for JSON: NaN and infinities (undefined statistics) become null."""
    return float(value) if math.isfinite(value) else None
