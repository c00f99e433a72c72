"""API keys (`--api-keys`, `--auth`): the key file's checks, and a real server's 401, 403, reloads and counts."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollgate import cli
from rollgate.contracts.errors import RollgateError
from rollgate.serve import auth, keyfile
from tests.serve.conftest import Server, TinyModel, start_server, write_keys

pytestmark = pytest.mark.serve

SCORE_KEY, OPS_KEY, PROM_KEY = "checkout-key-1234567890", "ops-key-abcdefghijklmnop", "prom-key-qrstuvwxyz012345"
WRONG_KEY = "not-a-key-we-know-0000000"
KEYS = {"checkout": (SCORE_KEY, ["score"]), "ops": (OPS_KEY, list(auth.SCOPES)), "prom": (PROM_KEY, ["metrics"])}
CHALLENGE = 'Bearer realm="rollgate"'
ADMIN_PATHS = ("/metrics", "/v1/model", "/openapi.json")
HEX = hashlib.sha256(b"x").hexdigest()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _atomic_write(path: Path, text: str) -> None:
    """As a mounted Secret changes: a new file swapped in, never a half-written one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


@pytest.fixture(scope="module")
def keyed(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("keyed")
    running = start_server(tiny_model, tmp, "--api-keys", str(write_keys(tmp / "keys.json", KEYS)))
    yield running
    running.stop()


# Unit: the key file, the headers, the decision, the mode.


def _file(*entries: object, **top: object) -> str:
    return json.dumps({"keys": list(entries), **top})


def _entry(key_id: str = "a", sha256: str = HEX, scopes: object = ("score",), **extra: object) -> dict[str, object]:
    return {"id": key_id, "sha256": sha256, "scopes": list(scopes) if isinstance(scopes, tuple) else scopes, **extra}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "k.json: not JSON"),
        (_file(), "k.json: keys: a non-empty list"),
        (json.dumps({}), "k.json: keys: a non-empty list"),
        (json.dumps([]), "k.json: the file must be a JSON object"),
        (_file(_entry(), version=1), "k.json: unknown field 'version'"),
        (_file(_entry(key="plain")), "k.json: keys[0]: unknown field 'key'"),
        (_file(_entry(), _entry("b", "hunter2")), "k.json: keys[1] (b).sha256: not 64 lowercase hex characters"),
        (_file(_entry(sha256=HEX.upper())), "keys[0] (a).sha256: not 64 lowercase hex characters (plain-text keys"),
        (_file(_entry(sha256=HEX + "0")), "keys[0] (a).sha256: not 64 lowercase hex"),
        (_file(_entry(), _entry(sha256=HEX[::-1])), "k.json: keys[1].id: 'a' is already the id of an earlier key"),
        (_file(_entry(), _entry("b")), "k.json: keys[1].sha256: the same hash as key 'a'"),
        (_file(_entry(scopes=["score", "admin"])), "keys[0] (a).scopes: unknown scope 'admin'"),
        (_file(_entry(scopes=[])), "keys[0] (a).scopes: a non-empty list"),
        (_file(_entry(scopes="score")), "keys[0] (a).scopes: a non-empty list"),
        (_file(_entry("none")), "keys[0].id: 1-64 of"),
        (_file(_entry("has space")), "keys[0].id: 1-64 of"),
        (_file(_entry(7)), "keys[0].id: 1-64 of"),
        (_file("checkout"), "keys[0]: a key must be a JSON object"),
    ],
)
def test_a_bad_key_file_is_refused_naming_the_file_and_the_key(text: str, message: str) -> None:
    with pytest.raises(RollgateError) as caught:
        auth.parse(text, "k.json")
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)  # a plain-text key is never repeated back


@pytest.mark.unit
def test_a_presented_key_is_found_by_its_hash_and_judged_by_scope() -> None:
    ring = auth.parse(_file(_entry("a", hashlib.sha256(b"key-a").hexdigest(), ["score", "metrics"])), "k.json")
    assert ring.identify(b"key-a") is ring.keys[0]
    assert ring.identify(b"key-b") is None
    assert ring.decide(None, "score") == ("none", "unauthenticated")
    assert ring.decide(b"key-b", "score") == ("unknown", "unauthenticated")
    assert ring.decide(b"key-a", "score") == ("a", "allowed")
    assert ring.decide(b"key-a", "model") == ("a", "forbidden")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([], None),
        ([(b"authorization", b"Bearer k1")], b"k1"),
        ([(b"authorization", b"bearer   k1 ")], b"k1"),
        ([(b"x-api-key", b"k2")], b"k2"),
        ([(b"x-api-key", b"k2"), (b"authorization", b"Bearer k1")], b"k1"),  # Authorization first
        ([(b"authorization", b"Basic dTpw")], None),
        ([(b"authorization", b"Bearer ")], None),
        ([(b"x-api-key", b"  ")], None),
    ],
)
def test_the_key_comes_from_bearer_or_x_api_key(headers: list[tuple[bytes, bytes]], key: bytes | None) -> None:
    assert auth.presented_key(headers) == key


@pytest.mark.unit
@pytest.mark.parametrize(
    ("mode", "keys", "host", "refusal"),
    [
        ("none", None, "127.0.0.1", None),
        ("none", None, "127.8.9.10", None),
        ("none", None, "::1", None),
        ("none", None, "localhost", None),
        ("none", None, "0.0.0.0", "pass --api-keys FILE, or --auth mesh"),
        ("none", None, "10.0.0.4", "pass --api-keys FILE, or --auth mesh"),
        ("none", None, "example.com", "pass --api-keys FILE, or --auth mesh"),
        ("mesh", None, "0.0.0.0", None),
        ("keys", "k.json", "0.0.0.0", None),
        ("keys", None, "127.0.0.1", "--auth keys needs --api-keys FILE"),
        ("mesh", "k.json", "0.0.0.0", "--api-keys is only read with --auth keys"),
        ("open", None, "127.0.0.1", "--auth must be one of keys, mesh, none"),
    ],
)
def test_no_key_check_only_on_loopback_or_behind_a_mesh(
    mode: str, keys: str | None, host: str, refusal: str | None
) -> None:
    if refusal is None:
        auth.check_mode(mode, keys, host)
    else:
        with pytest.raises(RollgateError, match=refusal.replace("-", r"\-")):
            auth.check_mode(mode, keys, host)


@pytest.mark.unit
def test_the_watched_file_is_looked_at_once_a_second_and_a_bad_change_keeps_the_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_keys(tmp_path / "keys.json", {"a": ("key-a-0123456789", ["score"])})
    now = [0.0]
    watched = keyfile.WatchedKeys(str(path), clock=lambda: now[0])
    _atomic_write(path, _file(_entry("b", hashlib.sha256(b"key-b").hexdigest())))
    now[0] = 0.5
    assert [k.id for k in watched.current().keys] == ["a"]  # not looked at yet
    now[0] = 1.0
    assert [k.id for k in watched.current().keys] == ["b"]
    caplog.set_level(logging.INFO, "rollgate.serve")
    _atomic_write(path, "{broken")
    for second in range(2, 6):  # still broken for four checks: one line
        now[0] = float(second)
        assert [k.id for k in watched.current().keys] == ["b"]
    path.unlink()
    now[0] = 7.0
    assert [k.id for k in watched.current().keys] == ["b"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{path}: not JSON") and "keeping the last good 1 keys" in errors[0]
    assert errors[1].startswith(f"{path}: cannot read the API key file (FileNotFoundError")


@pytest.mark.unit
def test_hash_key_prints_an_entry_the_server_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-key-123\n"))
    assert cli.main(["serve", "hash-key", "--id", "checkout", "--scope", "score", "--scope", "model"]) == 0
    out = capsys.readouterr()
    entry = json.loads(out.out)
    assert entry == {
        "id": "checkout",
        "sha256": hashlib.sha256(b"a-long-enough-key-123").hexdigest(),
        "scopes": ["score", "model"],
    }
    assert auth.parse(json.dumps({"keys": [entry]}), "k.json").identify(b"a-long-enough-key-123") is not None
    assert cli.main(["serve", "hash-key", "--id", "new", "--generate"]) == 0
    out = capsys.readouterr()
    key = out.err.rsplit(": ", 1)[1].strip()
    assert json.loads(out.out)["sha256"] == hashlib.sha256(key.encode()).hexdigest() and key not in out.out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["serve", "hash-key", "--id", "x"]) == 1
    assert "at least 16 printable characters" in capsys.readouterr().err


# A real server with --api-keys.


GUARDED = [("POST", "/v1/predict", False), ("POST", "/invocations", False), *(("GET", p, True) for p in ADMIN_PATHS)]


@pytest.mark.parametrize(("method", "path", "admin"), GUARDED)
def test_no_key_or_an_unknown_one_is_401_with_a_challenge(keyed: Server, method: str, path: str, admin: bool) -> None:
    body = {"instances": [{}]} if method == "POST" else None
    status, headers, data = keyed.request(method, path, body, admin=admin)
    assert (status, headers["www-authenticate"]) == (401, CHALLENGE)
    answer = json.loads(data)
    assert answer["error"].startswith("an API key is required") and answer["request_id"] == headers["x-request-id"]
    for sent in (_bearer(WRONG_KEY), {"X-API-Key": WRONG_KEY}):
        status, headers, data = keyed.request(method, path, body, headers=sent, admin=admin)
        assert (status, json.loads(data)["error"]) == (401, "unknown API key")
        assert headers["www-authenticate"] == f'{CHALLENGE}, error="invalid_token"'


@pytest.mark.parametrize(
    ("key", "method", "path", "admin", "scope"),
    [
        (SCORE_KEY, "GET", "/metrics", True, "metrics"),
        (SCORE_KEY, "GET", "/v1/model", True, "model"),
        (SCORE_KEY, "GET", "/openapi.json", True, "model"),
        (PROM_KEY, "POST", "/v1/predict", False, "score"),
        (PROM_KEY, "POST", "/invocations", False, "score"),
    ],
)
def test_a_known_key_without_the_scope_is_403(  # noqa: PLR0917
    keyed: Server, key: str, method: str, path: str, admin: bool, scope: str
) -> None:
    body = {"instances": [{}]} if method == "POST" else None
    status, _, data = keyed.request(method, path, body, headers={"X-API-Key": key}, admin=admin)
    assert status == 403
    assert f"lacks the '{scope}' scope" in json.loads(data)["error"]


@pytest.mark.parametrize("header", [_bearer, lambda key: {"X-API-Key": key}], ids=["bearer", "x-api-key"])
def test_a_key_with_the_scope_is_served_on_each_scope(
    keyed: Server, tiny_model: TinyModel, header: Callable[[str], dict[str, str]]
) -> None:
    rows = tiny_model.rows(3)
    status, _, data = keyed.request("POST", "/v1/predict", {"instances": rows}, headers=header(SCORE_KEY))
    assert status == 200
    assert [p["score"] for p in json.loads(data)["predictions"]] == pytest.approx(tiny_model.scores(rows), abs=1e-12)
    status, _, data = keyed.request("POST", "/invocations", {"dataframe_records": rows}, headers=header(SCORE_KEY))
    assert status == 200 and len(json.loads(data)["predictions"]) == 3
    for path in ADMIN_PATHS:
        assert keyed.request("GET", path, headers=header(OPS_KEY), admin=True)[0] == 200, path
    assert keyed.request("GET", "/metrics", headers=header(PROM_KEY), admin=True)[0] == 200


def test_probes_need_no_key(keyed: Server) -> None:
    for admin in (False, True):
        for path in ("/healthz", "/readyz"):
            assert keyed.request("GET", path, admin=admin)[0] == 200, (path, admin)


def test_checks_are_counted_by_key_id_and_outcome_never_by_key(keyed: Server, tiny_model: TinyModel) -> None:
    ops = {"X-API-Key": OPS_KEY}
    before = keyed.metrics(ops)
    keyed.request("POST", "/v1/predict", {"instances": tiny_model.rows(1)}, headers=_bearer(SCORE_KEY))
    keyed.request("POST", "/v1/predict", {"instances": tiny_model.rows(1)}, headers=_bearer(SCORE_KEY))
    keyed.request("POST", "/v1/predict", {"instances": tiny_model.rows(1)})
    keyed.request("POST", "/v1/predict", {"instances": tiny_model.rows(1)}, headers=_bearer(WRONG_KEY))
    keyed.request("GET", "/metrics", headers=_bearer(SCORE_KEY), admin=True)
    keyed.request("GET", "/healthz")  # exempt: not checked, not counted here
    after = keyed.metrics(ops)

    def delta(key: str, outcome: str) -> float:
        name = f'rollgate_auth_requests_total{{key="{key}",outcome="{outcome}"}}'
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta("checkout", "allowed") == 2
    assert delta("none", "unauthenticated") == 1
    assert delta("unknown", "unauthenticated") == 1
    assert delta("checkout", "forbidden") == 1
    assert delta("ops", "allowed") == 1  # the second /metrics read: each is counted before it is answered
    refused = 'rollgate_requests_total{code="401",route="/v1/predict"}'
    assert after[refused] - before.get(refused, 0.0) == 2  # refusals are answers: counted by route and code
    exposition = keyed.request("GET", "/metrics", headers=ops, admin=True)[2].decode()
    log = keyed.log.read_text()
    for key in (SCORE_KEY, OPS_KEY, PROM_KEY, WRONG_KEY):
        assert key not in exposition and key not in log
        assert hashlib.sha256(key.encode()).hexdigest() not in log


def test_a_changed_key_file_is_followed_and_a_broken_one_keeps_the_last_good_keys(
    tiny_model: TinyModel, tmp_path: Path
) -> None:
    path = write_keys(tmp_path / "keys.json", {"old": ("old-key-0123456789", ["score"])})
    running = start_server(tiny_model, tmp_path, "--api-keys", str(path))
    try:
        assert running.request("GET", "/v1/model", headers={"X-API-Key": "old-key-0123456789"}, admin=True)[0] == 403
        new = json.dumps({"keys": [_entry("new", hashlib.sha256(b"new-key-0123456789").hexdigest(), ["model"])]})
        _atomic_write(path, new)
        deadline = time.monotonic() + 2.5
        while running.request("GET", "/v1/model", headers={"X-API-Key": "new-key-0123456789"}, admin=True)[0] != 200:
            assert time.monotonic() < deadline, "the new key was not accepted within 2.5 s"
            time.sleep(0.1)
        assert running.request("GET", "/v1/model", headers={"X-API-Key": "old-key-0123456789"}, admin=True)[0] == 401
        _atomic_write(path, '{"keys": [{"id": "x", "sha256": "plain-text-key"}]}')
        time.sleep(2.2)  # two checks or more of the broken file
        assert running.request("GET", "/v1/model", headers={"X-API-Key": "new-key-0123456789"}, admin=True)[0] == 200
    finally:
        running.stop()
    lines = [line for line in running.log.read_text().splitlines() if "keeping the last good" in line]
    assert len(lines) == 1, lines
    assert f"{path}: keys[0] (x).sha256: not 64 lowercase hex" in lines[0] and "plain-text-key" not in lines[0]
    assert "new-key-0123456789" not in running.log.read_text()


def test_a_bad_key_file_or_mode_refuses_to_start(tiny_model: TinyModel, tmp_path: Path) -> None:
    plain = {"keys": [_entry(), {"id": "checkout", "sha256": "s3cret-plain-key", "scopes": ["score"]}]}
    files: dict[str, object] = {
        "missing": None,
        "unreadable": "a directory",
        "plain": plain,
        "empty": {"keys": []},
        "duplicate": {"keys": [_entry(), _entry(sha256=HEX[::-1])]},
        "scope": {"keys": [_entry(scopes=["score", "admin"])]},
    }
    expected = {
        "missing": "missing.json: cannot read the API key file (FileNotFoundError",
        "unreadable": "unreadable.json: cannot read the API key file (IsADirectoryError",
        "plain": "plain.json: keys[1] (checkout).sha256: not 64 lowercase hex characters (plain-text keys are refused: "
        "store sha256 hashes, see rollgate serve hash-key)",
        "empty": "empty.json: keys: a non-empty list",
        "duplicate": "duplicate.json: keys[1].id: 'a' is already the id of an earlier key",
        "scope": "scope.json: keys[0] (a).scopes: unknown scope 'admin'",
        "host": "--host 0.0.0.0 is not a loopback address, so callers must be authenticated: pass --api-keys FILE, "
        "or --auth mesh when a service mesh authenticates every caller",
        "none": "--host 0.0.0.0 is not a loopback address",
        "keys": "--auth keys needs --api-keys FILE",
    }
    starts = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.json"
        if content == "a directory":
            path.mkdir()
        elif content is not None:
            path.write_text(json.dumps(content))
        starts[name] = start_server(tiny_model, tmp_path, "--api-keys", str(path), wait=False)
    starts["host"] = start_server(tiny_model, tmp_path, "--host", "0.0.0.0", wait=False)
    starts["none"] = start_server(tiny_model, tmp_path, "--host", "0.0.0.0", "--auth", "none", wait=False)
    starts["keys"] = start_server(tiny_model, tmp_path, "--auth", "keys", wait=False)
    for name, server in starts.items():
        out = server.refusal()
        assert server.proc.returncode == 1 and expected[name] in out, (name, out)
        assert "s3cret-plain-key" not in out


def test_behind_a_mesh_any_host_serves_without_keys(tiny_model: TinyModel, tmp_path: Path) -> None:
    running = start_server(tiny_model, tmp_path, "--host", "0.0.0.0", "--auth", "mesh")
    try:
        assert running.request("POST", "/v1/predict", {"instances": tiny_model.rows(1)})[0] == 200
        assert not any(k.startswith("rollgate_auth_requests_total{") for k in running.metrics())  # no check, no count
        assert "auth: mesh" in running.log.read_text()
    finally:
        running.stop()
