"""The benchmark's table and its last, machine-readable line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from benchmarks.canary.rollout import Outcome
from rollgate.gate.stats import clopper_pearson


@dataclass(frozen=True)
class Tally:
    kind: str
    outcomes: tuple[Outcome, ...]

    @property
    def seeds(self) -> int:
        return len(self.outcomes)

    def share(self, verdict: str, step: str | None = None) -> float:
        hits = sum(o.verdict == verdict and (step is None or o.step == step) for o in self.outcomes)
        return hits / self.seeds

    def upper95(self) -> float:
        return clopper_pearson(round(self.share("aborted") * self.seeds), self.seeds)[1]


def _why(t: Tally, verdict: str, most: int | None) -> list[str]:
    """ "a@step:metric share" for every metric that aborted its rollouts (or "p@..." paused), commonest first."""
    named = Counter(f"{verdict[0]}@{o.step}:{m}" for o in t.outcomes if o.verdict == verdict for m in o.metrics)
    return [f"{name} {n / t.seeds:.1%}" for name, n in named.most_common(most)]


def table(tallies: list[Tally], steps: list[str]) -> list[str]:
    """One row per kind: aborted (false aborts for good, detection otherwise) with its 95 % Clopper-Pearson
    upper bound, the share caught at each step, paused (an inconclusive analysis) and promoted."""
    head = f"{'canary':<9} {'rollouts':>8} {'aborted':>8} {'upper95':>8}"
    lines = [
        head
        + "".join(f"{'@' + s:>8}" for s in steps)
        + f"{'paused':>8} {'promoted':>8}  why (a: aborted, p: paused; at step, by metric)"
    ]
    for t in tallies:
        top = ", ".join(_why(t, "aborted", None) + _why(t, "paused", 2)) or "-"
        row = f"{t.kind:<9} {t.seeds:>8} {t.share('aborted'):>8.3f} {t.upper95():>8.3f}"
        row += "".join(f"{t.share('aborted', s):>8.3f}" for s in steps)
        lines.append(row + f"{t.share('paused'):>8.3f} {t.share('promoted'):>8.3f}  {top}")
    return lines


def last_line(tallies: dict[str, Tally], shadow: str) -> str:
    """Goals: false_abort_upper95 <= 0.05; dead_detect and shifted_detect (aborted during shadow) >= 0.99."""
    good = tallies["good"]
    line = (
        f"false_abort={good.share('aborted'):.4f} false_abort_upper95={good.upper95():.4f} "
        f"dead_detect={tallies['dead'].share('aborted', shadow):.4f} "
        f"shifted_detect={tallies['shifted'].share('aborted', shadow):.4f} seeds={good.seeds}"
    )
    extra = " ".join(f"{k}_detect_any={t.share('aborted'):.4f}" for k, t in tallies.items() if k != "good")
    return f"{line} {extra} good_paused={good.share('paused'):.4f} good_promoted={good.share('promoted'):.4f}"
