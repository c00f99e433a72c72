"""`rollgate check-manifests --preview`, a pull request's check: what merging would render for each
environment, into a temporary directory (never manifests/), strictly validated; a broken render fails
naming its environment, and an environment whose verdict deploys nothing renders nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import jinja2
import pytest

from rollgate.contracts import paths, verdict
from rollgate.delivery import preview_check
from rollgate.manifests import render
from tests.helpers import APP, Project, copy_project

pytestmark = [pytest.mark.integration, pytest.mark.requires_schemas]

ENVS = ("prod", "staging")


def _valid(env: str) -> re.Pattern[str]:
    return re.compile(rf"^{env}: what merging would render is valid \([0-9]+ manifests, strict schemas\)$", re.M)


def _manifests(project: Project) -> str:
    """One digest of every file under manifests/ (names and bytes) and of git's view of the work tree."""
    digest = hashlib.sha256()
    base = project.path / "manifests"
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    status = project.git("status", "--porcelain", "--untracked-files=all").stdout
    return digest.hexdigest() + "\n" + status


def _set_staging(project: Project, key: str, value: str) -> None:
    """Give the top-level or nested `key:` of configs/deploy/staging.yaml the quoted `value` (one line)."""
    config = project.path / paths.DEPLOY_CONFIGS / "staging.yaml"
    text, count = re.subn(rf"(?m)^(\s*{key}:) \S+", rf'\1 "{value}"', config.read_text())
    assert count == 1
    config.write_text(text)


def _preview(project: Project, schemas: Path) -> tuple[int, str, str]:
    done = project.rollgate("check-manifests", "--preview", "--schemas", str(schemas), check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def test_what_merging_renders_is_valid_and_nothing_is_written(reproduced: Project, schemas: Path) -> None:
    before = _manifests(reproduced)
    code, out, err = _preview(reproduced, schemas)
    assert (code, err) == (0, ""), err
    for env in ENVS:
        assert len(_valid(env).findall(out)) == 1, out
    assert len(out.strip().splitlines()) == len(ENVS) + 1  # and the Argo CD objects' line
    assert "manifests/argocd: what configs/deploy renders, and valid" in out
    assert _manifests(reproduced) == before, "the preview must write nothing under manifests/"


BROKEN = {  # a prometheus_url the deploy config accepts (it starts with http://) but the render lint refuses
    "an undeclared Argo arg": ("http://prometheus:9090/{{args.tenant}}", "{{args.x}} names undeclared args: tenant"),
    "a leftover template token": ("http://prometheus:9090/[[tenant]]", "leftover template token '[['"),
}


@pytest.mark.parametrize(("url", "error"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_render_fails_naming_its_environment(
    reproduced: Project, schemas: Path, tmp_path: Path, url: str, error: str
) -> None:
    project = copy_project(reproduced, tmp_path)
    _set_staging(project, "prometheus_url", url)
    before = _manifests(project)
    code, out, err = _preview(project, schemas)
    assert code == 1
    (problem,) = err.strip().splitlines()
    assert problem.startswith(f"staging: {APP}-analysistemplate.yaml") and error in problem, problem
    assert _valid("prod").search(out) and not _valid("staging").search(out), out
    assert _manifests(project) == before


def test_an_environment_whose_verdict_is_reject_deploys_nothing(
    reproduced: Project, schemas: Path, tmp_path: Path
) -> None:
    project = copy_project(reproduced, tmp_path)
    gate = project.path / paths.gate_verdict("staging")
    found = verdict.read(gate)
    failed = verdict.Reason("floor.roc_auc", False, "roc_auc below the floor")
    verdict.write(gate, dataclasses.replace(found, verdict="reject", reasons=(*found.reasons, failed)))
    code, out, err = _preview(project, schemas)
    assert (code, err) == (0, ""), err
    assert "staging: merging deploys nothing here (nothing to render)" in out.splitlines()
    assert _valid("prod").search(out) and not _valid("staging").search(out), out


def test_a_schema_failure_names_its_environment(
    reproduced: Project, schemas: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A misspelt field in the rollout template (loaded ahead of the packaged one) fails both environments."""
    source = (Path(render.__file__).parent / "templates" / "rollout.yaml.j2").read_text()
    (tmp_path / "rollout.yaml.j2").write_text(source.replace("progressDeadlineAbort:", "progressDeadlineAbrot:"))
    original = render.environment

    def with_typo() -> jinja2.Environment:
        env = original()
        env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(tmp_path), env.loader])  # type: ignore[list-item]
        return env

    monkeypatch.setattr(render, "environment", with_typo)
    assert preview_check.check(reproduced.path, schemas) == 1
    problems = capsys.readouterr().err.strip().splitlines()
    assert len(problems) == len(ENVS) and all("progressDeadlineAbrot" in p for p in problems), problems
    assert sorted(p.split(":", 1)[0] for p in problems) == sorted(ENVS), problems


def test_argocd_objects_must_be_what_the_configs_render(reproduced: Project, schemas: Path, tmp_path: Path) -> None:
    """manifests/argocd/ is rendered by whoever changes the configs: a pull request's hand edit fails."""
    project = copy_project(reproduced, tmp_path)
    project.rollgate("render", "--argocd")
    code, _, err = _preview(project, schemas)
    assert (code, err) == (0, ""), err
    target = next((project.path / "manifests/argocd").glob("*applicationset*.yaml"))
    target.write_text(target.read_text() + "# edited by hand\n")
    code, _, err = _preview(project, schemas)
    assert code == 1
    assert "manifests/argocd differs from what configs/deploy renders" in err and "edited by hand" in err


def test_an_unsupported_kubernetes_version_is_one_clear_error(
    reproduced: Project, schemas: Path, tmp_path: Path
) -> None:
    project = copy_project(reproduced, tmp_path)
    _set_staging(project, "kubernetes_version", "1.5.0")
    code, _, err = _preview(project, schemas)
    assert code == 1
    assert "staging: " in err and "Kubernetes 1.5.0 is not a version kubernetes-validate has schemas for" in err
