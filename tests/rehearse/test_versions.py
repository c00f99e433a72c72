"""The analysis queries keep to what Prometheus 2.42 (Debian's, which the rehearsal runs) and 3.x (what
clusters run) evaluate alike: no matcher on a histogram's `le` (or a summary's `quantile`) value, which 3.x
normalises to a float string ("1" -> "1.0"); no function 3.x renamed or removed."""

from __future__ import annotations

import re

import pytest

from rollgate.manifests import analysis

pytestmark = pytest.mark.unit

QUERIES = [c.query for c in analysis.criteria()] + [
    q for sides in analysis.side_queries().values() for q in sides.values()
]
_VALUE_MATCHER = re.compile(r"\b(le|quantile)\s*(=|!=|=~|!~)")
_GONE_IN_3 = ("holt_winters",)


@pytest.mark.parametrize("query", QUERIES)
def test_no_query_depends_on_how_le_or_quantile_values_are_written(query: str) -> None:
    assert not _VALUE_MATCHER.search(query), query
    assert not any(name in query for name in _GONE_IN_3), query


def test_histograms_are_grouped_by_le_only_through_sum_by() -> None:
    assert any("sum by (le)" in q for q in QUERIES)  # the one way the queries read buckets
