"""nginx in front of stable and canary, routing as Istio does at each Rollout step (Argo Rollouts sets the
VirtualService's weights and its setMirrorRoute; here a rewritten nginx.conf and a reload do).

As in Istio, a mirrored request still follows the weights: with both set, a request that the weight sends
to the canary and the mirror copies reaches the canary twice. Caveat of nginx's mirror module: the
caller's answer is sent at once, but its request finishes only when the copy does, so a slow canary
delays the next request on the same keep-alive connection (by at most the copy's timeouts below).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse.processes import Process, Stack, http_get, tool

ROUTING_PATH = "/_rollgate/routing"  # answers the routing the serving worker runs, as JSON
UPSTREAM_HEADER = "x-rollgate-upstream"  # names the side that answered: stable or canary
_PREFIX = re.compile(r"/[A-Za-z0-9/_.~-]*")  # nothing nginx or the routing JSON would read specially
_START_S = 10.0


@dataclass(frozen=True)
class Routing:
    """One step's traffic: percentages of requests, each drawn at random per request."""

    mirror_percent: float = 0.0  # of requests under `mirror_prefixes` copied to the canary, answer discarded
    mirror_prefixes: tuple[str, ...] = ()  # the setMirrorRoute's path prefixes
    canary_weight: float = 0.0  # of requests answered by the canary instead of stable; 100 = full rollout

    def __post_init__(self) -> None:
        for name in ("mirror_percent", "canary_weight"):
            if not 0 <= getattr(self, name) <= 100:
                raise RollgateError(f"routing: {name} must be within 0-100, not {getattr(self, name)}")
            object.__setattr__(self, name, float(getattr(self, name)))  # 25 and 25.0: one routing
        object.__setattr__(self, "mirror_prefixes", tuple(self.mirror_prefixes))
        bad = [p for p in self.mirror_prefixes if not _PREFIX.fullmatch(p)]
        if bad:
            raise RollgateError(f"routing: mirror_prefixes must be plain paths starting with /, not {bad}")
        if self.mirror_percent and not self.mirror_prefixes:
            raise RollgateError("routing: mirror_percent needs mirror_prefixes (the setMirrorRoute match)")


def config(routing: Routing, listen_port: int, stable: str, canary: str, prefix: Path) -> str:
    """The whole nginx.conf for `routing`, listening on 127.0.0.1:`listen_port`, its files under `prefix`."""
    state = json.dumps(asdict(routing), sort_keys=True)
    mirrored = sorted(set(routing.mirror_prefixes)) if routing.mirror_percent else []
    proxied = [_location(p, mirror=True) for p in mirrored] + ([] if "/" in mirrored else [_location("/")])
    return f"""# The rehearsal's mesh, written by rollgate for one Rollout step: {state}
daemon off;  # the rehearsal's process stack owns the master: it stays in the foreground
worker_processes 1;  # a reload is done once the master's only child is the worker serving the new file
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    log_format rollgate '$remote_addr "$request" $status $request_time $rollgate_side $upstream_addr';
    access_log {prefix}/access.log rollgate;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # Bodies and answers stay in memory: the mirror's copy re-sends the same buffer, and workers never
    # write temp files under a prefix they might not own (started as root, nginx's workers run as nobody).
    client_max_body_size 8m;
    client_body_buffer_size 8m;
    proxy_max_temp_file_size 0;
    upstream stable {{
        server {stable};
        keepalive 16;
    }}
    upstream canary {{
        server {canary};
        keepalive 16;
    }}
    # Two independent draws per request ($request_id is random; the salts differ). Subrequests share
    # their parent's variables, so the mirror's copy sees the draw of the request it copies.
    split_clients "${{request_id}}side" $rollgate_side {{
{_split(routing.canary_weight, "canary", "stable")}
    }}
    split_clients "${{request_id}}mirror" $rollgate_mirror {{
{_split(routing.mirror_percent, "on", "off")}
    }}
    proxy_http_version 1.1;  # upstream keep-alive needs HTTP/1.1 ...
    proxy_set_header Connection "";  # ... and no "Connection: close" passed on from the caller
    proxy_set_header X-Request-Id $request_id;  # the same id on a request and its mirrored copy
    server {{
        listen 127.0.0.1:{listen_port};
        location = {ROUTING_PATH} {{
            default_type application/json;
            return 200 '{{"routing": {state}, "worker": $pid}}\\n';
        }}
{"".join(proxied)}        location = /_rollgate/mirror {{
            internal;  # reachable only as the mirror's subrequest
            if ($rollgate_mirror = off) {{
                return 204;  # the share not mirrored: the copy ends here, before the canary
            }}
            proxy_pass http://canary$request_uri;  # the caller's method, URI (query too) and body
            proxy_connect_timeout 2s;  # bounds what a dead or slow canary can cost the caller's connection
            proxy_read_timeout 10s;
        }}
    }}
}}
"""


def _split(percent: float, chosen: str, rest: str) -> str:
    share = round(percent, 2)  # split_clients takes at most two decimals; 0% and 100% it refuses
    if share <= 0 or share >= 100:
        return f"        * {chosen if share >= 100 else rest};"
    return f"        {share:.2f}% {chosen};\n        * {rest};"


def _location(prefix: str, mirror: bool = False) -> str:
    copy = "            mirror /_rollgate/mirror;  # Istio's mirror: a copy to the canary, its answer dropped\n"
    return (
        f"        location {prefix} {{\n{copy if mirror else ''}"
        f"            add_header {UPSTREAM_HEADER} $rollgate_side always;\n"
        "            proxy_pass http://$rollgate_side;  # an upstream's name: no resolver involved\n"
        "        }\n"
    )


class Router:
    """nginx on 127.0.0.1:`port` in front of `stable` and `canary` ("127.0.0.1:PORT"), files under
    `workdir`, its master owned by `stack`."""

    def __init__(self, stack: Stack, workdir: Path, port: int, stable: str, canary: str) -> None:
        self._stack, self._prefix, self._port = stack, workdir, port
        self._upstreams = (stable, canary)
        self._nginx = tool("nginx", "nginx")
        self._process: Process | None = None
        self._routing: Routing | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def routing(self) -> Routing:
        if self._routing is None:
            raise RollgateError("nginx: the router has not started")
        return self._routing

    def start(self, routing: Routing) -> None:
        if self._process is not None:
            raise RollgateError("nginx: the router has already started")
        self._write(routing)
        self._process = self._stack.start([self._nginx, *self._files()], self._prefix / "error.log")
        self._process.wait_http(self.url + ROUTING_PATH, _START_S)
        self._await(self._process, routing)

    def route(self, routing: Routing) -> None:
        """Switch live: rewrite, check, reload (SIGHUP), and return once only the new worker serves."""
        if self._process is None:
            raise RollgateError("nginx: start the router before routing")
        self._write(routing)
        os.kill(self._process.pid, signal.SIGHUP)
        self._await(self._process, routing)

    def _files(self, conf: str = "nginx.conf") -> list[str]:
        return ["-p", str(self._prefix), "-c", str(self._prefix / conf), "-e", str(self._prefix / "error.log")]

    def _write(self, routing: Routing) -> None:
        # Checked before it replaces the running file: a refused config leaves the live one as it was.
        self._prefix.mkdir(parents=True, exist_ok=True)
        text = config(routing, self._port, *self._upstreams, prefix=self._prefix)
        (self._prefix / "nginx.conf.new").write_text(text)
        check = subprocess.run(
            [self._nginx, *self._files("nginx.conf.new"), "-t", "-q"], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RollgateError(f"nginx refused the config for {routing}:\n{check.stderr.strip()}")
        (self._prefix / "nginx.conf.new").replace(self._prefix / "nginx.conf")

    def _await(self, process: Process, routing: Routing) -> None:
        deadline, want = time.monotonic() + _START_S, json.loads(json.dumps(asdict(routing)))
        while time.monotonic() < deadline and process.alive():
            try:
                state = json.loads(http_get(self.url + ROUTING_PATH, timeout_s=1.0)[1])
            except (OSError, ValueError):
                state = {}
            if state.get("routing") == want and _children(process.pid) in (None, [state["worker"]]):
                self._routing = routing
                return
            time.sleep(0.05)
        raise RollgateError(f"nginx did not serve {routing} within {_START_S:g} s:\n{process.log_tail()}")


def _children(pid: int) -> list[int] | None:
    """The master's worker pids: old workers are gone once only the new one is listed (None: this kernel
    does not list children, and a reload counts as done once the new worker answers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else None
