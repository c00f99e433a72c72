"""Everything `rollgate serve` can be told, in one frozen object that crosses process boundaries as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rollgate.contracts.errors import RollgateError

# Worker processes read their settings from here (spawned processes inherit the environment).
ENV_VAR = "ROLLGATE_SERVE_SETTINGS"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one client from hurting the others; each has a status code when crossed."""

    max_body_bytes: int = 8 * 1024 * 1024  # 413 above this
    max_rows: int = 10_000  # rows in one request; 413 above this
    max_batch_rows: int = 4_096  # rows in one estimator call
    max_wait_ms: float = 2.0  # longest a request waits for others to share its batch
    max_queue_rows: int = 40_000  # rows waiting for the estimator; 503 + Retry-After above this


@dataclass(frozen=True)
class ServeSettings:
    """Where the model is, how it is checked, and how the server runs it."""

    model: str
    sha256: str
    release: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    strict: bool = False  # reject unknown fields instead of ignoring and counting them
    log: str | None = None  # prediction log: "-" for stdout, a file path, or None for off
    log_sample: float = 0.01  # fraction of requests written to the prediction log
    drain_seconds: float = 0.0  # after SIGTERM: stay up, unready, so load balancers stop sending
    grace_seconds: float = 25.0  # then: how long in-flight requests may take before exit
    threshold: float | None = None  # overrides the release's (or the default 0.5) when set
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        lim = self.limits
        if self.workers < 1:
            raise RollgateError(f"--workers must be at least 1 (got {self.workers})")
        if not 0.0 <= self.log_sample <= 1.0:
            raise RollgateError(f"--log-sample must be within 0..1 (got {self.log_sample})")
        if not 0 < lim.max_rows <= lim.max_queue_rows:
            raise RollgateError("max_rows must be positive and at most max_queue_rows (else a request never fits)")
        if lim.max_batch_rows < 1 or lim.max_wait_ms < 0 or lim.max_body_bytes < 1:
            raise RollgateError("max_batch_rows and max_body_bytes must be positive, max_wait_ms not negative")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        raw: dict[str, Any] = json.loads(text)
        return cls(**{**raw, "limits": Limits(**raw["limits"])})

    def with_model(self, model: str, sha256: str) -> ServeSettings:
        return replace(self, model=model, sha256=sha256)
