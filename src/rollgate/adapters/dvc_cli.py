"""The `dvc` command line of this environment: one call with its output, and `make repro` with DVC's
refusals explained."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rollgate.adapters.dvc import PIPELINE
from rollgate.contracts.errors import RollgateError


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, float]:
    """Run the `dvc` command line of this environment in `cwd`: its output and the seconds it took."""
    cmd = [str(Path(sys.executable).parent / "dvc"), *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RollgateError(f"`dvc {' '.join(args)}` failed in {cwd}:\n{done.stdout}{done.stderr}".rstrip())
    return done.stdout + done.stderr, time.perf_counter() - start


# DVC's refusal to overwrite an output whose bytes are in no cache; the paths follow, one a line.
UNSAVED = "Can't remove the following unsaved files"


def _stream(cwd: Path, args: tuple[str, ...]) -> tuple[int, str]:
    """Run `dvc args` with its output on this terminal as it comes; its exit code and its stderr."""
    cmd = [str(Path(sys.executable).parent / "dvc"), *args]
    with subprocess.Popen(cmd, cwd=cwd, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None  # piped above
        lines = []
        for line in proc.stderr:
            sys.stderr.write(line)
            lines.append(line)
    return proc.returncode, "".join(lines)


def _unsaved(root: Path, stderr: str) -> list[str]:
    """The files DVC refused to overwrite, relative to `root`, read from the lines after its refusal."""
    _, found, rest = stderr.partition(UNSAVED)
    names = []
    for line in rest.splitlines()[1:] if found else []:
        if not line.strip() or line.startswith(("ERROR", "WARNING", "Having any troubles")):
            break
        path = Path(line.strip())
        names.append(path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else line)
    return names


def _refusal(root: Path, args: tuple[str, ...], stderr: str) -> str:
    """One message for a failed `dvc args`: DVC's reason and what to do about it."""
    errors = [line.removeprefix("ERROR: ").strip() for line in stderr.splitlines() if line.startswith("ERROR")]
    command, reason = f"`dvc {' '.join(args)}`", errors[-1] if errors else "see its output above"
    files = _unsaved(root, stderr)
    if not files:
        return f"{command} failed ({reason}): fix what it names (`dvc status` lists what changed), then `make repro`"
    listed = " ".join(files)
    return (
        f"{command} refused ({reason}): {', '.join(files)} changed by hand since dvc.lock recorded it. To keep "
        f"the change, copy it elsewhere first (its stage rewrites it: change params.yaml or the code instead); "
        f"to drop it, run `dvc checkout --force {listed}`. Then run `make repro` again"
    )


def repro(root: Path) -> None:
    """`make repro`: fetch what the remote has, then reproduce the pipeline, DVC's output shown as it runs.

    Raises:
        RollgateError: DVC refused or a stage failed, with DVC's reason and the remedy (for an output
            changed by hand: the file, and how to keep or drop the change; DVC refuses before it writes).
    """
    for args in (("pull", "--allow-missing"), ("repro", "--single-item", str(PIPELINE))):
        code, stderr = _stream(root, args)
        if code != 0:
            raise RollgateError(_refusal(root, args, stderr))
