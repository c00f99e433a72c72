"""Where the prediction log's lines go: stdout, or files created 0600, bounded and rotated.

A file holds at most `max_bytes`; the line that would cross the bound goes to a fresh file after the
full one is renamed `<name>.1` (`.1` becoming `.2`, and so on), so at most `files` files exist, the
current one included: the log never takes more than `files` x `max_bytes` of the volume. A line
longer than a whole file may be is not written at all (the caller counts it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO, Protocol

MODE = 0o600  # the log holds what clients sent: readable by the server's user only
_BUFFER = 64 * 1024


class Sink(Protocol):
    def write(self, line: bytes) -> bool: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Stdout:
    """Lines on stdout: the container runtime bounds and rotates them."""

    def write(self, line: bytes) -> bool:
        sys.stdout.buffer.write(line)
        return True

    def flush(self) -> None:
        sys.stdout.buffer.flush()

    def close(self) -> None:
        self.flush()


def _open(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, MODE)
    try:
        os.fchmod(fd, MODE)  # a file left by an earlier run, or created by another hand, is 0600 too
        return os.fdopen(fd, "ab", buffering=_BUFFER)
    except OSError:
        os.close(fd)
        raise


class RotatingFile:
    """Appends lines to `path`, rotating before a line would take it past `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int, files: int) -> None:
        self.path, self.max_bytes, self.files = path, max_bytes, files
        self._out = _open(path)
        self.size = os.fstat(self._out.fileno()).st_size  # appending to what an earlier run left

    def write(self, line: bytes) -> bool:
        """Append one line; False, writing nothing, when it is longer than a whole file may be."""
        if len(line) > self.max_bytes:
            return False
        if self.size + len(line) > self.max_bytes:
            self._rotate()
        self._out.write(line)
        self.size += len(line)
        return True

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()

    def rotated(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def _rotate(self) -> None:
        self._out.close()
        for index in range(self.files - 1, 1, -1):  # .1 -> .2 ... ; the oldest is replaced
            if self.rotated(index - 1).exists():
                self.rotated(index - 1).replace(self.rotated(index))
        if self.files > 1:
            if self.path.exists():  # gone if someone removed it meanwhile: nothing to keep
                self.path.replace(self.rotated(1))
        else:
            self.path.unlink(missing_ok=True)
        self._out = _open(self.path)
        self.size = 0


def open_sink(sink: str, max_bytes: int, files: int) -> Sink:
    """`-` for stdout, else a file path (on a mounted writable volume: the root filesystem is read-only)."""
    return Stdout() if sink == "-" else RotatingFile(Path(sink), max_bytes, files)
