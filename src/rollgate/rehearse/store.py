"""A loopback model store: a folder laid out as the DVC remote is (`files/md5/xx/yyyy`), served read-only
over HTTP on 127.0.0.1, so that a pod started as rendered fetches its model exactly as it does from the
real store — only the base URL differs (`rollgate.manifests.local_pod.StoreSwap`)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rollgate.delivery.record import artifact_uri


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # a fetch per pod start need not be logged
        pass


def put(folder: Path, md5: str, data: bytes) -> Path:
    """Place `data` in `folder` where the store's layout puts the object `md5`."""
    path = folder / artifact_uri("", md5).lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`folder` served read-only on a free loopback port; yields the store's base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="model-store", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
