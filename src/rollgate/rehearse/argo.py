"""An AnalysisTemplate's metric as Argo Rollouts' controller reads it: arguments resolved, durations parsed, limits
defaulted, and anything the rehearsal could not reproduce exactly refused. The run's semantics are in `measure`.

Verified against argo-rollouts v1.9.1:

- utils/analysis/factory.go, ResolveMetricArgs: the whole metric is marshalled to JSON, every `{{...}}` tag in it
  substituted, the JSON read back. utils/template/template.go: a tag is trimmed of spaces (`{{ args.x }}` works);
  one that is not a known `args.NAME`, or a `{{` without `}}`, fails the run; each value is escaped with Go's
  strconv.Quote first, so a value with a control character JSON cannot decode (\\a, \\v, \\x00...) fails too.
- pkg/apis/rollouts/v1alpha1/analysis_types.go: count and the limits are IntOrString, so `"{{args.n}}"` resolves
  to the string "5", read with Kubernetes' IntValue (a string that is not an integer silently reads as 0: refused
  here); the Prometheus timeout is an integer of seconds. EffectiveCount: no count (or 0) and no interval is one
  measurement; an interval without a count runs indefinitely.
- pkg/apis/rollouts/validation/validation_references.go: a metric that runs indefinitely in an analysis step makes
  the Rollout invalid: Argo never runs it (so `count: 0` with an interval never executes). Refused.
- utils/analysis/factory.go, ValidateMetric: the limits' ranges and the count rules below (else the run is Error).
- utils/defaults/defaults.go: consecutiveErrorLimit defaults to 4; failureLimit and inconclusiveLimit to 0
  (analysis/analysis.go). metricproviders/prometheus/prometheus.go: the query timeout defaults to 30 s; the
  address must be a URL with a scheme and a host. The durations are Go's time.ParseDuration.

Refused as not reproducible here: providers other than prometheus, `rangeQuery` (a matrix result), `headers` and
`authentication`, a missing address (the controller's ARGO_ROLLOUTS_PROMETHEUS_ADDRESS would decide), intervals of
zero or less (Argo would measure on every reconcile). `dryRun` is the analysis's, not the metric's: the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

from rollgate.contracts.errors import ContractError
from rollgate.rehearse.conditions import Condition, parse

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_COMPONENT = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_ESCAPED_IN_JSON = re.compile(r'[\x00-\x1f"\\<>&\u2028\u2029]')  # json.Marshal escapes these inside a tag
_FIELDS = {"name", "interval", "initialDelay", "count", "successCondition", "failureCondition", "provider"}
_LIMITS = ("failureLimit", "inconclusiveLimit", "consecutiveErrorLimit", "consecutiveSuccessLimit")
_PROMETHEUS = {"address", "query", "timeout", "insecure"}  # insecure only skips TLS verification: harmless here


@dataclass(frozen=True)
class Metric:
    """One metric of an analysis, as Argo reads it; `count` is Argo's effective count (None: indefinitely)."""

    name: str
    query: str
    address: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    interval_s: float | None = None
    count: int | None = 1
    initial_delay_s: float = 0.0
    failure_limit: int = 0  # -1: failures never fail the metric
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    consecutive_success_limit: int = 0  # 0: off
    success_text: str = ""
    failure_text: str = ""
    success: Condition | None = None
    failure: Condition | None = None


def parse_duration(text: str, where: str) -> float:
    """Seconds in a Go duration ("60s", "2m", "1h30m", "500ms", "1.5s", "-2m", "0"); ContractError otherwise."""
    sign, body = (-1 if text[:1] == "-" else 1), text[1:] if text[:1] in "+-" and text else text
    if body == "0":
        return 0.0
    if not body or not re.fullmatch(f"(?:{_COMPONENT})+", body):
        raise ContractError(f"{where}: {text!r} is not a Go duration (like 30s, 2m, 1h30m, 500ms)")
    ns = sum(int(Fraction(number) * _UNIT_NS[unit]) for number, unit in re.findall(_COMPONENT, body))
    if ns >= 2**63:
        raise ContractError(f"{where}: {text!r} overflows a Go duration")
    return sign * ns / 1e9


def resolve(text: str, args: Mapping[str, str], where: str) -> str:
    """Substitute every `{{args.NAME}}` (spaces inside allowed) as Argo does; any other tag is a ContractError."""
    out, pos = [], 0
    while (start := text.find("{{", pos)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:
            raise ContractError(f"{where}: '{{{{' without a closing '}}}}' in {text!r}")
        out += [text[pos:start], _argument(text[start + 2 : end], args, where)]
        pos = end + 2
    return "".join(out) + text[pos:]


def resolve_metric(metric: Mapping[str, Any], args: Mapping[str, str], where: str) -> dict[str, Any]:
    """`metric` with `resolve` applied to every string in it; integers written as strings stay strings."""
    return {key: _resolve_tree(value, args, f"{where}.{key}") for key, value in metric.items()}


def metric(doc: Mapping[str, Any], where: str) -> Metric:
    """A resolved metric (`resolve_metric`) as Argo reads it, refusing what the rehearsal cannot reproduce."""
    _known(doc, _FIELDS | set(_LIMITS), where)
    if not isinstance(name := doc.get("name"), str) or not name:
        raise ContractError(f"{where}.name: a metric needs a name")
    address, query, timeout = _prometheus(doc.get("provider"), f"{where}.provider")
    interval = _duration(doc, "interval", where)
    count, (failure, inconclusive, errors, successes) = _integer(doc, "count", where), _limits(doc, where)
    effective = count if count else (1 if interval is None else None)
    if effective is None:
        raise ContractError(
            f"{where}: an interval without a count runs indefinitely; Argo refuses such a metric in an analysis "
            "step (the Rollout is invalid and never runs it): give it a count"
        )
    if count and count > 1 and interval is None:
        raise ContractError(f"{where}.interval: Argo needs an interval when count > 1")
    if count is not None and count < 0:
        raise ContractError(f"{where}.count: {count} is negative")
    if count and count < max(inconclusive, successes + max(failure, 0)):
        raise ContractError(
            f"{where}.count: Argo needs count >= failureLimit + consecutiveSuccessLimit and >= inconclusiveLimit"
        )
    texts = {key: doc.get(key) or "" for key in ("successCondition", "failureCondition")}
    if not all(isinstance(text, str) for text in texts.values()):
        raise ContractError(f"{where}: successCondition and failureCondition are strings")
    success, failure_cond = (parse(t, f"{where}.{k}") if t else None for k, t in texts.items())
    return Metric(
        name, query, address, timeout, interval, effective, _duration(doc, "initialDelay", where) or 0.0,
        failure, inconclusive, errors, successes, texts["successCondition"], texts["failureCondition"],
        success, failure_cond,
    )  # fmt: skip


def _argument(tag: str, args: Mapping[str, str], where: str) -> str:
    name = tag.strip()
    if _ESCAPED_IN_JSON.search(tag) or not name.startswith("args.") or name[5:] not in args:
        raise ContractError(f"{where}: {{{{{tag}}}}} does not resolve (known: {', '.join(sorted(args))})")
    value = args[name[5:]]
    if not all(c in "\b\t\n\f\r" or (" " <= c != "\x7f" and (c <= "\uffff" or c.isprintable())) for c in value):
        raise ContractError(f"{where}: args.{name[5:]} has a control character Argo's substitution cannot carry")
    return value


def _resolve_tree(node: object, args: Mapping[str, str], where: str) -> object:
    if isinstance(node, str):
        return resolve(node, args, where)
    if isinstance(node, Mapping):
        return {key: _resolve_tree(value, args, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_tree(value, args, f"{where}[{i}]") for i, value in enumerate(node)]
    return node


def _known(doc: Mapping[str, Any], fields: set[str], where: str) -> None:
    if unknown := sorted(set(doc) - fields):
        raise ContractError(
            f"{where}.{unknown[0]}: not reproduced by the rehearsal (it reads {', '.join(sorted(fields))})"
        )


def _prometheus(provider: object, where: str) -> tuple[str, str, float]:
    if not isinstance(provider, Mapping) or len(provider) != 1:
        raise ContractError(f"{where}: Argo needs exactly one provider")
    if "prometheus" not in provider or not isinstance(doc := provider["prometheus"], Mapping):
        raise ContractError(f"{where}.{next(iter(provider))}: the rehearsal runs Prometheus queries only")
    where += ".prometheus"
    given = {key: value for key, value in doc.items() if value not in (None, {}, []) or key == "rangeQuery"}
    _known(given, _PROMETHEUS, where)
    address, query, timeout = doc.get("address"), doc.get("query"), doc.get("timeout", 30)
    if not isinstance(address, str) or not (urlsplit(address).scheme and urlsplit(address).netloc):
        raise ContractError(
            f"{where}.address: a URL with a scheme and a host (none: the controller's default would decide)"
        )
    if not isinstance(query, str) or not query.strip():
        raise ContractError(f"{where}.query: a metric needs a query")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ContractError(f"{where}.timeout: whole seconds, at least 1 (Argo reads an integer; 0 times out at once)")
    return address, query, float(timeout)


def _duration(doc: Mapping[str, Any], key: str, where: str) -> float | None:
    if not (text := doc.get(key)):
        return None
    if not isinstance(text, str):  # a DurationString: Argo cannot read a bare number
        raise ContractError(f"{where}.{key}: {text!r} is not a duration string like 60s")
    seconds = parse_duration(text, f"{where}.{key}")
    if seconds < 0 or (seconds == 0 and key == "interval"):
        raise ContractError(f"{where}.{key}: {text!r} is not a positive duration")
    return seconds


def _integer(doc: Mapping[str, Any], key: str, where: str) -> int | None:
    """An IntOrString field: an int, or a string of one (what `{{args.x}}` resolves to)."""
    value = doc.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        return int(value)
    raise ContractError(f"{where}.{key}: {value!r} is not an integer (Argo would silently read it as 0)")


def _limits(doc: Mapping[str, Any], where: str) -> tuple[int, int, int, int]:
    failure, inconclusive, errors, successes = (_integer(doc, key, where) for key in _LIMITS)
    limits = (
        0 if failure is None else failure,
        inconclusive or 0,
        DEFAULT_CONSECUTIVE_ERROR_LIMIT if errors is None else errors,
        successes or 0,
    )
    if limits[0] < -1 or min(limits[1:]) < 0:
        raise ContractError(f"{where}: Argo needs failureLimit >= -1 and the other limits >= 0")
    if limits[0] == -1 and limits[3] == 0:
        raise ContractError(f"{where}.failureLimit: -1 needs a consecutiveSuccessLimit (Argo refuses both disabled)")
    return limits
