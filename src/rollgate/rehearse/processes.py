"""The rehearsal's child processes: system tools found, started in their own process group with a log
file, polled over HTTP on loopback, and stopped together by a `Stack` whatever ends the rehearsal."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType, TracebackType

from rollgate.contracts.errors import RollgateError

_SYSTEM_DIRS = os.pathsep.join(("/usr/sbin", "/usr/bin"))  # Debian's nginx is in /usr/sbin, often off PATH
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Loopback only: an http_proxy in the environment must never see the rehearsal's requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Terminated(KeyboardInterrupt):
    """SIGTERM reached the rehearsal. A KeyboardInterrupt, so no `except Exception` swallows it and the
    command line treats it like Ctrl-C."""


def tool(name: str, package: str) -> str:
    """The absolute path of the system tool `name` (PATH first, then /usr/sbin and /usr/bin)."""
    found = shutil.which(name) or shutil.which(name, path=_SYSTEM_DIRS)
    if found is None:
        raise RollgateError(
            f"{name} is not installed: the rehearsal needs Debian's {package} package "
            "(`sudo apt-get install nginx prometheus`; `make test-deps`, as root, installs it)"
        )
    return str(Path(found).absolute())  # not resolved: a symlinked tool keeps its name in messages


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports on 127.0.0.1 (all bound at once, so the kernel never repeats one)."""
    with ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def check_free(port: int) -> None:
    """Refuse a port something already listens on (a user may pass the rehearsal's ports)."""
    with socket.socket() as sock:
        # As the servers bind: SO_REUSEADDR ignores closed connections in TIME_WAIT, not listeners.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RollgateError(f"127.0.0.1:{port} is in use ({exc.strerror})") from exc


def http_get(url: str, timeout_s: float) -> tuple[int, bytes]:
    """The status and body of a GET, an HTTP error status included; connection errors raise OSError."""
    try:
        with _OPENER.open(url, timeout=timeout_s) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Process:
    """A started child in its own session (so a terminal's Ctrl-C reaches only the rehearsal, which stops
    it), its stdout and stderr in one log file."""

    def __init__(self, argv: Sequence[str], log: Path, env: Mapping[str, str] | None, cwd: Path | None) -> None:
        self.argv, self.log = list(argv), log
        with log.open("ab") as out:
            try:
                self._popen = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=None if env is None else dict(env), cwd=cwd, start_new_session=True,
                )  # fmt: skip
            except OSError as exc:
                raise RollgateError(f"cannot start {self.argv[0]}: {exc}") from exc

    @property
    def pid(self) -> int:
        return self._popen.pid

    def alive(self) -> bool:
        return self._popen.poll() is None

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM to the process group, SIGKILL to whatever is left after `grace_s`; safe to repeat."""
        if self._popen.returncode is None:
            self._signal(signal.SIGTERM)
            try:
                self._popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._popen.wait()
        self._signal(signal.SIGKILL)  # a group member that outlived its leader (an nginx worker, say)

    def _signal(self, sig: signal.Signals) -> None:
        with suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self._popen.pid, sig)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_http(self, url: str, timeout_s: float, expect: int = 200) -> None:
        """Poll `url` until it answers `expect`; refuse when the process exits or the deadline passes."""
        deadline, last = time.monotonic() + timeout_s, "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RollgateError(self._failure(f"exited ({self._popen.returncode}) before {url} answered"))
            try:
                status, _ = http_get(url, timeout_s=1.0)
            except OSError as exc:
                status, last = 0, str(exc)
            if status == expect:
                return
            last = f"HTTP {status}" if status else last
            time.sleep(0.05)
        raise RollgateError(self._failure(f"did not answer {url} with {expect} within {timeout_s:g} s ({last})"))

    def _failure(self, what: str) -> str:
        return f"{Path(self.argv[0]).name} {what}; the end of {self.log}:\n{self.log_tail()}"


class Stack:
    """Owns started processes and exit callables; on exit (normal, exception, Ctrl-C or SIGTERM) it stops
    them all, last started first, so nothing is left running."""

    def __init__(self) -> None:
        self._exit = ExitStack()
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> Stack:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = {sig: signal.signal(sig, _raise_stop) for sig in _STOP_SIGNALS}
        return self

    def start(
        self,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        grace_s: float = 5.0,
    ) -> Process:
        """Start `argv`, to be stopped at exit with `grace_s` between SIGTERM and SIGKILL."""
        with _held():  # no Ctrl-C between the start and the stop's registration
            process = Process(argv, log, env, cwd)
            self._exit.callback(process.stop, grace_s)
        return process

    def callback(self, fn: Callable[[], object]) -> None:
        """Run `fn` at exit, in the same last-in, first-out order as the processes."""
        self._exit.callback(fn)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # A second Ctrl-C while stopping must not leave the rest running: both signals wait until done,
        # then go to the handlers that were there before.
        with _held():
            try:
                self._exit.close()
            finally:
                for sig, handler in self._previous.items():
                    if handler is not None:  # None: installed outside Python, nothing to put back
                        signal.signal(sig, handler)  # type: ignore[arg-type]


@contextmanager
def _held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (pending, not lost) while the block runs."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Terminated("stopped by SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt
