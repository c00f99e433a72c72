"""Small generic tables for the monitor command's tests: numeric f1 and f2, a categorical cat, a time
ts, a pass-through id, a score and a label y — none of the example dataset's columns, to show that
nothing assumes them. `shift` moves f1; the score and label follow the same rule everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rollgate.contracts.features import FeatureContract
from rollgate.serve.predlog import LogTarget, PredictionLog
from rollgate.serve.validation import Checked

DIGEST = "ab" * 32


def table(n: int, start: str, *, days: int = 14, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """n rows spread evenly over `days` days from `start`."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.normal(size=n) + shift, rng.exponential(size=n)
    cat = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    z = 1.2 * f1 + 0.5 * f2 + 0.6 * (cat == "a") - 3.0
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    ts = pd.date_range(start, periods=n, freq=pd.Timedelta(days=days) / n)
    ids = [f"s{seed}-{i}" for i in range(n)]
    return pd.DataFrame(
        {"ts": ts, "id": ids, "f1": f1, "f2": f2, "cat": cat, "score": 1 / (1 + np.exp(-0.8 * z)), "y": y}
    )


def write_log(path: Path, frame: pd.DataFrame, digest: str = DIGEST, per_request: int = 50) -> None:
    """`frame` as the server's prediction log, lines made by the server's own line builder."""
    log = PredictionLog(LogTarget(None, 1.0), digest, FeatureContract(id_field="id"))
    lines: list[bytes] = []
    for first in range(0, len(frame), per_request):
        part = frame.iloc[first : first + per_request]
        columns = {c: part[c].tolist() for c in ("f1", "f2", "cat")}
        checked = Checked(columns, len(part), ids=part["id"].tolist())
        scores = part["score"].to_numpy()
        at = part["ts"].iloc[0].timestamp()
        lines += log.lines(at, f"req-{first}", checked, [{} for _ in range(len(part))], scores, [0] * len(part))
    path.write_bytes(b"".join(lines))
