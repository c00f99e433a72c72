"""The dataset the pipeline reads: the one definition every part of rollgate takes it from.

ADOPT: this is the file you replace. Write your own strict Pandera model here (see
`rollgate/data/example/schema.py` for the pattern: one comment per check saying the risk it guards,
`metadata=role("id" | "timestamp" | "label")` on exactly one column each, `metadata=feature(...)` on
every model input), then point `DATASET` at it:

    class Records(pa.DataFrameModel):
        customer_id: Series[str] = pa.Field(unique=True, metadata=role("id"))
        ...

    DATASET = Dataset.define(Records, batches="data/records", noun="customers")

`batches` is the folder under `data/` that holds the batch files (`rollgate data import` writes it);
`noun` names a row in messages; `sampler` ("module:function(rows, seed) -> DataFrame") is only needed
when your dataframe-level checks are stricter than rows drawn from the column checks can meet (the
template's tests build their data with it). Nothing else in rollgate names your columns.
"""

from __future__ import annotations

from rollgate.data.dataset import Dataset
from rollgate.data.example.schema import BATCHES, Transactions

# The shipped example: card transactions, drawn by its deterministic generator.
DATASET = Dataset.define(
    Transactions,
    batches=BATCHES,
    noun="card transactions",
    sampler="rollgate.data.example.generate:sample",
)
