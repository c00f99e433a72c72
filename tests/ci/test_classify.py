"""`rollgate pr classify`: the kind of a pull request from the files it changes and the trust rules'
judgement of its commits, as a pure decision (tables) and on real git: branches of one reproduced,
promoted project, each a clone made in a moment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from rollgate.ci import classify
from rollgate.ci.summary import FORK_NOTE
from rollgate.contracts import ledger, release
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.ledger import Commit, Judged
from tests.ci.test_runner import parse_outputs
from tests.helpers import APP, BIN, Project, tool_env

PERSON = ("rollgate tests", "tests@rollgate.invalid")


def _judged(kind: str) -> Judged:
    return Judged(Commit("a" * 40, "a commit", PERSON, PERSON, "", {}), kind, "why")


# A pipeline's reads as `classify.reads` finds them (a subset: what the tables below need).
READS = (
    "params.yaml",
    "data",
    "data.dvc",
    "dvc.yaml",
    "dvc.lock",
    "src/rollgate/data",
    "src/rollgate/pipeline/train.py",
    "configs/deploy",
    "manifests/argocd",
    "deploy-state/prod",
    "gates/prod.json",
    "gates/staging.json",
    "manifests/prod/release.json",
    "manifests/staging/release.json",
)
REVERT, RESTORE = [_judged(ledger.REVERT)], [_judged(ledger.RESTORE)]
NOT_UNDOING = [_judged(ledger.START), _judged(ledger.REALLOW), _judged(ledger.UNCHECKED)]

DECISIONS = {
    "params": (["params.yaml"], [], "pipeline", ["params.yaml"]),
    "new data": (["data.dvc"], [], "pipeline", ["data.dvc"]),
    "the pipeline": (["dvc.yaml", "README.md"], [], "pipeline", ["dvc.yaml"]),
    "inside a folder dep": (["src/rollgate/data/x.py"], [], "pipeline", ["src/rollgate/data/x.py"]),
    "a deploy config": (["configs/deploy/prod.yaml"], [], "pipeline", ["configs/deploy/prod.yaml"]),
    "only the relevant, in order": (
        ["docs/a.md", "src/rollgate/pipeline/train.py", "README.md", "params.yaml"],
        [],
        "pipeline",
        ["src/rollgate/pipeline/train.py", "params.yaml"],
    ),
    "docs, README, tests": (["docs/guide.md", "README.md", "tests/ci/test_x.py"], [], "none", []),
    "nothing at all": ([], [], "none", []),
    "a revert alone": (["manifests/prod/x.yaml"], REVERT, "revert", []),
    "a revert with its release record": (
        ["manifests/prod/release.json", "manifests/prod/x.yaml"],
        REVERT,
        "revert",
        [],
    ),
    "what a promotion refreshes": (
        ["manifests/prod/x.yaml", "dvc.lock", "gates/prod.json"],
        REVERT,
        "revert",
        [],
    ),
    "a restore": (["manifests/prod/x.yaml", "dvc.lock"], RESTORE, "revert", []),
    "a revert and docs": (["manifests/prod/x.yaml", "README.md"], REVERT, "revert", []),
    "a revert and params": (["manifests/prod/x.yaml", "params.yaml"], REVERT, "pipeline", ["params.yaml"]),
    "a revert and a deploy config": (
        ["manifests/prod/x.yaml", "gates/prod.json", "configs/deploy/prod.yaml"],
        REVERT,
        "pipeline",
        ["configs/deploy/prod.yaml"],
    ),
    "a hand-edited verdict": (["gates/prod.json"], [], "pipeline", ["gates/prod.json"]),
    "a hand-edited lock": (["dvc.lock"], [], "pipeline", ["dvc.lock"]),
    "a verdict beside commits that undo nothing": (["gates/prod.json"], NOT_UNDOING, "pipeline", ["gates/prod.json"]),
    "a re-allow": (["deploy-state/prod/reallowed/x.txt"], [_judged(ledger.REALLOW)], "pipeline",
                   ["deploy-state/prod/reallowed/x.txt"]),
    "a release record, judged alone": (["manifests/staging/release.json"], [], "none", []),
    "the Argo CD objects, rendered from the configs": (["manifests/argocd/x.yaml"], [], "pipeline",
                                                       ["manifests/argocd/x.yaml"]),
    "the Argo CD objects beside a revert": (["manifests/prod/x.yaml", "manifests/argocd/x.yaml"], REVERT,
                                            "pipeline", ["manifests/argocd/x.yaml"]),
    "prefixes that only look alike": (
        ["paramsXyaml", "params.yaml.orig", "data2/x", "database/x", "src/rollgate/database.py", "gates/prod.json5"],
        [],
        "none",
        [],
    ),
}  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(("changed", "judged", "kind", "relevant"), DECISIONS.values(), ids=DECISIONS.keys())
def test_decide(changed: list[str], judged: list[Judged], kind: str, relevant: list[str]) -> None:
    assert classify.decide(changed, READS, judged) == (kind, tuple(relevant))


UNDER = {
    "the path itself": ("params.yaml", ["params.yaml"], True),
    "a file in the folder": ("data/2024-01/x.parquet", ["data"], True),
    "the folder itself": ("data", ["data"], True),
    "a folder written with a slash": ("src/rollgate/data/x.py", ["src/rollgate/data/"], True),
    "one of several": ("dvc.lock", ["params.yaml", "dvc.lock"], True),
    "no globbing": ("paramsXyaml", ["params.yaml"], False),
    "a longer name": ("params.yaml.orig", ["params.yaml"], False),
    "a sibling folder": ("data2/x", ["data"], False),
    "a sibling file": ("src/rollgate/database.py", ["src/rollgate/data"], False),
    "the parent of a prefix": ("src/rollgate", ["src/rollgate/data"], False),
    "no prefixes": ("params.yaml", [], False),
}


@pytest.mark.unit
@pytest.mark.parametrize(("path", "prefixes", "inside"), UNDER.values(), ids=UNDER.keys())
def test_under(path: str, prefixes: list[str], inside: bool) -> None:
    assert classify.under(path, prefixes) is inside


@pytest.mark.unit
def test_the_summary_shows_the_kind_and_what_was_seen() -> None:
    many = tuple(f"src/rollgate/data/m{i}.py" for i in range(23))
    found = classify.Classified(
        "pipeline", classify.WHY["pipeline"], many, ("prod: abc exact revert: ...",), ("prod: " + "1" * 64,)
    )
    text = classify.markdown(found, fork=False)
    assert text.startswith("### rollgate: a **pipeline** pull request\n\n" + classify.WHY["pipeline"] + ".")
    assert "`src/rollgate/data/m19.py` and 3 more." in text and "m20.py" not in text
    assert "- prod: abc exact revert: ..." in text and f"- prod: {'1' * 64}" in text
    assert FORK_NOTE not in text
    quiet = classify.markdown(classify.Classified("none", classify.WHY["none"]), fork=True)
    assert quiet == f"### rollgate: a **none** pull request\n\n{classify.WHY['none']}.\n\n{FORK_NOTE}"


# --- on real git -----------------------------------------------------------------------------------------


def _declared(root: Path) -> set[str]:
    """Every dep and out dvc.yaml declares, its `foreach` expanded, read with nothing but YAML."""
    found: set[str] = set()
    for stage in yaml.safe_load((root / "dvc.yaml").read_text())["stages"].values():
        items, body = (stage["foreach"], stage["do"]) if "foreach" in stage else ([None], stage)
        for item in items:
            for key in ("deps", "outs", "metrics", "plots"):
                for entry in body.get(key, []):
                    name = entry if isinstance(entry, str) else next(iter(entry))
                    found.add(name if item is None else name.replace("${item}", item))
    return found


@pytest.mark.integration
def test_reads_is_everything_the_pipeline_reads_and_writes(
    promoted_prod: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    reproduced = promoted_prod
    monkeypatch.chdir(reproduced.path)  # where CI runs it (see the cwd test below)
    found = classify.reads(reproduced.path)
    assert _declared(reproduced.path) <= found
    expanded = {"gates/prod.json", "gates/staging.json", "manifests/prod/release.json", "deploy-state/staging"}
    assert expanded | {"params.yaml", "data", "data.dvc", "dvc.yaml", "dvc.lock"} <= found
    assert set(classify.ALSO_READ) <= found
    assert not [p for p in found if "${" in p or p.startswith(("/", "..")) or p.endswith("/")], sorted(found)


@pytest.mark.integration
def test_reads_does_not_depend_on_the_working_directory(promoted_prod: Project, tmp_path: Path) -> None:
    reproduced = promoted_prod
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(reproduced.path)
        here = classify.reads(reproduced.path)
        patch.chdir(tmp_path)
        elsewhere = classify.reads(reproduced.path)
    assert {"data.dvc", "dvc.yaml"} <= elsewhere
    assert elsewhere == here


@pytest.mark.integration
def test_reads_of_a_pipeline_in_a_subfolder_are_repository_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tool_env(tmp_path)
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True, env=env)
    (root / "sub" / "dvc.yaml").write_text("stages:\n  s:\n    cmd: cp data.csv out.txt\n    deps: [data.csv]\n"
                                           "    outs: [out.txt]\n")  # fmt: skip
    (root / "sub" / "data.csv").write_text("a\n1\n")
    monkeypatch.chdir(root)
    assert {"sub/dvc.yaml", "sub/data.csv", "sub/out.txt"} <= classify.reads(root)


@pytest.fixture(scope="module")
def promoted(promoted_prod: Project) -> Project:
    """main: a reproduced project whose model `rollgate promote` pinned in prod (the session's).
    Each test branches from it in a clone (git only: classifying needs no DVC cache)."""
    return promoted_prod


def _head(project: Project) -> str:
    return project.git("rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def pr(promoted: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A pull request's branch from main, checked out in its own clone; the cwd is its root, as in CI."""
    clone = Project(tmp_path / "pr", promoted.env)
    promoted.run("git", "clone", "-q", "--no-hardlinks", str(promoted.path), str(clone.path))
    clone.git("checkout", "-q", "-b", "feature")
    monkeypatch.chdir(clone.path)
    return clone


def _edit(pr: Project, name: str, change: str = "\n# a change\n") -> None:
    path = pr.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + change)


def _promotion(project: Project) -> str:
    """The promotion commit on main (the identity's, touching manifests/prod/)."""
    return project.git("log", "-1", "--format=%H", "--author=rollgate-bot", "--", "manifests/prod").stdout.strip()


def _pinned(project: Project) -> str:
    found = release.read(project.path / "manifests/prod/release.json")
    assert found is not None
    return found.model.sha256


PIPELINE_CHANGES = {
    "params": "params.yaml",
    "new data": "data.dvc",
    "the pipeline": "dvc.yaml",
    "the dataset package": "src/rollgate/data/extra.py",
    "a deploy config": "configs/deploy/staging.yaml",
    "the renderer": "src/rollgate/manifests/templates/rollout.yaml.j2",
    "a verdict by hand": "gates/prod.json",
}


@pytest.mark.integration
@pytest.mark.parametrize("changed", PIPELINE_CHANGES.values(), ids=PIPELINE_CHANGES.keys())
def test_a_change_to_what_the_pipeline_reads_is_a_pipeline_pr(pr: Project, changed: str) -> None:
    base = _head(pr)
    _edit(pr, changed, "\n" if changed.endswith(".json") else "\n# a change\n")
    _edit(pr, "README.md")
    pr.commit(f"change {changed}")
    found = classify.classify(pr.path, base)
    assert (found.kind, found.relevant, found.judged, found.withdraws) == ("pipeline", (changed,), (), ())


@pytest.mark.integration
def test_a_params_change_is_a_pipeline_pr(pr: Project) -> None:
    base = _head(pr)
    params = yaml.safe_load((pr.path / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"]["max_iter"] += 5
    pr.write_params(params)
    pr.commit("train longer")
    found = classify.classify(pr.path, base)
    assert found.kind == "pipeline" and "params.yaml" in found.relevant
    assert found.why == classify.WHY["pipeline"]


@pytest.mark.integration
def test_docs_and_tests_alone_are_nothing_to_run(pr: Project) -> None:
    base = _head(pr)
    _edit(pr, "README.md")
    pr.commit("a clearer README")
    _edit(pr, "docs/guide.md", "# A guide\n")
    _edit(pr, "tests/test_more.py", "def test_more() -> None:\n    pass\n")
    pr.commit("docs and a test")
    found = classify.classify(pr.path, base)
    assert found == classify.Classified("none", classify.WHY["none"])


@pytest.mark.integration
def test_a_hand_edit_of_the_manifests_is_forbidden_naming_the_commit(pr: Project) -> None:
    base = _head(pr)
    _edit(pr, "README.md")
    pr.commit("a README change first")
    _edit(pr, f"manifests/prod/{APP}-rollout.yaml", "# tuned by hand\n")
    edit = pr.commit("tune the rollout by hand")
    with pytest.raises(RollgateError) as raised:
        classify.classify(pr.path, base)
    message = str(raised.value)
    assert message.startswith("1 forbidden change(s) to manifests/<env>/ in this pull request")
    assert f"prod: {edit[:12]} forbidden: changes manifests/prod/" in message
    assert "(tune the rollout by hand)" in message


@pytest.mark.integration
def test_a_promotion_through_a_pull_request_is_forbidden(pr: Project, promoted: Project) -> None:
    """The promotion identity's commit, cherry-picked into a PR (its name and email are easy to forge)."""
    pr.git("revert", "--no-edit", _promotion(pr))  # a main without the promotion: the PR brings it back
    base = _head(pr)
    bot = pr.as_promotion_identity()
    bot.git("cherry-pick", _promotion(promoted))
    with pytest.raises(RollgateError, match=r"promotion never comes through a pull request"):
        classify.classify(pr.path, base)


@pytest.mark.integration
@pytest.mark.parametrize("shape", ["the branch", "GitHub's merge commit"])
def test_a_persons_revert_of_a_promotion_is_a_revert_pr(pr: Project, promoted: Project, shape: str) -> None:
    base, promotion, digest = _head(pr), _promotion(pr), _pinned(pr)
    pr.git("revert", "--no-edit", promotion)
    changed = pr.git("diff", "--name-only", base).stdout.split()
    assert "dvc.lock" in changed and f"manifests/prod/{APP}-rollout.yaml" in changed  # what promotion refreshed
    if shape == "GitHub's merge commit":  # refs/pull/N/merge: base as first parent, the branch as second
        pr.git("checkout", "-q", "--detach", base)
        pr.git("merge", "-q", "--no-ff", "--no-edit", "feature")
    found = classify.classify(pr.path, base)
    assert (found.kind, found.relevant) == ("revert", ())
    assert found.withdraws == (f"prod: {digest}",)
    (judged,) = found.judged
    assert judged.startswith(f"prod: {_head(pr)[:12]} exact revert: restores manifests/prod/ as it was before "
                             f"promotion {promotion[:12]}")  # fmt: skip


@pytest.mark.integration
def test_a_revert_with_a_params_change_is_a_pipeline_pr(pr: Project) -> None:
    base, digest = _head(pr), _pinned(pr)
    pr.git("revert", "--no-edit", _promotion(pr))
    _edit(pr, "params.yaml")
    pr.commit("and train differently")
    found = classify.classify(pr.path, base)
    assert (found.kind, found.relevant, found.withdraws) == ("pipeline", ("params.yaml",), (f"prod: {digest}",))


# --- the command, as the workflow runs it ------------------------------------------------------------------


def _on_a_runner(pr: Project, tmp_path: Path) -> tuple[Project, Path, Path]:
    output, summary = tmp_path / "github_output", tmp_path / "step_summary.md"
    env = {**pr.env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    return Project(pr.path, env), output, summary


@pytest.mark.integration
@pytest.mark.parametrize("fork", ["false", "true"])
def test_the_command_sets_the_kind_and_writes_the_summary(pr: Project, tmp_path: Path, fork: str) -> None:
    base = _head(pr)
    _edit(pr, "params.yaml")
    pr.commit("a params change")
    runner_pr, output, summary = _on_a_runner(pr, tmp_path)
    done = runner_pr.rollgate("pr", "classify", "--base", base, "--fork", fork)
    assert re.search(r"(?m)^kind<<(\S+)\npipeline\n\1$", output.read_text()), output.read_text()
    assert parse_outputs(output.read_text()) == {"kind": "pipeline", "withdraws": ""}
    text = summary.read_text()
    assert text.startswith("### rollgate: a **pipeline** pull request\n") and "`params.yaml`" in text
    assert (FORK_NOTE in text) is (fork == "true")
    assert text.strip() in done.stdout


@pytest.mark.integration
def test_the_command_refuses_a_forbidden_change(pr: Project, tmp_path: Path) -> None:
    base = _head(pr)
    _edit(pr, f"manifests/prod/{APP}-configmap.yaml", "# by hand\n")
    edit = pr.commit("edit the configmap by hand")
    runner_pr, output, summary = _on_a_runner(pr, tmp_path)
    done = runner_pr.rollgate("pr", "classify", "--base", base, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("rollgate pr: error: 1 forbidden change(s)")
    assert f"prod: {edit[:12]} forbidden:" in done.stderr
    assert not output.exists() or "kind" not in parse_outputs(output.read_text())
    text = summary.read_text()
    assert text.startswith("### rollgate: this pull request cannot merge") and edit[:12] in text


@pytest.mark.integration
def test_a_shallow_clone_is_refused(promoted: Project, tmp_path: Path) -> None:
    shallow = Project(tmp_path / "shallow", promoted.env)
    promoted.run("git", "clone", "-q", "--depth", "1", f"file://{promoted.path}", str(shallow.path))
    done = shallow.rollgate("pr", "classify", "--base", "HEAD", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "is a shallow clone" in done.stderr and "git fetch --unshallow" in done.stderr, done.stderr


@pytest.mark.integration
def test_an_unknown_base_is_refused(pr: Project) -> None:
    done = pr.rollgate("pr", "classify", "--base", "0" * 40, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"--base {'0' * 40}: not a commit in this repository" in done.stderr
