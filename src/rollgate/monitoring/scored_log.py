"""The example's rows scored and logged as the server would (`rollgate data predictions`): the model
loaded and checked by the server's loader, rows checked by its validator, scored by its predictor and
written in its prediction-log line format, so the monitor reads what a pod would have logged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rollgate.contracts.errors import RollgateError
from rollgate.model import artifact
from rollgate.serve import loading, predictor, predlog, validation


def server_lines(model: Path, sha256: str, sample: float) -> tuple[Any, Callable[[list[Any]], list[bytes]]]:
    """The model, loaded and checked as the server loads it, and a function from requests to the
    prediction-log lines the server would write for them (its validator, predictor and line format)."""
    data = loading.fetch(str(model), timeout_s=60.0, max_bytes=1 << 30)
    if artifact.sha256_bytes(data) != sha256:  # before model.json's check, so the error names the model
        raise RollgateError(f"{model}: sha256 {artifact.sha256_bytes(data)} does not match --sha256 {sha256}")
    served = loading.load(str(model), sha256, None, None, data)
    check, score = validation.Validator(served.features).check, predictor.build(served.model, served.features).scores
    log = predlog.PredictionLog(predlog.LogTarget(None, sample), served.sha256, served.features)

    def lines(requests: list[tuple[float, str, list[Any]]]) -> list[bytes]:
        every = check([row for _, _, rows in requests for row in rows])  # scored together, logged one by one
        if every.errors:
            raise RollgateError(
                f"{model}: the server would refuse row {every.errors[0].row}: {every.errors[0].message}"
            )
        scores = score(every.columns)
        labels = (scores >= served.threshold).astype(int)
        out, start = [], 0
        for at, request_id, rows in requests:
            end = start + len(rows)
            # The server's own line format.
            out += log.lines(at, request_id, check(rows), rows, scores[start:end], labels[start:end].tolist())
            start = end
        return out

    return served, lines
