"""The traffic: holdout rows sent through the router at a steady rate, as scoring requests of a few rows,
a configurable share of the requests carrying one row made invalid the way a client breaks the feature
contract (a required field left out, or a value of the wrong type). An invalid row travels alone: the
server refuses a request whole when one of its rows breaks the contract, so bundling it with valid rows
would refuse them too.

Requests are prepared once (JSON bodies) and replayed in a cycle by a few keep-alive connections, each
request sent at its scheduled time (rate x elapsed), so the load stays steady whatever the answers' speed
and a slow side cannot throttle the traffic the other sees.
"""

from __future__ import annotations

import collections
import http.client
import json
import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgate.contracts.features import FeatureContract
from rollgate.contracts.probe import probe_frame
from rollgate.rehearse.nginx import UPSTREAM_HEADER

ROUTE = "/v1/predict"
CONNECTIONS = 32  # a slow canary under the mirror holds a connection until its copy is answered
TIMEOUT_S = 30.0
BODIES = 256  # distinct requests in the cycle


@dataclass(frozen=True)
class Traffic:
    rate: float  # requests per second; 0 sends nothing
    rows_per_request: int
    invalid_share: float  # of requests: each such request is one invalid row
    seed: int = 0


def rows(holdout: Path, contract: FeatureContract, n: int) -> tuple[list[dict[str, Any]], str]:
    """Up to `n` rows of the holdout as a client sends them (the contract's fields and the id), and where
    they came from; rows made from the contract alone when there is no holdout."""
    names = [*contract.names, *([contract.id_field] if contract.id_field else [])]
    if holdout.is_file():
        import pandas as pd

        frame = pd.read_parquet(holdout)
        frame = frame[[c for c in names if c in frame.columns]].head(n)
        source = f"{len(frame)} rows of {holdout}"
    else:
        frame, source = probe_frame(contract, n), f"{n} rows made from the feature contract (no {holdout})"
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records, source


def _broken(row: dict[str, Any], contract: FeatureContract, rng: random.Random) -> dict[str, Any]:
    required = [f.name for f in contract.features if f.required and f.name in row]
    out = dict(row)
    if required and rng.random() < 0.5:
        del out[rng.choice(required)]
    else:
        out[rng.choice(contract.names)] = ["not", "a", "value"]  # no feature type accepts a list
    return out


def bodies(records: Sequence[dict[str, Any]], contract: FeatureContract, traffic: Traffic) -> list[bytes]:
    """The request cycle: valid requests of `rows_per_request` holdout rows, and `invalid_share` of them a
    lone invalid row, spread evenly."""
    rng = random.Random(traffic.seed)
    out, k, owed = [], 0, 0.0
    for _ in range(BODIES):
        owed += traffic.invalid_share
        row = records[k % len(records)]
        if owed >= 1:
            owed -= 1
            k += 1
            out.append(json.dumps({"instances": [_broken(row, contract, rng)]}).encode())
            continue
        chunk = [records[(k + i) % len(records)] for i in range(traffic.rows_per_request)]
        k += traffic.rows_per_request
        out.append(json.dumps({"instances": chunk}).encode())
    return out


class Replayer:
    """Sends `bodies` to http://`address`/v1/predict at `rate` requests a second until stopped."""

    def __init__(self, address: str, payloads: list[bytes], rate: float) -> None:
        self.address, self.payloads, self.rate = address, payloads, rate
        self.answers: collections.Counter[tuple[str, int]] = collections.Counter()  # (side, status) -> count
        self._lock, self._stop, self._next = threading.Lock(), threading.Event(), 0
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def start(self) -> None:
        if self.rate <= 0:
            return
        self._started = time.monotonic()
        for i in range(CONNECTIONS):
            thread = threading.Thread(target=self._send, name=f"replay-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT_S)

    def sent(self) -> int:
        return sum(self.answers.values())

    def _take(self) -> tuple[int, float]:
        with self._lock:
            k, self._next = self._next, self._next + 1
        return k, self._started + k / self.rate

    def _send(self) -> None:
        host, port = self.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
        while not self._stop.is_set():
            k, due = self._take()
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            body = self.payloads[k % len(self.payloads)]
            side, status = self._post(conn, body)
            if status == 0:  # a keep-alive connection closed under us (nginx reloads): once more, afresh
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
                side, status = self._post(conn, body)
            with self._lock:
                self.answers[(side, status)] += 1
        conn.close()

    @staticmethod
    def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[str, int]:
        try:
            conn.request("POST", ROUTE, body=body, headers={"content-type": "application/json"})
            answer = conn.getresponse()
            answer.read()
            return answer.getheader(UPSTREAM_HEADER, "none"), answer.status
        except (OSError, http.client.HTTPException):
            return "none", 0


# Rows for half again the positives needed: the canary's requests a window vary (bench-canary with the
# rehearsal's traffic: 9 % of good rollouts paused on the positives guard at 1.2, none at 1.5).
MARGIN = 1.5


def rows_per_request(positive_rate: float, min_positives: float, requests: float, invalid_share: float,
                     limit: int) -> int:  # fmt: skip
    """Rows a valid request must carry so that the canary's expected `requests` a window (`invalid_share`
    of them invalid) expect `min_positives` positives, with MARGIN; at least 1, at most `limit`."""
    valid = requests * (1 - invalid_share)
    if positive_rate <= 0 or min_positives <= 0 or valid <= 0:
        return 1
    return max(1, min(limit, math.ceil(MARGIN * min_positives / (positive_rate * valid))))
