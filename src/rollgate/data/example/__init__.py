"""The shipped example: card transactions, their schema and a deterministic generator.

Nothing outside this package and `rollgate/data/schema.py` (which names the active dataset) may
assume the example's columns; tests of the example are marked `example` and skip once an adopter's
dataset is active.
"""

from __future__ import annotations

from pathlib import Path

from rollgate.contracts.errors import RollgateError


def is_active() -> bool:
    """Whether the pipeline's dataset (`rollgate.data.schema.DATASET`) is the example's."""
    from rollgate.data.example.schema import Transactions
    from rollgate.data.schema import DATASET

    return DATASET.schema is Transactions


def write_batches(root: Path, out: Path | None, *, weeks: int | None, start_week: int, shift: str, seed: int,
             rows_per_week: int | None) -> list[Path]:  # fmt: skip
    """`rollgate data generate`: the example's weekly batches, into its batch folder or `out`.

    Raises:
        RollgateError: an unknown shift, a negative week, no weeks or no rows (an empty batch fails
            validation), or no `out` while another dataset is active (the example's rows would fail
            its schema).
    """
    from rollgate.data.example import generate as gen
    from rollgate.data.schema import DATASET

    if shift not in gen.SHIFTS:
        raise RollgateError(f"data generate: --shift {shift!r}: choose one of {', '.join(gen.SHIFTS)}")
    for flag, value, least in (
        ("--start-week", start_week, 0),
        ("--weeks", weeks, 1),
        ("--rows-per-week", rows_per_week, 1),
    ):
        if value is not None and value < least:
            raise RollgateError(f"data generate: {flag} {value}: give at least {least}")
    if out is None and not is_active():
        raise RollgateError(
            f"data generate writes the example's card transactions, but the active dataset is "
            f"{DATASET.schema.__name__} (src/rollgate/data/schema.py): bring your data in with "
            "`rollgate data import FILE...`, or pass --out DIR to write the example elsewhere"
        )
    options = gen.GenerateOptions(
        seed, weeks or gen.DEFAULT_WEEKS, start_week, gen.SHIFTS[gen.SHIFTS.index(shift)],
        rows_per_week or gen.ROWS_PER_WEEK,
    )  # fmt: skip
    return gen.write(out or root / DATASET.batches, options)
