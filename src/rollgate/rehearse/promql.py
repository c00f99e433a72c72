"""Which metric names a PromQL query reads, checked against the series the model server exports.

A query of a metric nobody exports returns an empty vector, which Argo judges inconclusive forever: the
commonest way a canary analysis silently proves nothing. The rehearsal refuses such a template before it
starts anything. The names are found lexically: strings, label matchers, durations and grouping lists
removed, what is left that is an identifier not followed by `(` and not a PromQL keyword is a metric.
"""

from __future__ import annotations

import re

from rollgate.contracts import metrics

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\s*\()")
_NUMBER = re.compile(r"(?<![\w:])\.?\d[\w.]*")  # 1e3, 0x1F, 5m, 1.5e-3: numbers, not a digit inside a name
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "start", "end", "inf", "nan", "Inf", "NaN", "atan2"}  # fmt: skip


def names(query: str) -> set[str]:
    """The metric names `query` selects."""
    text = _STRING.sub(" ", query)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    return {m.group(1) for m in _IDENT.finditer(text) if m.group(1) not in _KEYWORDS}


def exported() -> set[str]:
    """Every series name the server exports: the contract's metrics, histograms with their suffixes."""
    out = set()
    for metric in metrics.ALL:
        if metric.kind == "histogram":
            out |= {f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"}
        else:
            out.add(metric.name)
    return out


def unknown(query: str) -> set[str]:
    return names(query) - exported()
