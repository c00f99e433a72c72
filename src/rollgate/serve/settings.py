"""Everything `rollgate serve` can be told, in one frozen object that crosses process boundaries as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import PurePath
from typing import Any

from rollgate.contracts.errors import RollgateError
from rollgate.serve import auth

MIB = 1024 * 1024
MIN_LOG_BYTES = 4096  # a prediction log file smaller than this would hold a handful of rows


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one client from hurting the others; each has a status code when crossed.

    Shedding (a full queue, too many connections, too many bytes in flight, the request deadline)
    is always 503 with `Retry-After`, so clients and meshes retry the same way whatever the cause.
    """

    max_body_bytes: int = 2 * MIB  # 413 above this
    max_rows: int = 2_000  # rows in one request; 413 above this
    max_batch_rows: int = 4_096  # rows in one estimator call
    max_wait_ms: float = 2.0  # longest a request waits for others to share its batch
    max_queue_rows: int = 20_000  # rows waiting for the estimator; 503 above this
    max_header_bytes: int = 16 * 1024  # request line plus headers; 431 above this
    max_headers: int = 100  # header lines; 431 above this
    header_timeout_s: float = 5.0  # a request's head must arrive within this (408; an idle new connection is closed)
    body_timeout_s: float = 10.0  # its body within this, from the end of the head (408)
    request_timeout_s: float = 10.0  # the whole answer within this, from the end of the head (503)
    keepalive_timeout_s: float = 5.0  # an idle kept-alive connection is closed after this
    max_connections: int = 1_024  # open connections per process; 503 above this
    max_inflight_bytes: int = 16 * MIB  # request bytes buffered across requests in flight; 503 above this
    inline_rows: int = 64  # batches up to this size are scored on the event loop, larger ones in a thread
    scoring_threads: int = 2  # the bounded executor that scores larger batches

    def check(self) -> None:
        if not 0 < self.max_rows <= self.max_queue_rows:
            raise RollgateError("max_rows must be positive and at most max_queue_rows (else a request never fits)")
        if self.max_wait_ms < 0 or self.inline_rows < 0:
            raise RollgateError("max_wait_ms and inline_rows must not be negative")
        positive = ("max_batch_rows", "max_body_bytes", "max_header_bytes", "max_headers", "max_connections")
        for name in (*positive, "scoring_threads", "header_timeout_s", "body_timeout_s", "request_timeout_s"):
            if getattr(self, name) <= 0:
                raise RollgateError(f"{name} must be positive (got {getattr(self, name)})")
        if self.max_inflight_bytes < self.max_body_bytes:
            raise RollgateError("max_inflight_bytes must be at least max_body_bytes (else a full body never fits)")


@dataclass(frozen=True)
class ServeSettings:
    """Where the model is, how it is checked, and how the server runs it."""

    model: str
    sha256: str
    release: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    admin_port: int = 8081  # /metrics, /v1/model, /openapi.json and the probes; never on the public Service
    workers: int = 1
    strict: bool = False  # reject unknown fields instead of ignoring and counting them
    log: str | None = None  # prediction log: "-" for stdout, a file path, or None for off
    log_sample: float = 0.01  # fraction of requests written to the prediction log
    log_drop: tuple[str, ...] = ()  # request fields the log leaves out (never a model input)
    log_hash: tuple[str, ...] = ()  # request fields the log holds as HMAC-SHA256 (key: ROLLGATE_LOG_HASH_KEY)
    log_max_bytes: int = 64 * MIB  # per log file; shared out among the workers' files
    log_files: int = 3  # log files kept, the current one included
    drain_seconds: float = 0.0  # after SIGTERM: stay up, unready, so load balancers stop sending
    grace_seconds: float = 25.0  # then: how long in-flight requests may take before exit
    threshold: float | None = None  # overrides the release's (or the default 0.5) when set
    fetch_timeout_s: float = 300.0  # an http(s) model download must finish within this
    max_model_bytes: int = 2048 * MIB  # and be at most this large
    # Scoring and the probes only, for callers outside: answers carry each row's label, not its score
    # (which would let a caller probe the model's decision boundary) unless public_answer is "score".
    public_port: int | None = None
    public_answer: str = "label"
    auth: str = "none"  # keys: API keys from api_keys; mesh: a service mesh authenticates callers; none: loopback only
    api_keys: str | None = None  # the key file (sha256 hashes and scopes), followed while serving
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise RollgateError(f"--workers must be at least 1 (got {self.workers})")
        if not 0.0 <= self.log_sample <= 1.0:
            raise RollgateError(f"--log-sample must be within 0..1 (got {self.log_sample})")
        self._check_ports()
        auth.check_mode(self.auth, self.api_keys, self.host)
        self._check_log()
        if self.fetch_timeout_s <= 0 or self.max_model_bytes <= 0:
            raise RollgateError("--fetch-timeout and --max-model-bytes must be positive")
        self.limits.check()

    def _check_ports(self) -> None:
        named = {"--port": self.port, "--admin-port": self.admin_port, "--public-port": self.public_port}
        chosen = [(flag, port) for flag, port in named.items() if port]  # 0: ephemeral, None: off
        for i, (flag, port) in enumerate(chosen):
            for other, same in chosen[:i]:
                if port == same:
                    raise RollgateError(f"{other} and {flag} must differ (both {port})")
        if self.public_answer not in ("label", "score"):
            raise RollgateError(f"--public-answer must be label or score (got {self.public_answer!r})")

    def _check_log(self) -> None:
        if both := sorted(set(self.log_drop) & set(self.log_hash)):
            raise RollgateError(f"--log-drop and --log-hash both name {', '.join(both)}: drop or hash, not both")
        if self.log_max_bytes < MIN_LOG_BYTES or self.log_files < 1:
            raise RollgateError(
                f"--log-max-bytes must be at least {MIN_LOG_BYTES} and --log-files at least 1 "
                f"(got {self.log_max_bytes} and {self.log_files})"
            )

    def for_worker(self, index: int) -> ServeSettings:
        """Worker `index`'s settings: a log file of its own (`predictions-0.jsonl`), with an equal share of
        --log-max-bytes (at least MIN_LOG_BYTES), so that together they keep the log's bound and no two
        processes rotate one file."""
        if self.workers == 1 or self.log is None or self.log == "-":
            return self
        path = PurePath(self.log)
        share = max(MIN_LOG_BYTES, self.log_max_bytes // self.workers)
        return replace(self, log=str(path.with_stem(f"{path.stem}-{index}")), log_max_bytes=share)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        raw: dict[str, Any] = json.loads(text)
        lists = {name: tuple(raw.get(name, ())) for name in ("log_drop", "log_hash")}
        return cls(**{**raw, **lists, "limits": Limits(**raw["limits"])})

    def with_model(self, model: str, sha256: str) -> ServeSettings:
        return replace(self, model=model, sha256=sha256)


LIMIT_NAMES = tuple(f.name for f in fields(Limits))
