"""rollgate-askpass: git's GIT_ASKPASS for pushes with the App token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rollgate.ci import askpass

pytestmark = pytest.mark.unit


def test_it_answers_the_user_name_and_the_token() -> None:
    assert askpass.answer("Username for 'https://github.com': ", "ghs_x") == "x-access-token"
    assert askpass.answer("Password for 'https://x-access-token@github.com': ", "ghs_x") == "ghs_x"


@pytest.mark.parametrize(
    ("prompt", "token", "error"),
    [
        ("Password for 'https://github.com': ", None, "ROLLGATE_PUSH_TOKEN is not set"),
        ("Password for 'https://github.com': ", "", "ROLLGATE_PUSH_TOKEN is not set"),
        ("Enter passphrase for key '/root/.ssh/id_ed25519': ", "ghs_x", "not for a user name or password"),
    ],
)
def test_it_refuses_what_it_cannot_answer(prompt: str, token: str | None, error: str) -> None:
    with pytest.raises(SystemExit, match=error):
        askpass.answer(prompt, token)


def test_the_installed_script_is_what_git_runs() -> None:
    script = Path(sys.executable).parent / "rollgate-askpass"
    assert script.exists(), "pyproject's [project.scripts] installs rollgate-askpass"
    env = {"ROLLGATE_PUSH_TOKEN": "ghs_installed", "PATH": ""}
    prompt = "Password for 'https://github.com': "
    done = subprocess.run([str(script), prompt], env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "ghs_installed\n")
