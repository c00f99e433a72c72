"""One analysis step run in (fake) real time: a list-backed clock advanced only by the loop's sleeps and a
query answering from a script, so each test sees exactly when Argo's AnalysisRun would measure, and what it
concludes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import pytest

from rollgate.rehearse import judge, plan
from rollgate.rehearse.argo import Metric
from rollgate.rehearse.conditions import parse
from rollgate.rehearse.measure import ERROR_RETRY_S, Phase
from rollgate.rehearse.prometheus import QueryError
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

OK, BAD, EMPTY = [0.5], [2.0], list[float]()
SUCCESS = "len(result) > 0 && !isNaN(result[0]) && result[0] <= 1"
FAILURE = "len(result) > 0 && (isNaN(result[0]) || result[0] > 1)"


def _metric(name: str, **over: object) -> Metric:
    base = Metric(
        name, f"q_{name}", "http://127.0.0.1:9", interval_s=5.0, count=3, success_text=SUCCESS,
        failure_text=FAILURE, success=parse(SUCCESS, "s"), failure=parse(FAILURE, "f"),
    )  # fmt: skip
    return replace(base, **over)  # type: ignore[arg-type]


def _analysis(*metrics: Metric, dry: Iterable[str] = ()) -> plan.Analysis:
    return plan.Analysis(("t",), {}, metrics, frozenset(dry))


@dataclass
class Fake:
    """The clock (seconds; only `sleep` moves it) and Prometheus: each metric's query answers its script in
    order, repeating the last entry; an exception in the script is raised."""

    script: dict[str, list[object]]
    now: list[float] = field(default_factory=lambda: [0.0])
    asked: list[tuple[str, float]] = field(default_factory=list)  # (query, when)

    def clock(self) -> float:
        return self.now[0]

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now[0] += seconds

    def query(self, text: str, timeout_s: float) -> judge.Result:
        name = text.removeprefix("q_")
        k = sum(1 for q, _ in self.asked if q == text)
        self.asked.append((text, self.now[0]))
        answers = self.script[name]
        answer = answers[min(k, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    def run(
        self,
        analysis: plan.Analysis,
        sides: Callable[[str], dict[str, float | None]] = lambda _: {},
        offset: float = 0.0,
    ) -> judge.Outcome:
        return judge.run(analysis, self.query, self.clock, sleep=self.sleep, sides=sides, offset=offset)

    def times(self, name: str) -> list[float]:
        return [t for q, t in self.asked if q == f"q_{name}"]


def test_a_metric_passes_after_count_successes_one_interval_apart() -> None:
    fake = Fake({"a": [OK]})
    outcome = fake.run(_analysis(_metric("a")))
    assert outcome.phase is Phase.SUCCESSFUL and outcome.metrics == {"a": "Successful"}
    assert fake.times("a") == [0, 5, 10] and [m.at for m in outcome.measured] == [0, 5, 10]
    assert [(m.phase, m.value) for m in outcome.measured] == [("Successful", 0.5)] * 3
    assert outcome.deciding == ("a",)


def test_the_first_measurement_waits_for_the_initial_delay_and_offset_shifts_the_times() -> None:
    fake = Fake({"a": [OK]})
    outcome = fake.run(_analysis(_metric("a", initial_delay_s=4.0, count=2)), offset=100.0)
    assert fake.times("a") == [4, 9] and [m.at for m in outcome.measured] == [104, 109]


def test_a_second_failure_over_failure_limit_one_fails_the_run_and_stops_every_metric() -> None:
    fake = Fake({"a": [BAD], "b": [OK]})
    outcome = fake.run(_analysis(_metric("a", failure_limit=1, count=5), _metric("b", count=5)))
    assert outcome.phase is Phase.FAILED and outcome.deciding == ("a",)
    assert outcome.metrics == {"a": "Failed", "b": "Running"}
    assert fake.times("a") == [0, 5] and fake.times("b") == [0, 5]  # nothing measured once the run is Failed
    assert fake.now[0] == 5


def test_the_first_empty_result_is_inconclusive_without_an_inconclusive_limit() -> None:
    fake = Fake({"a": [OK, EMPTY], "b": [OK]})
    outcome = fake.run(_analysis(_metric("a"), _metric("b")))
    assert outcome.phase is Phase.INCONCLUSIVE and outcome.deciding == ("a",)
    assert [(m.metric, m.phase, m.value) for m in outcome.measured][-2:] == [
        ("a", "Inconclusive", None),
        ("b", "Successful", 0.5),
    ]
    assert fake.times("a") == [0, 5]


def test_query_errors_are_error_measurements_retried_every_10_s_until_past_the_limit() -> None:
    fake = Fake({"a": [QueryError("prometheus: bad_data: parse error")]})
    outcome = fake.run(_analysis(_metric("a", consecutive_error_limit=2)))
    assert outcome.phase is Phase.ERROR and outcome.metrics == {"a": "Error"}
    assert fake.times("a") == [0, ERROR_RETRY_S, 2 * ERROR_RETRY_S]  # limit + 1 errors
    assert all(m.phase == "Error" and m.value is None for m in outcome.measured)
    assert outcome.measured[0].error == "prometheus: bad_data: parse error"


def test_an_error_then_successes_still_needs_count_successes() -> None:
    """Errors do not count towards `count`, and the next try comes 10 s after the error."""
    fake = Fake({"a": [QueryError("timeout"), OK]})
    outcome = fake.run(_analysis(_metric("a", count=2)))
    assert outcome.phase is Phase.SUCCESSFUL and fake.times("a") == [0, 10, 15]


def test_the_default_consecutive_error_limit_ends_the_run_at_the_fifth_error() -> None:
    fake = Fake({"a": [QueryError("down")]})
    outcome = fake.run(_analysis(_metric("a")))
    assert outcome.phase is Phase.ERROR and len(fake.times("a")) == 5


def test_dry_run_metrics_are_measured_but_never_decide() -> None:
    fake = Fake({"a": [OK], "dry": [BAD]})
    outcome = fake.run(_analysis(_metric("a"), _metric("dry", count=3), dry={"dry"}))
    assert outcome.phase is Phase.SUCCESSFUL and outcome.deciding == ("a",)
    assert outcome.metrics["dry"] == "Failed" and fake.times("dry") == [0]


def test_a_run_waits_for_its_dry_run_metrics_as_argo_does() -> None:
    """Argo's AnalysisRun is Running until every metric, dry runs included, is complete (assessRunStatus);
    only a deciding metric's failure ends it early."""
    fake = Fake({"a": [OK], "dry": [OK]})
    outcome = fake.run(_analysis(_metric("a", count=1), _metric("dry", count=3), dry={"dry"}))
    assert outcome.phase is Phase.SUCCESSFUL and fake.times("dry") == [0, 5, 10]
    assert outcome.metrics == {"a": "Successful", "dry": "Successful"}


def test_a_run_of_dry_run_metrics_only_measures_them_and_succeeds() -> None:
    fake = Fake({"dry": [BAD]})
    outcome = fake.run(_analysis(_metric("dry", count=2, failure_limit=5), dry={"dry"}))
    assert outcome.phase is Phase.SUCCESSFUL and fake.times("dry") == [0, 5] and outcome.deciding == ()


def test_each_measurement_carries_the_sides_the_caller_reads() -> None:
    fake = Fake({"a": [OK]})
    outcome = fake.run(_analysis(_metric("a", count=1)), sides=lambda name: {"canary": 1.0, "stable": None})
    assert outcome.measured[0].sides == {"canary": 1.0, "stable": None}


def test_a_scalar_result_is_shown_as_its_value() -> None:
    fake = Fake({"a": [0.25]})
    scalar = {"success_text": "result < 1", "success": parse("result < 1", "s"), "failure_text": "", "failure": None}
    outcome = fake.run(_analysis(_metric("a", count=1, **scalar)))
    assert outcome.phase is Phase.SUCCESSFUL and outcome.measured[0].value == 0.25


@pytest.mark.parametrize(
    ("failure", "success", "expected"),
    [
        ("len(result) > 0 && (isNaN(result[0]) || result[0] > 0.01)", "", 0.01),
        ("", "result[0] <= 1.5", 1.5),
        ("result[0] >= 2e-3", "", 0.002),
        ("", "len(result) > 0", None),
        ("", "", None),
    ],
)
def test_threshold_is_the_number_the_result_is_compared_with(failure: str, success: str, expected: float) -> None:
    assert judge.threshold(_metric("a", failure_text=failure, success_text=success)) == expected


def test_threshold_of_every_rendered_metric_is_its_limit_argument() -> None:
    walked = plan.read(ROOT / "manifests" / "staging", plan.Hashes("c", "s"), defaults={"prometheus": "http://p:9"})
    analysis = next(s.analysis for s in walked.steps if s.analysis)
    found = {m.name: judge.threshold(m) for m in analysis.metrics}
    args = analysis.args
    assert found == {
        "error-rate-delta": float(args["max-error-rate-delta"]),
        "p99-latency-ratio": float(args["max-p99-ratio"]),
        "input-rejection-delta": float(args["max-rejection-rate-delta"]),
        "positive-rate-ratio": float(args["max-positive-rate-ratio"]),
        "mean-score-ratio": float(args["max-mean-score-ratio"]),
        "score-distribution": float(args["max-score-distance-ratio"]),
    }


def test_first_reads_result_zero() -> None:
    assert judge.first([3.0, 4.0]) == 3.0 and judge.first([]) is None and judge.first(2) == 2.0
