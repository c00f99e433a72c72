"""The rehearsal's process layer: tools found or refused with the fix, ports, and a Stack that leaves
nothing running, whatever ends it (an exception, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse.processes import Stack, check_free, free_ports, tool

pytestmark = pytest.mark.integration


def _gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether `pid` exits within `within_s` (a zombie waiting for init counts as gone)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_missing_tool_names_the_package_and_the_make_target() -> None:
    with pytest.raises(RollgateError, match=r"no-such-tool is not installed.*apt-get install.*make test-deps"):
        tool("no-such-tool", "nginx")


def test_a_tool_is_found_by_its_absolute_path() -> None:
    assert Path(tool("sh", "dash")).is_absolute()


def test_free_ports_are_distinct_and_a_port_in_use_is_refused() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    check_free(ports[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RollgateError, match=f"127.0.0.1:{port} is in use"):
            check_free(port)


def test_waiting_on_a_process_that_exits_raises_with_its_log(tmp_path: Path) -> None:
    with Stack() as stack:
        process = stack.start(["sh", "-c", "echo cannot bind; exit 3"], tmp_path / "out.log")
        with pytest.raises(RollgateError, match=r"(?s)sh exited \(3\) before .*cannot bind"):
            process.wait_http(f"http://127.0.0.1:{free_ports(1)[0]}/", timeout_s=10)


def test_the_stack_stops_every_process_and_its_children_on_an_exception(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    with pytest.raises(ValueError), Stack() as stack:
        first = stack.start(["sleep", "1000"], tmp_path / "first.log")
        # It ignores SIGTERM (and so does its child): only the SIGKILL after the grace period ends them.
        argv = ["sh", "-c", f"trap '' TERM; sleep 1000 & echo $! > {pidfile}; wait"]
        stubborn = stack.start(argv, tmp_path / "stubborn.log", grace_s=0.3)
        while not pidfile.exists() or not pidfile.read_text().strip():
            time.sleep(0.02)
        raise ValueError("the rehearsal failed")
    assert not first.alive() and not stubborn.alive()
    assert _gone(int(pidfile.read_text()))
    first.stop()  # idempotent


def test_the_stack_restores_the_signal_handlers_it_replaced() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with Stack():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_stack_stops_its_processes_when_the_rehearsal_is_interrupted(tmp_path: Path, sig: signal.Signals) -> None:
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from rollgate.rehearse.processes import Stack
        with Stack() as stack:
            child = stack.start(["sleep", "1000"], Path({str(tmp_path / "sleep.log")!r}))
            print(child.pid, flush=True)
            time.sleep(60)
    """)
    rehearsal = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert rehearsal.stdout is not None
    child = int(rehearsal.stdout.readline())
    rehearsal.send_signal(sig)
    _, err = rehearsal.communicate(timeout=20)
    assert rehearsal.returncode != 0
    assert ("Terminated: stopped by SIGTERM" if sig == signal.SIGTERM else "KeyboardInterrupt") in err
    assert _gone(child, within_s=0.5)
