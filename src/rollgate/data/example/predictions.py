"""Current data shaped like the server's prediction log, with each row's delayed label beside it.

`rollgate data predictions` generates weeks after the training data (optionally shifted), keeps a
seeded share of rows the way the server samples requests, sends each kept row as its own request to a
`Server` — the command line builds one from the model server's own loading, validation, predictor and
log-line code, which this layer may not import — and writes the lines it returns, in time order, with
the labels of the same rows (`labels.label_arrivals`). The server stamps a line with its wall clock;
here a request is stamped with its transaction's time, so the log's windows are the data's weeks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rollgate.contracts import atomic
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.data.example import generate as gen
from rollgate.data.example import labels as labels_

_STREAM = 1_000  # keeps the sampling draws apart from the generator's ([seed, week, shift]) and the labels'


@dataclass(frozen=True)
class PredictionsOptions:
    """Which weeks to generate and which share of their rows the log keeps."""

    generate: gen.GenerateOptions = field(default_factory=lambda: gen.GenerateOptions(weeks=4, start_week=12))
    sample: float = 1.0  # the share of requests logged, as the server's --log-sample

    def __post_init__(self) -> None:
        g = self.generate
        if g.shift not in gen.SHIFTS:
            raise RollgateError(f"data predictions: --shift {g.shift!r}: choose one of {', '.join(gen.SHIFTS)}")
        for flag, value, least in (("--start-week", g.start_week, 0), ("--weeks", g.weeks, 1),
                                   ("--rows-per-week", g.rows_per_week, 1)):  # fmt: skip
            if value < least:
                raise RollgateError(f"data predictions: {flag} {value}: give at least {least}")
        if not 0 < self.sample <= 1:
            raise RollgateError(f"data predictions: --sample {self.sample}: give a share in (0, 1]")


Request = tuple[float, str, list[dict[str, Any]]]  # (time, request id, rows as a client sends them)


# Requests in, the prediction log's lines for them out, in order: what the model server would write.
Server = Callable[[list[Request]], list[bytes]]


def sampled_rows(options: PredictionsOptions) -> pd.DataFrame:
    """The generated rows the log keeps: each row independently with probability `sample`, seeded by week."""
    g = options.generate
    kept = []
    for week in range(g.start_week, g.start_week + g.weeks):
        frame = gen.generate_week(week, g.seed, g.shift, g.rows_per_week)
        keep = np.random.default_rng([g.seed, week, _STREAM]).random(len(frame)) < options.sample
        kept.append(frame.loc[keep])
    return pd.concat(kept, ignore_index=True)


def requests(rows: pd.DataFrame, contract: FeatureContract) -> Iterator[Request]:
    """(time, request id, [row]) per row, each row as a client sends it: the contract's fields and its id.

    Raises:
        RollgateError: the contract names a field the example's rows do not have.
    """
    fields = [*contract.names, *([contract.id_field] if contract.id_field else [])]
    missing = [f for f in fields if f not in rows.columns]
    if missing:
        raise RollgateError(f"data predictions: the model's contract needs {missing}, not in the example's rows")
    # As objects, the values are Python scalars, as the server's JSON decoder hands them to the validator.
    records: list[dict[str, Any]] = rows[fields].astype(object).to_dict("records")  # type: ignore[assignment]
    times = rows["timestamp"].to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
    for at, row_id, record in zip(times.tolist(), rows["transaction_id"], records, strict=True):
        yield at, f"gen-{row_id}", [record]


def write(
    log: Path, labels: Path | None, options: PredictionsOptions, contract: FeatureContract, server: Server
) -> int:
    """Write the log (and the labels of the same rows); returns the number of rows logged."""
    rows = sampled_rows(options)
    atomic.write_bytes(log, b"".join(server(list(requests(rows, contract)))))
    if labels is not None:
        table = labels_.label_arrivals(rows, options.generate.seed)
        with atomic.replacing(labels) as tmp:
            pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp, compression="zstd")
    return len(rows)
