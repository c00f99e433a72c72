"""Fetch the artifact, verify its digest before deserializing it, and find its feature contract.

The contract comes from the release record (`--release`, what a pod mounts) or, without one, from the
model metadata file the train stage writes beside the artifact (`models/model.json`). A server with no
contract cannot check input, so it refuses to start rather than guess.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgate.contracts import model_metadata, release
from rollgate.contracts.bins import ServedBaseline
from rollgate.contracts.errors import ArtifactError, RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.model import artifact

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ServedModel:
    """A verified model and what the server says about it."""

    model: Any
    name: str
    sha256: str
    features: FeatureContract
    threshold: float
    fingerprint: str | None  # expected prediction fingerprint on the probe set, when known
    fingerprint_rows: int | None  # the probe set's size it was computed on, when known
    record: dict[str, Any]  # what GET /v1/model returns
    baseline: ServedBaseline | None = None  # the release record's bins: every scored row is counted into them


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a few redirects, never to another scheme (an https model store must not hand over to http)."""

    max_redirections = 5

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:  # noqa: PLR0917 (urllib's signature)
        old, new = urllib.parse.urlparse(req.full_url).scheme, urllib.parse.urlparse(newurl).scheme
        if new != old:
            raise ArtifactError(f"{req.full_url}: refusing a redirect from {old} to {new} ({newurl[:200]})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(uri: str, timeout_s: float, max_bytes: int) -> bytes:
    """The artifact's bytes from a path, a `file://` URI or an `http(s)://` URL (e.g. a registry proxy).

    A download must finish within `timeout_s` in all and be at most `max_bytes`; redirects stay on the
    same scheme. The bytes are not trusted here: `load` checks their digest before deserializing.
    """
    parsed = urllib.parse.urlparse(uri)
    try:
        if parsed.scheme in ("", "file"):
            path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme else uri)
            if path.stat().st_size > max_bytes:
                raise ArtifactError(f"{uri}: {path.stat().st_size} bytes, over the limit of {max_bytes}")
            return path.read_bytes()
        if parsed.scheme in ("http", "https"):
            return _download(uri, timeout_s, max_bytes)
    except OSError as exc:
        raise ArtifactError(f"{uri}: cannot read the model ({exc})") from exc
    # Object stores need credentials and SDKs the server does not carry: fetch with an init container.
    raise ArtifactError(f"{uri}: unsupported scheme {parsed.scheme!r} (use a path, file:// or http(s)://)")


def _download(uri: str, timeout_s: float, max_bytes: int) -> bytes:
    # The whole download runs in a thread the caller stops waiting for at the deadline: socket timeouts
    # bound each read, not a store that drips its status line or headers a byte at a time.
    outcome: list[bytes | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_read(uri, timeout_s, max_bytes))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=work, name="rollgate-model-download", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not outcome:
        raise ArtifactError(f"{uri}: download not finished within {timeout_s:g}s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _read(uri: str, timeout_s: float, max_bytes: int) -> bytes:
    deadline = time.monotonic() + timeout_s
    opener = urllib.request.build_opener(_SameSchemeRedirects)
    # Each socket read waits at most `stall`, and the deadline is checked between reads (read1: one read
    # each), so a server dripping bytes is cut off within the deadline plus one stalled read.
    stall = min(timeout_s, 10.0)
    with opener.open(uri, timeout=stall) as answer:  # the scheme is checked by the caller
        declared = answer.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ArtifactError(f"{uri}: {declared} bytes, over the limit of {max_bytes}")
        chunks, size = [], 0
        while chunk := answer.read1(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise ArtifactError(f"{uri}: more than {max_bytes} bytes, over the limit")
            if time.monotonic() > deadline:
                raise ArtifactError(f"{uri}: download not finished within {timeout_s:g}s")
            chunks.append(chunk)
        return b"".join(chunks)


def _from_metadata(uri: str, sha256: str) -> tuple[str, FeatureContract, str, int | None, dict[str, Any]]:
    parsed = urllib.parse.urlparse(uri)
    path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else uri)
    meta_path = path.with_suffix(".json")
    if parsed.scheme not in ("", "file") or not meta_path.is_file():
        raise RollgateError(f"{uri}: no feature contract: pass --release, or keep {meta_path.name} beside the model")
    meta = model_metadata.read(meta_path)
    if meta.sha256 != sha256:
        raise ArtifactError(f"{meta_path}: describes sha256 {meta.sha256}, not the expected {sha256}")
    record = {key: value for key, value in meta.to_dict().items() if key not in ("trusted_types", "versions")}
    probe_rows = meta.params.get("train", {}).get("probe_rows")
    return meta.name, meta.features, meta.prediction_fingerprint, probe_rows, record


def load(uri: str, sha256: str, release_path: str | None, threshold: float | None, data: bytes) -> ServedModel:
    """Verify and load the model from `data`, the bytes `fetch` read from `uri`; every refusal names the file."""
    if release_path is not None:
        rel = _release(release_path)
        if rel.model.sha256 != sha256:
            raise ArtifactError(f"{release_path}: pins sha256 {rel.model.sha256}, not the expected {sha256}")
        name, features, default_threshold = rel.model.name, rel.features, rel.threshold
        baseline = rel.baseline
        if baseline is not None:
            baseline.check_features(features.names, release_path)
        # The release record does not say how many probe rows its fingerprint used: not checked here.
        fingerprint, probe_rows, record = rel.model.prediction_fingerprint, None, json.loads(json.dumps(rel.to_dict()))
    else:
        name, features, fingerprint, probe_rows, record = _from_metadata(uri, sha256)
        default_threshold, baseline = DEFAULT_THRESHOLD, None
    model = artifact.loads(data, expected_sha256=sha256, source=uri)
    chosen = default_threshold if threshold is None else threshold
    record = {**record, "threshold": chosen}
    return ServedModel(model, name, sha256, features, chosen, fingerprint, probe_rows, record, baseline)


def _release(path: str) -> release.Release:
    rel = release.read(Path(path))
    if rel is None:
        raise RollgateError(f"{path}: this environment's release record pins no model yet")
    return rel


def pinned(model: str | None, sha256: str | None, release_path: str | None) -> tuple[str, str]:
    """The artifact location and digest: as given, or (each one missing) the release record's."""
    if model is not None and sha256 is not None:
        return model, sha256
    if release_path is None:
        raise RollgateError("pass --model and --sha256, or --release with a release record that pins them")
    rel = _release(release_path)
    return model or rel.model.uri, sha256 or rel.model.sha256
