"""The load: wrk driven from Lua bodies, a sequential probe client beside it, the in-process floor."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBE_GAP_S = 0.01  # between probes: about 100 a second, a sample big enough for a p99


@dataclass(frozen=True)
class Load:
    """What wrk measured: requests per second, latency percentiles in ms, answers that were not 2xx."""

    rps: float
    p50: float
    p99: float
    non2xx: int


@dataclass(frozen=True)
class Probes:
    """The sequential client's latencies in ms (failures included, at the time they took) and failures."""

    latencies: list[float]
    failures: int

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


def lua(path: Path, url_path: str, body: str, headers: dict[str, str] | None = None) -> Path:
    extra = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in (headers or {}).items())
    path.write_text(
        f'wrk.method = "POST"\nwrk.path = "{url_path}"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"{extra}wrk.body = {json.dumps(body)}\n"
        # Count non-2xx answers, so a fast error never passes for throughput.
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("NON2XX %d\\n", summary.errors.status))\nend\n'
    )
    return path


def start_wrk(url: str, script: Path, clients: int, seconds: int) -> subprocess.Popen[str]:
    threads = min(clients, 2)
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def finish_wrk(proc: subprocess.Popen[str]) -> Load:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{out}")
    result = parse(out)
    errors = re.search(r"Socket errors: (.*)", out)
    if result.non2xx or errors:
        print(f"  warning: {result.non2xx} non-2xx answers; {errors.group(1) if errors else 'no socket errors'}")
    return result


def wrk(url: str, script: Path, clients: int, seconds: int) -> Load:
    return finish_wrk(start_wrk(url, script, clients, seconds))


def parse(out: str) -> Load:
    """wrk's --latency report (with the Lua script's NON2XX line) as a Load."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"NON2XX (\d+)", out)
    pct = {p: _ms(v, unit) for p, v, unit in re.findall(r"\s(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\b", out)}
    if rate is None or bad is None or not {"50", "99"} <= pct.keys():
        raise SystemExit(f"could not read wrk's report:\n{out}")
    return Load(float(rate.group(1)), pct["50"], pct["99"], int(bad.group(1)))


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def probe_while(proc: subprocess.Popen[str], url: str) -> Probes:
    """GET `url` one request at a time, each on a new connection as a kubelet probe does, until `proc` ends."""
    parts = urllib.parse.urlsplit(url)
    latencies, failures = [], 0
    while proc.poll() is None:
        start = time.perf_counter()
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            conn.request("GET", parts.path)
            answer = conn.getresponse()
            answer.read()
            failures += answer.status != 200
        except OSError:
            failures += 1
        finally:
            conn.close()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(PROBE_GAP_S)
    return Probes(latencies, failures)


def post_json(url: str, body: str) -> Any:
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def in_process(model: Any, body: str, seconds: float = 8.0) -> float:
    """Rows per second for: decode the JSON, build the frame, predict — the floor any server adds to."""
    import pandas as pd

    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        rows = json.loads(body)["instances"]
        model.predict_proba(pd.DataFrame(rows))
        done += len(rows)
    return done / (time.perf_counter() - start)
