"""The prediction log of real `rollgate serve` processes: rows carry their pass-through id (echoed and
logged, so labels arriving later join), the field policy drops or hashes what the log may not hold and
is refused when it would break the log, and the files are 0600, bounded and rotated."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgate import cli
from rollgate.serve.logpolicy import HASH_KEY_ENV
from rollgate.serve.settings import ServeSettings
from rollgate.serve.validation import Validator
from tests.serve.conftest import Server, TinyModel, start_server

pytestmark = pytest.mark.serve

KEY = "a test key, 32 bytes long enough"
SMALL = 4096  # --log-max-bytes for the rotation tests: about ten lines a file


def _keyed(value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _lines(*paths: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def _wait_lines(path: Path, request_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The request's `count` lines, once the log holds them (the writer flushes when its queue is empty)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [r for r in _lines(path) if r["request_id"] == request_id] if path.is_file() else []
        if len(mine) >= count:
            return mine
        assert time.monotonic() < deadline, f"{path}: fewer than {count} lines of {request_id} after {timeout} s"
        time.sleep(0.05)


def _rows(model: TinyModel, n: int, offset: int = 0, **extra: Any) -> list[dict[str, Any]]:
    """Valid rows, each with a distinct id and the extra fields given."""
    id_field = model.contract.id_field
    assert id_field is not None
    return [{**row, id_field: f"tx-2024-{offset + i:05d}", **extra} for i, row in enumerate(model.rows(n, offset))]


@pytest.fixture(scope="module")
def logged(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server logging every request, with email dropped and card_number hashed."""
    folder = tmp_path_factory.mktemp("logged")
    log = folder / "predictions.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HASH_KEY_ENV, KEY)
        server = start_server(
            tiny_model,
            folder,
            "--log",
            str(log),
            "--log-sample",
            "1",
            "--log-drop",
            "email",
            "--log-hash",
            "card_number",
        )
    yield server, log
    server.stop()


def test_ids_are_echoed_logged_and_join_with_labels_that_come_later(
    logged: tuple[Server, Path], tiny_model: TinyModel
) -> None:
    server, log = logged
    id_field = tiny_model.contract.id_field
    rows = [*_rows(tiny_model, 3, offset=100), tiny_model.rows(1, offset=103)[0]]  # the last row sends no id
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 200
    assert [p.get("id") for p in answer["predictions"]] == ["tx-2024-00100", "tx-2024-00101", "tx-2024-00102", None]
    status, invoked = server.json("POST", "/invocations", {"dataframe_records": rows[:2]})
    assert status == 200 and invoked["ids"] == ["tx-2024-00100", "tx-2024-00101"]

    mine = _wait_lines(log, answer["request_id"], 4)
    assert [r["row"] for r in mine] == [0, 1, 2, 3]
    labels = {"tx-2024-00100": 1, "tx-2024-00102": 0}  # arrive days later, keyed by the id
    joined = {r["id"]: (r["score"], labels[r["id"]]) for r in mine if r["id"] in labels}
    scores = {p["id"]: p["score"] for p in answer["predictions"] if "id" in p}
    assert joined == {i: (scores[i], labels[i]) for i in labels}
    assert mine[3]["id"] is None
    for record in mine:
        assert record["sha256"] == tiny_model.sha256 and record["sample"] == 1.0 and record["ts"] > 0
        assert id_field not in record["inputs"]  # the id is beside the inputs, never among them
        assert set(tiny_model.contract.names) <= set(record["inputs"])  # every model input, to re-score


def test_the_policy_drops_and_hashes_with_a_stable_key(logged: tuple[Server, Path], tiny_model: TinyModel) -> None:
    server, log = logged
    rows = _rows(tiny_model, 2, offset=200, email="jo@example.com", card_number="4111111111111111", note="vip")
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 200
    mine = _wait_lines(log, answer["request_id"], 2)
    assert len(mine) == 2
    for record, row in zip(mine, rows, strict=True):
        inputs = record["inputs"]
        assert "email" not in inputs
        assert inputs["card_number"] == _keyed("4111111111111111") != _keyed("4111111111111111", KEY + "!")
        assert inputs["note"] == "vip"  # not listed: logged as sent
        assert {name: inputs[name] for name in tiny_model.contract.names} == {
            name: row[name] for name in tiny_model.contract.names
        }
    assert "4111111111111111" not in log.read_text() and "jo@example.com" not in log.read_text()


@pytest.mark.parametrize("bad", [{"kind": "object"}, "x" * 129, True])
def test_an_id_that_cannot_be_echoed_or_logged_is_refused(
    logged: tuple[Server, Path], tiny_model: TinyModel, bad: Any
) -> None:
    server, _ = logged
    id_field = str(tiny_model.contract.id_field)
    before = server.metrics().get('rollgate_input_rejected_total{reason="id"}', 0.0)
    rows = [*_rows(tiny_model, 1), {**tiny_model.rows(1)[0], id_field: bad}]
    status, answer = server.json("POST", "/v1/predict", {"instances": rows})
    assert status == 422
    (error,) = answer["errors"]
    assert (error["row"], error["field"], error["reason"]) == (1, id_field, "id")
    assert error["message"].startswith("an id must be a string of at most 128 characters or an integer, got ")
    assert server.metrics()['rollgate_input_rejected_total{reason="id"}'] == before + 1


def test_the_id_is_no_unknown_field_in_strict_mode(tiny_model: TinyModel) -> None:
    checked = Validator(tiny_model.contract, strict=True).check([*_rows(tiny_model, 2), tiny_model.rows(1)[0]])
    assert not checked.errors and not checked.ignored
    assert checked.ids == ["tx-2024-00000", "tx-2024-00001", None]


def test_rows_without_an_id_take_the_plain_path(tiny_model: TinyModel) -> None:
    assert Validator(tiny_model.contract).check(tiny_model.rows(3)).ids is None


# --- refused at start-up -----------------------------------------------------------------------------


def _refused(model: TinyModel, tmp: Path, *args: str) -> str:
    return start_server(model, tmp, "--log", str(tmp / "p.jsonl"), *args, wait=False).refusal()


@pytest.mark.parametrize("flag", ["--log-drop", "--log-hash"])
def test_a_policy_naming_a_model_input_is_refused(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, KEY)
    feature = tiny_model.contract.names[-1]
    out = _refused(tiny_model, tmp_path, flag, f"email,{feature}")
    assert f"{flag} {feature}: the model uses this field, and the log keeps it so that its rows can be re-scored" in out


def test_dropping_the_id_is_refused(tiny_model: TinyModel, tmp_path: Path) -> None:
    id_field = str(tiny_model.contract.id_field)
    out = _refused(tiny_model, tmp_path, "--log-drop", id_field)
    assert f"--log-drop {id_field}: labels are joined on the id; hash it (--log-hash) to keep it joinable" in out


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, f"--log-hash needs a secret key: set {HASH_KEY_ENV} (at least 16 bytes)"),
        ("short", f"{HASH_KEY_ENV} has 5 bytes; it needs at least 16"),
    ],
)
def test_hashing_without_a_usable_key_is_refused(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None, message: str
) -> None:
    if key is None:
        monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(HASH_KEY_ENV, key)
    assert message in _refused(tiny_model, tmp_path, "--log-hash", "email")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-drop", "email", "--log-hash", "email"], "--log-drop and --log-hash both name email"),
        (["--log-max-bytes", "100"], "--log-max-bytes must be at least 4096 and --log-files at least 1"),
        (["--log-files", "0"], "--log-max-bytes must be at least 4096 and --log-files at least 1"),
    ],
)
def test_log_settings_that_cannot_work_are_refused(
    tiny_model: TinyModel, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    serve = ["serve", "--model", str(tiny_model.path), "--sha256", tiny_model.sha256, "--log", "-"]
    assert cli.main([*serve, *args]) == 1
    assert message in capsys.readouterr().err


# --- files: 0600, bounded, rotated -------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_log_files_are_0600_bounded_and_rotated(
    tiny_model: TinyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "predictions.jsonl"
    log.write_bytes(b"")
    log.chmod(0o644)  # left by an earlier run with a looser mode
    monkeypatch.setenv(HASH_KEY_ENV, KEY)
    args = ["--log", str(log), "--log-sample", "1", "--log-max-bytes", str(SMALL), "--log-files", "3"]
    server = start_server(tiny_model, tmp_path, *args, "--log-hash", str(tiny_model.contract.id_field))
    try:
        assert _wait_mode(log) == 0o600
        for i in range(12):  # about 5 KB a request: rotated past the three files kept
            assert server.request("POST", "/v1/predict", {"instances": _rows(tiny_model, 10, offset=10 * i)})[0] == 200
    finally:
        assert server.stop() == 0
    kept = sorted(p.name for p in tmp_path.glob("predictions.jsonl*"))
    assert kept == ["predictions.jsonl", "predictions.jsonl.1", "predictions.jsonl.2"]
    for path in (log, log.with_name("predictions.jsonl.1"), log.with_name("predictions.jsonl.2")):
        assert _mode(path) == 0o600, path
        assert 0 < path.stat().st_size <= SMALL, path
    records = _lines(log.with_name("predictions.jsonl.2"), log.with_name("predictions.jsonl.1"), log)
    assert [r["id"] for r in records[-2:]] == [_keyed("tx-2024-00118"), _keyed("tx-2024-00119")]  # newest last


def _wait_mode(path: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while _mode(path) != 0o600 and time.monotonic() < deadline:
        time.sleep(0.05)
    return _mode(path)


def test_each_worker_writes_its_own_share_of_the_log(tiny_model: TinyModel, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    args = ["--workers", "2", "--log", str(log), "--log-sample", "1", "--log-max-bytes", str(2 * SMALL)]
    server = start_server(tiny_model, tmp_path, *args, "--log-files", "2")
    try:
        for i in range(20):  # far more than 2 workers x 2 files x 4 KiB hold: one worker rotates at least
            assert server.request("POST", "/v1/predict", {"instances": _rows(tiny_model, 10, offset=10 * i)})[0] == 200
    finally:
        assert server.stop() == 0
    files = sorted(p.name for p in tmp_path.glob("predictions*"))
    assert not log.exists() and set(files) <= {f"predictions-{w}.jsonl{s}" for w in (0, 1) for s in ("", ".1")}
    assert "predictions-0.jsonl.1" in files or "predictions-1.jsonl.1" in files
    for name in files:
        path = tmp_path / name
        assert _mode(path) == 0o600 and path.stat().st_size <= SMALL, name  # the share: 8 KiB / 2 workers
    assert all(r["sample"] == 1.0 for r in _lines(*(tmp_path / n for n in files)))


def test_a_worker_gets_its_own_file_and_share() -> None:
    settings = ServeSettings("m", "0" * 64, workers=4, log="/var/log/rollgate/predictions.jsonl", log_max_bytes=64_000)
    worker = settings.for_worker(3)
    assert (worker.log, worker.log_max_bytes) == ("/var/log/rollgate/predictions-3.jsonl", 16_000)
    assert ServeSettings("m", "0" * 64, workers=4, log="-").for_worker(3).log == "-"
    assert ServeSettings.from_json(worker.to_json()) == worker
