"""Ownership and project files: CODEOWNERS covers everything that decides or ships a model, the licence
is the one pyproject.toml declares, and there is a security policy."""

from __future__ import annotations

import fnmatch
import tomllib

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.unit

# What must need an owner's review (the trust model's paths): a file or a file inside each folder.
OWNED = (
    "manifests/prod/release.json",
    "manifests/argocd/kustomization.yaml",
    "deploy-state/prod/adopted.json",
    "configs/deploy/prod.yaml",
    "configs/monitor/suppressions.yaml",  # a suppression silences the monitor: reviewed
    "params.yaml",
    "src/rollgate/gate/decide.py",
    "src/rollgate/pipeline/gate.py",
    "dvc.yaml",
    "data.dvc",
    "Makefile",
    "src/rollgate/model/artifact.py",
    "requirements/lock.txt",
    "Dockerfile",
    "schemas.lock",
    ".github/workflows/pr.yml",
    ".github/actions/setup/action.yml",
)


def rules(text: str) -> list[tuple[str, list[str]]]:
    """CODEOWNERS lines as (pattern, owners), in order; comments and blank lines dropped."""
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            found.append((words[0], words[1:]))
    return found


def matches(pattern: str, path: str) -> bool:
    """GitHub's CODEOWNERS matching for the pattern shapes used here: /anchored, folder/ and files."""
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        return path.startswith(pattern) if anchored else f"/{pattern}" in f"/{path}"
    return fnmatch.fnmatch(path, pattern) if anchored else fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern)


def owners(found: list[tuple[str, list[str]]], path: str) -> list[str]:
    """The owners of `path`: the last matching rule wins."""
    last: list[str] = []
    for pattern, who in found:
        if matches(pattern, path):
            last = who
    return last


@pytest.mark.parametrize("path", OWNED)
def test_codeowners_covers_what_decides_or_ships_a_model(path: str) -> None:
    found = rules((ROOT / ".github/CODEOWNERS").read_text())
    assert owners(found, path), f"{path}: no CODEOWNERS rule gives it an owner"


def test_every_codeowners_rule_names_an_owner() -> None:
    for pattern, who in rules((ROOT / ".github/CODEOWNERS").read_text()):
        assert who and all(w.startswith("@") or "@" in w for w in who), pattern


def test_the_matcher_is_not_trivially_true() -> None:
    found = rules("/manifests/ @a\n/params.yaml @b\n")
    assert owners(found, "manifests/prod/x.yaml") == ["@a"]
    assert owners(found, "params.yaml") == ["@b"]
    assert owners(found, "docs/params.yaml") == []
    assert owners(found, "README.md") == []


def test_the_licence_is_the_declared_one_and_there_is_a_security_policy() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert "Reporting a vulnerability" in (ROOT / "SECURITY.md").read_text()
