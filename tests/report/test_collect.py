"""`rollgate report --base` in a real repository: a pull request that adds a shifted week and changes a
param, reproduced, then reported against the base commit (data read back from the DVC cache)."""

from __future__ import annotations

import pytest

from rollgate.contracts import paths
from tests.helpers import Project, copy_project, tiny_params

pytestmark = [pytest.mark.integration, pytest.mark.example]  # the example's generator makes the shifted week


@pytest.fixture(scope="module")
def pull_request(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    project = copy_project(seed_project, tmp_path_factory.mktemp("report"))
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    project.dvc("push", "-q")
    base = project.commit("main: pipeline reproduced")
    project.git("checkout", "-q", "-b", "more-data")
    project.rollgate("data", "generate", "--weeks", "1", "--start-week", "4", "--rows-per-week", "2000",
                     "--shift", "amount_inflation")  # fmt: skip
    project.dvc("add", "-q", "data")
    project.write_params(tiny_params(train={"hist_gradient_boosting": {"max_iter": 30}}))
    project.dvc("repro", "-q", "--single-item", "dvc.yaml")
    return project, base


def test_report_shows_params_data_and_verdict(pull_request: tuple[Project, str]) -> None:
    project, base = pull_request
    done = project.rollgate("report", "--base", base)
    out = project.path / "reports" / "pr.md"
    assert project.path / done.stdout.strip() == out
    text = out.read_text()
    assert "| `train.hist_gradient_boosting.max_iter` | `25` | `30` |" in text
    assert "8,000 → 10,000 rows (+2,000); files added 1, removed 0, changed 0." in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    shifted = [r for r in rows if "mean" in r or "%" in r]
    assert shifted[0].startswith("| `amount` |")  # amount_inflation moves the new week's amounts most
    base_mean, new_mean = (float(cell.split()[1]) for cell in shifted[0].split("|")[4:6])
    assert new_mean > 1.1 * base_mean
    assert "Gate verdict" in text and "Data validation passed" in text
    assert f"`dvc plots diff {base}`" in text


def test_report_with_a_plots_url(pull_request: tuple[Project, str]) -> None:
    project, base = pull_request
    project.rollgate("report", "--base", base, "--out", "out/pr.md", "--plots-url", "https://ci.example/run/1/")
    text = (project.path / "out" / "pr.md").read_text()
    assert f"(https://ci.example/run/1/{paths.PLOT_ROC})" in text


def test_an_unknown_base_is_a_clear_error(pull_request: tuple[Project, str]) -> None:
    project, _ = pull_request
    done = project.rollgate("report", "--base", "no-such-branch", check=False)
    assert done.returncode == 1
    assert "--base no-such-branch: not a commit" in done.stderr
