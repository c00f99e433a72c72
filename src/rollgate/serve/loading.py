"""Fetch the artifact, verify its digest before deserializing it, and find its feature contract.

The contract comes from the release record (`--release`, what a pod mounts) or, without one, from the
model metadata file the train stage writes beside the artifact (`models/model.json`). A server with no
contract cannot check input, so it refuses to start rather than guess.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgate.contracts import model_metadata, release
from rollgate.contracts.errors import ArtifactError, RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.model import artifact

DEFAULT_THRESHOLD = 0.5
_FETCH_TIMEOUT_S = 60


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


def fetch(uri: str) -> bytes:
    """The artifact's bytes from a path, a `file://` URI or an `http(s)://` URL (e.g. a registry proxy)."""
    parsed = urllib.parse.urlparse(uri)
    try:
        if parsed.scheme in ("", "file"):
            return Path(urllib.parse.unquote(parsed.path) if parsed.scheme else uri).read_bytes()
        if parsed.scheme in ("http", "https"):
            with urllib.request.urlopen(uri, timeout=_FETCH_TIMEOUT_S) as answer:  # the scheme is checked above
                data: bytes = answer.read()
                return data
    except OSError as exc:
        raise ArtifactError(f"{uri}: cannot read the model ({exc})") from exc
    # Object stores need credentials and SDKs the server does not carry: fetch with an init container.
    raise ArtifactError(f"{uri}: unsupported scheme {parsed.scheme!r} (use a path, file:// or http(s)://)")


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


def load(uri: str, sha256: str, release_path: str | None, threshold: float | None = None) -> ServedModel:
    """Verify and load the model; every refusal is an error naming the file and what is wrong."""
    if release_path is not None:
        rel = _release(release_path)
        if rel.model.sha256 != sha256:
            raise ArtifactError(f"{release_path}: pins sha256 {rel.model.sha256}, not the expected {sha256}")
        name, features, default_threshold = rel.model.name, rel.features, rel.threshold
        # The release record does not say how many probe rows its fingerprint used: not checked here.
        fingerprint, probe_rows, record = rel.model.prediction_fingerprint, None, json.loads(json.dumps(rel.to_dict()))
    else:
        name, features, fingerprint, probe_rows, record = _from_metadata(uri, sha256)
        default_threshold = DEFAULT_THRESHOLD
    model = artifact.loads(fetch(uri), expected_sha256=sha256, source=uri)
    chosen = default_threshold if threshold is None else threshold
    record = {**record, "threshold": chosen}
    return ServedModel(model, name, sha256, features, chosen, fingerprint, probe_rows, record)


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
