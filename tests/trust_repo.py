"""Small real git repositories for the trust rules: a bare origin, the shipped deploy configs, and
commits made by the promotion identity, by people, and by forgers (no DVC, no training)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from rollgate.adapters import history
from rollgate.adapters import identity as identities
from rollgate.contracts import jsonio, paths, release, trailers
from rollgate.contracts.trailers import History, Identity
from tests.helpers import ROOT, tool_env

BOT: Identity = identities.load(ROOT, "prod")  # the shipped promotion identity
PERSON = Identity("rollgate tests", "tests@rollgate.invalid")  # who the tests' other commits are by
V1, V2, V3 = "1" * 64, "2" * 64, "3" * 64


def record(env: str, sha256: str) -> dict[str, object]:
    """A schema-valid release record pinning `sha256` (its other fields do not matter to history)."""
    shipped = release.loads((ROOT / "tests/contracts/release_example.json").read_text(), "example")
    assert shipped is not None
    raw = shipped.to_dict()
    raw.update(env=env, model={**raw["model"], "sha256": sha256})
    return raw


class Repo:
    """A work tree cloned from a bare origin, every environment pinning no model in its first commit."""

    def __init__(self, base: Path) -> None:
        self.base, self.path, self.env = base, base / "work", tool_env(base)
        origin = str(base / "origin.git")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], check=True)
        subprocess.run(["git", "clone", "-q", origin, str(self.path)], check=True, capture_output=True)
        self.git("checkout", "-q", "-b", "main")
        shutil.copytree(ROOT / "configs" / "deploy", self.path / "configs" / "deploy")
        for env in ("prod", "staging"):
            jsonio.write(self.path / paths.release_record(env), release.empty(env))
        self.commit("start")

    def git(self, *args: str, who: Identity | None = None, check: bool = True) -> str:
        env = {**self.env, **(who or PERSON).git_env()}
        done = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
        return done.stdout.strip()

    def write(self, name: str, text: str) -> None:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        (self.path / name).write_text(text)

    def commit(self, subject: str, body: str = "", who: Identity = PERSON, sign: bool = False) -> str:
        self.git("add", "-A")
        bodies = ["-m", body] if body else []
        self.git("commit", "-q", "--allow-empty", *(["-S"] if sign else []), "-m", subject, *bodies, who=who)
        self.git("push", "-q", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")

    def promote(
        self, sha256: str, env: str = "prod", who: Identity = BOT, verdict: str = "promote", sign: bool = False
    ) -> str:
        """A promotion commit as `rollgate promote` makes it: record, a rendered file, the trailer block."""
        jsonio.write(self.path / paths.release_record(env), record(env, sha256))
        self.write(f"manifests/{env}/app-rollout.yaml", f"model: {sha256}\nimage: one\n")
        block = "\n".join(
            [f"{trailers.ENV}: {env}", f"{trailers.MODEL_SHA256}: {sha256}", f"{trailers.VERDICT}: {verdict}"]
        )
        return self.commit(f"deploy({env}): model {sha256[:12]}", f"The gate said {verdict}.\n\n{block}", who, sign)

    def rerender(self, image: str, env: str = "prod", who: Identity = BOT) -> str:
        """A re-render: the same model, another image, `Rollgate-Rerender` = the folder's new tree id."""
        rollout = self.path / f"manifests/{env}/app-rollout.yaml"
        rollout.write_text(rollout.read_text().split("image:")[0] + f"image: {image}\n")
        self.git("add", "-A")
        render = self.git("rev-parse", f"{self.git('write-tree')}:manifests/{env}")
        block = f"{trailers.ENV}: {env}\n{trailers.RERENDER}: {render}"
        return self.commit(f"deploy({env}): re-render", f"A new image.\n\n{block}", who)

    def revert(self, commit: str, who: Identity = PERSON) -> str:
        self.git("revert", "--no-edit", commit, who=who)
        self.git("push", "-q", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")

    def reallow(self, sha256: str, env: str = "prod", why: str = "the incident was the feature store") -> str:
        self.write(trailers.reallow(env, sha256).as_posix(), why + "\n")
        return self.commit(f"re-allow {sha256[:12]} in {env}")

    def shallow_clone(self, dest: Path) -> Path:
        """A `--depth 1` clone of the origin: what CI's default checkout gives."""
        origin = f"file://{self.base / 'origin.git'}"
        subprocess.run(["git", "clone", "-q", "--depth", "1", origin, str(dest)], check=True, capture_output=True)
        return dest

    def tree(self, rev: str = "HEAD", env: str = "prod") -> str:
        return self.git("rev-parse", f"{rev}:manifests/{env}")

    def history(self, env: str = "prod") -> History:
        return history.read(self.path, env)
