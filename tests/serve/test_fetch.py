"""The model fetched over HTTP by real `rollgate serve` processes from a real loopback model store:
once per pod, checked against its digest, capped in size and time, redirects only on the same scheme."""

from __future__ import annotations

import collections
import http.server
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollgate.contracts import release
from rollgate.contracts.errors import ArtifactError
from rollgate.contracts.probe import probe_frame
from rollgate.model import artifact
from rollgate.serve.loading import _SameSchemeRedirects
from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve

EXIT_PATIENCE_S = 60.0  # startup imports included; a refusal comes long before this
Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class Store:
    """A loopback HTTP model store: a handler per path (404 elsewhere), counting GETs per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.gets: collections.Counter[str] = collections.Counter()
        self.stopped = threading.Event()
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked answers need it

            def do_GET(self) -> None:
                store.gets[self.path] += 1
                route = store.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def whole(self, data: bytes, framing: str = "length") -> Route:
        """`data` with a Content-Length, chunked, or delimited by closing the connection (no length)."""

        def route(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("content-type", "application/octet-stream")
            if framing == "length":
                h.send_header("content-length", str(len(data)))
            elif framing == "chunked":
                h.send_header("transfer-encoding", "chunked")
            else:
                h.send_header("connection", "close")
                h.close_connection = True
            h.end_headers()
            if framing == "chunked":
                for start in range(0, len(data), 4096):
                    piece = data[start : start + 4096]
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.write(b"0\r\n\r\n")
            else:
                h.wfile.write(data)

        return route

    def drip(self, data: bytes, every_s: float = 0.5, size: int = 16, head: bool = False) -> Route:
        """`data` announced in full, then `size` bytes every `every_s` until the client goes away;
        with `head`, the status line and then a header that never ends, a byte at a time."""

        def route(h: http.server.BaseHTTPRequestHandler) -> None:
            body, step = (b"a" * 100_000, 1) if head else (data, size)
            if head:
                h.wfile.write(b"HTTP/1.1 200 OK\r\nx-slow: ")
            else:
                h.send_response(200)
                h.send_header("content-length", str(len(body)))
                h.end_headers()
            try:
                for start in range(0, len(body), step):
                    if self.stopped.wait(every_s):
                        return
                    h.wfile.write(body[start : start + step])
                    h.wfile.flush()
            except OSError:  # the server under test hung up: what it should do
                h.close_connection = True

        return route

    @staticmethod
    def redirect(location: str, code: int = 302) -> Route:
        def route(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(code)
            h.send_header("location", location)
            h.send_header("content-length", "0")
            h.end_headers()

        return route


@pytest.fixture
def store() -> Iterator[Store]:
    running = Store()
    thread = threading.Thread(target=running.http.serve_forever, daemon=True)
    thread.start()
    yield running
    running.stopped.set()
    running.http.shutdown()
    running.http.server_close()


def _release(tmp: Path, model: TinyModel, sha256: str | None = None) -> Path:
    """A release record for the tiny model (pinning `sha256` when given): the contract a pod mounts."""
    rel = release.Release(
        env="staging",
        model=release.ModelRef(
            name="fraud-detector", sha256=sha256 or model.sha256, uri="http://store.invalid/model.skops",
            dvc_md5="0" * 32, prediction_fingerprint=artifact.prediction_fingerprint(
                model.model, probe_frame(model.contract, 64)
            ),
        ),
        features=model.contract, threshold=0.5,
        lineage=release.Lineage("0" * 40, "0" * 32, "0" * 64, "test"), metrics={},
        gate=release.GateRef("promote", None), image=release.Image("rollgate", "sha256:" + "0" * 64),
        promoted_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    path = tmp / "release.json"
    release.write(path, rel)
    return path


def _serve_url(model: TinyModel, tmp: Path, url: str, *args: str, sha256: str | None = None) -> Server:
    """`rollgate serve --model URL` (start_server's later flags win), not waited for."""
    sha = sha256 or model.sha256
    rel = _release(tmp, model, sha)
    return start_server(model, tmp, "--model", url, "--sha256", sha, "--release", str(rel), *args, wait=False)


def _refused(server: Server) -> tuple[str, float]:
    """The output of a server that must exit non-zero on its own, and how long it took."""
    began = time.monotonic()
    out = server.refusal(EXIT_PATIENCE_S)
    return out, time.monotonic() - began


def test_fetched_once_per_pod_and_served_by_every_worker(store: Store, tiny_model: TinyModel, tmp_path: Path) -> None:
    store.routes["/model.skops"] = store.whole(tiny_model.path.read_bytes())
    server = _serve_url(tiny_model, tmp_path, f"{store.url}/model.skops", "--workers", "2")
    try:
        server.wait_ready()
        for i in range(8):  # one connection each: both workers answer some
            rows = tiny_model.rows(2, offset=i)
            status, answer = server.json("POST", "/v1/predict", {"instances": rows})
            assert status == 200, f"predict answered {status}: {answer}\n{server._log()}"
            assert [p["score"] for p in answer["predictions"]] == pytest.approx(tiny_model.scores(rows), abs=1e-12)
            assert answer["model"] == {"name": "fraud-detector", "sha256": tiny_model.sha256}
        assert store.gets == {"/model.skops": 1}, f"the store saw {dict(store.gets)}: the model is fetched once per pod"
    finally:
        assert server.stop() == 0, server._log()


def test_a_wrong_digest_over_http_stops_the_server(store: Store, tiny_model: TinyModel, tmp_path: Path) -> None:
    store.routes["/model.skops"] = store.whole(tiny_model.path.read_bytes())
    wrong = "0" * 64
    out, _ = _refused(_serve_url(tiny_model, tmp_path, f"{store.url}/model.skops", sha256=wrong))
    assert wrong in out and tiny_model.sha256 in out, f"the refusal should name both digests:\n{out}"


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_model_over_the_size_cap_is_refused(
    store: Store, tiny_model: TinyModel, tmp_path: Path, framing: str
) -> None:
    data = tiny_model.path.read_bytes()
    limit = len(data) // 2
    store.routes["/model.skops"] = store.whole(data, framing)
    server = _serve_url(tiny_model, tmp_path, f"{store.url}/model.skops", "--max-model-bytes", str(limit))
    out, _ = _refused(server)
    assert f"over the limit of {limit}" in out or f"more than {limit} bytes" in out, (
        f"the refusal ({framing}) should name the limit {limit}:\n{out}"
    )


@pytest.mark.parametrize("part", ["body", "head"])
def test_a_dripping_store_is_cut_off_at_the_fetch_timeout(
    store: Store, tiny_model: TinyModel, tmp_path: Path, part: str
) -> None:
    store.routes["/model.skops"] = store.drip(tiny_model.path.read_bytes(), head=part == "head")
    server = _serve_url(tiny_model, tmp_path, f"{store.url}/model.skops", "--fetch-timeout", "2")
    out, took = _refused(server)
    assert "not finished within 2s" in out, f"the refusal should say the download did not finish:\n{out}"
    assert took < 30, f"took {took:.0f} s to give up on a 2 s fetch timeout:\n{out}"


def test_a_redirect_on_the_same_scheme_is_followed(store: Store, tiny_model: TinyModel, tmp_path: Path) -> None:
    store.routes["/model.skops"] = store.redirect("/objects/ab/cdef")
    store.routes["/objects/ab/cdef"] = store.whole(tiny_model.path.read_bytes())
    server = _serve_url(tiny_model, tmp_path, f"{store.url}/model.skops")
    try:
        server.wait_ready()
        assert server.json("POST", "/v1/predict", {"instances": tiny_model.rows(1)})[0] == 200
        assert store.gets == {"/model.skops": 1, "/objects/ab/cdef": 1}, dict(store.gets)
    finally:
        assert server.stop() == 0, server._log()


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/model.skops", "file:///etc/passwd"])
def test_a_redirect_to_another_scheme_is_refused(
    store: Store, tiny_model: TinyModel, tmp_path: Path, target: str
) -> None:
    store.routes["/model.skops"] = store.redirect(target)
    url = f"{store.url}/model.skops"
    out, _ = _refused(_serve_url(tiny_model, tmp_path, url))
    # ftp reaches rollgate's own check; file:// is refused by urllib itself before it, in its own words.
    assert url in out and target in out, f"the refusal should name the store's URL and the redirect target:\n{out}"
    if target.startswith("ftp"):
        assert "from http to ftp" in out, out
    else:
        assert "not allowed" in out, out
    assert "root:" not in out


def test_the_redirect_handler_refuses_https_to_http() -> None:
    handler = _SameSchemeRedirects()
    req = urllib.request.Request("https://store.example/model.skops")
    with pytest.raises(ArtifactError, match="from https to http"):
        handler.redirect_request(req, None, 302, "Found", {}, "http://store.example/model.skops")
    followed = handler.redirect_request(req, None, 302, "Found", {}, "https://mirror.example/model.skops")
    assert followed.full_url == "https://mirror.example/model.skops"


def test_a_missing_model_names_the_url(store: Store, tiny_model: TinyModel, tmp_path: Path) -> None:
    url = f"{store.url}/nowhere/model.skops"
    out, _ = _refused(_serve_url(tiny_model, tmp_path, url))
    assert url in out and "404" in out, f"the refusal should name the URL and the 404:\n{out}"
    assert store.gets == {"/nowhere/model.skops": 1}
