"""A rehearsal given bad input says so in one line on stderr and exits non-zero, before it starts any server
where it can; stopped by Ctrl-C or SIGTERM it exits 130. Either way it leaves nothing running: no process
whose command line or working directory lies under the run's own temporary folder survives it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate import cli
from rollgate.contracts.errors import RollgateError
from rollgate.rehearse import run as rehearse
from rollgate.rehearse import sides
from tests.helpers import BIN, ROOT

pytestmark = pytest.mark.integration

ENV = "staging"
TEMPLATE = "fraud-detector-analysistemplate.yaml"
ROLLOUT = "fraud-detector-rollout.yaml"
SCRATCH = "rollgate-rehearse-"


def _left(marker: str) -> list[str]:
    """Every process (but this one) whose command line or working directory contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        try:
            cwd = str((entry / "cwd").readlink())
        except OSError:
            cwd = ""
        if marker in cmdline or marker in cwd:
            found.append(f"{entry.name}: {cmdline.strip()} (in {cwd})")
    return found


def _nothing_left(marker: str, within_s: float = 10.0) -> list[str]:
    """What is still running under `marker` once `within_s` has passed (a SIGKILLed group may take a moment)."""
    deadline = time.monotonic() + within_s
    while (left := _left(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _kill(pids: list[str]) -> None:
    for line in pids:  # only processes this test's own run started
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


@dataclass
class Run:
    """`rollgate rehearse` as a subprocess, its scratch folders under `tmp` (TMPDIR), its output read as it comes."""

    tmp: Path
    args: tuple[str, ...]
    root: Path = ROOT  # where it runs (the `project` fixture: a clone with the pipeline's outputs)
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    def start(self) -> Run:
        (self.tmp / "tmp").mkdir(exist_ok=True)
        env = {**os.environ, "TMPDIR": str(self.tmp / "tmp"), "PYTHONUNBUFFERED": "1"}
        argv = [str(BIN / "rollgate"), "rehearse", "--env", ENV, "--out", str(self.tmp / "out"), *self.args]
        self.process = subprocess.Popen(
            argv, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=lines: k.extend(iter(s.readline, "")), daemon=True).start()
        return self

    def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout_s)
        time.sleep(0.2)  # the readers' last lines
        return code

    def until(self, seen: Callable[[str], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if any(seen(line) for line in list(self.out)) or self.process.poll() is not None:
                return any(seen(line) for line in list(self.out))
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Whatever happened, nothing of this run is left (its process group, then anything under `tmp`)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _kill(_left(str(self.tmp)))


@pytest.fixture
def rehearsal(tmp_path: Path, project: Path) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def make(*args: str) -> Run:
        runs.append(Run(tmp_path, args, project).start())
        return runs[-1]

    yield make
    for run in runs:
        run.stop()


def _refused(run: Run, *named: str) -> str:
    """The run's one-line refusal, after checking it exited 1 and left nothing behind."""
    code = run.wait(120)
    message = "".join(run.err).strip()
    assert code == 1, f"exit {code}:\n{''.join(run.out)}\n{message}"
    assert message.startswith("rollgate rehearse: error: ") and "\n" not in message, message
    for name in named:
        assert name in message, message
    assert not _nothing_left(str(run.tmp)) and not list((run.tmp / "tmp").glob(f"{SCRATCH}*"))
    return message


def _canary_copy(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of staging's rendered folder as a canary (its pod template changed, so its hash differs), its
    analysis template edited by `change`."""
    folder = Path(shutil.copytree(ROOT / "manifests" / ENV, tmp_path / "canary"))
    for name, edit in ((ROLLOUT, _annotate), (TEMPLATE, change)):
        doc = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        edit(doc)
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


def _annotate(rollout: dict[str, Any]) -> None:
    rollout["spec"]["template"]["metadata"].setdefault("annotations", {})["rollgate.dev/test"] = "canary"


def test_nginx_missing_names_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "nginx" else which(name, *a, **k))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = cli.main(["--root", str(ROOT), "rehearse", "--env", ENV, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err, err
    assert err.startswith("rollgate rehearse: error: nginx is not installed") and "Debian's nginx package" in err
    assert not list(tmp_path.glob(f"{SCRATCH}*")) and not (tmp_path / "out").exists()


@pytest.mark.usefixtures("rehearsal_tools")
def test_an_undeclared_argument_is_refused_by_name(rehearsal: Callable[..., Run]) -> None:
    _refused(rehearsal("--arg", "nope=1"), "nope", "declared by no template")


@pytest.mark.usefixtures("rehearsal_tools")
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--interval", "soon"), ("--interval", "'soon' is not a Go duration")),
        (("--interval", "0s"), ("--interval must be positive",)),
        (("--canary-manifests", "/nonexistent/folder"), ("/nonexistent/folder: no such folder",)),
    ],
    ids=["interval-not-a-duration", "interval-zero", "canary-folder-missing"],
)
def test_bad_settings_are_refused_before_anything_starts(
    rehearsal: Callable[..., Run], args: tuple[str, ...], named: tuple[str, ...]
) -> None:
    _refused(rehearsal(*args), *named)


@pytest.mark.usefixtures("rehearsal_tools")
def test_a_canary_querying_a_metric_nobody_exports_is_refused(rehearsal: Callable[..., Run], tmp_path: Path) -> None:
    def misspell(doc: dict[str, Any]) -> None:
        prometheus = doc["spec"]["metrics"][0]["provider"]["prometheus"]
        prometheus["query"] = prometheus["query"].replace("rollgate_requests_total", "rollgate_nope_total", 1)

    folder = _canary_copy(tmp_path, misspell)
    message = _refused(rehearsal("--canary-manifests", str(folder)), "rollgate_nope_total", "does not export")
    assert "error-rate-delta" in message


@pytest.mark.usefixtures("rehearsal_tools")
def test_a_canary_identical_to_stable_is_refused(rehearsal: Callable[..., Run], tmp_path: Path) -> None:
    folder = Path(shutil.copytree(ROOT / "manifests" / ENV, tmp_path / "same"))
    _refused(rehearsal("--canary-manifests", str(folder)), "nothing to roll out")


@pytest.mark.usefixtures("rehearsal_tools")
@pytest.mark.xdist_group("load")
def test_a_stable_that_never_becomes_ready_is_a_setup_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, project: Path
) -> None:
    """Not an abort: with no stable there is nothing to compare with. Its pod is started as rendered, with
    an argument the server refuses, so it exits at once."""
    folder = Path(shutil.copytree(ROOT / "manifests" / ENV, tmp_path / "stable"))
    doc = yaml.safe_load((folder / ROLLOUT).read_text(encoding="utf-8"))
    doc["spec"]["template"]["spec"]["containers"][0]["args"].append("--no-such-option")
    (folder / ROLLOUT).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    broken = sides.Side("stable", folder, sides.mounted_release(folder), sides.pod_template_hash(folder))
    monkeypatch.setattr(sides, "stable", lambda root, env: broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        with pytest.raises(RollgateError, match="stable never became ready, so there is nothing to compare with"):
            rehearse.rehearse(
                project, rehearse.Options(env=ENV, out=tmp_path / "out", interval="3s"), say=lambda _: None
            )
        assert not _nothing_left(str(tmp_path)) and not list(tmp_path.glob(f"{SCRATCH}*"))
    finally:
        _kill(_left(str(tmp_path)))


@pytest.mark.usefixtures("rehearsal_tools")
@pytest.mark.xdist_group("load")
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.e2e)], ids=["ctrl-c", "sigterm"]
)  # Ctrl-C in make test; SIGTERM (the same handler) in make test-e2e
def test_a_stopped_rehearsal_exits_130_and_leaves_nothing_running(
    rehearsal: Callable[..., Run], sig: signal.Signals
) -> None:
    run = rehearsal("--interval", "3s", "--no-charts")
    assert run.process is not None
    started = run.until(lambda line: " step " in line, 120)
    children = [p for p in _left(str(run.tmp)) if not p.startswith(f"{run.process.pid}:")]
    assert started and children, f"no step started:\n{''.join(run.out)}\n{''.join(run.err)}"
    assert list((run.tmp / "tmp").glob(f"{SCRATCH}*"))  # its scratch folder, where the children run
    run.process.send_signal(sig)
    code = run.wait(30)
    assert code == 130, f"exit {code}:\n{''.join(run.err)}"
    assert "".join(run.err).strip().splitlines()[-1].startswith("rollgate rehearse: stopped")
    assert _nothing_left(str(run.tmp)) == []
    assert not list((run.tmp / "tmp").glob(f"{SCRATCH}*"))
