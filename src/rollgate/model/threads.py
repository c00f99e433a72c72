"""Training runs on a fixed number of threads, whatever the machine's cores.

scikit-learn's histogram gradient boosting sums gradients in one chunk per OpenMP thread, so the fitted
trees (and the artifact's bytes) depend on the thread count: measured on the example, 1 thread and 2
threads give different models. Left alone, the count is the machine's cores (scikit-learn caps it there
unless `OMP_NUM_THREADS` is set), so a merge retrained on a bigger runner would not reproduce the bytes a
pull request gated. Pinning both the variables and the live thread pools makes the count exact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def pinned(threads: int) -> Iterator[None]:
    """Within the block, OpenMP and BLAS use exactly `threads` threads; the environment is restored after."""
    saved = {name: os.environ.get(name) for name in VARIABLES}
    os.environ.update(dict.fromkeys(VARIABLES, str(threads)))
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
