"""The workflow rules over every workflow and composite action here, and each rule firing on a bad document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.workflows import rules
from tests.workflows.rules import Document, Problem

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FILES = rules.discover(ROOT)
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"

# Keeps every rule: the bad documents below are this one with one thing changed.
GOOD = f"""\
name: good
on:
  pull_request:
permissions: {{}}
concurrency:
  group: good-${{{{ github.ref }}}}
  cancel-in-progress: true
jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: {CHECKOUT} # v7.0.1
        with:
          persist-credentials: false
          fetch-depth: 0
      - uses: ./.github/actions/setup
      - run: sudo make test-deps
      - run: make test
      - run: make test-e2e
  comment:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    needs: test
    permissions:
      pull-requests: write
    steps:
      - uses: {CHECKOUT} # v7.0.1
        with:
          ref: ${{{{ github.event.pull_request.base.sha }}}}
          persist-credentials: false
          fetch-depth: 0
      - name: post the report
        run: gh pr comment "$PR" --body-file report.md
        env:
          PR: ${{{{ github.event.pull_request.number }}}}
"""

GOOD_ACTION = """\
name: setup
description: the project's venv
runs:
  using: composite
  steps:
    - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0
      with:
        python-version: "3.11"
    - run: make install
      shell: bash
"""


def _variant(old: str, new: str, text: str = GOOD) -> Document:
    assert old in text, f"the good document has no {old!r} to change"
    return rules.parse("bad.yml", text.replace(old, new, 1))


def _fires(rule: Callable[[Document], list[Problem]], doc: Document, expected: str) -> list[Problem]:
    problems = rule(doc)
    assert any(expected in str(p) for p in problems), f"{rule.__name__} missed {expected!r}: {problems}"
    return problems


# -- the repository's own files --------------------------------------------------------------------------


def test_the_workflows_are_found() -> None:
    assert ".github/workflows/ci.yml" in [p.relative_to(ROOT).as_posix() for p in FILES]


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda r: r.__name__)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_workflow_and_action_keeps_the_rule(path: Path, rule: Callable[[Document], list[Problem]]) -> None:
    problems = rule(rules.load(path, ROOT))
    assert not problems, "\n".join(map(str, problems))


def test_ci_runs_test_deps_then_test_then_e2e() -> None:
    problems = rules.suites_in_order(rules.load(ROOT / ".github/workflows/ci.yml", ROOT))
    assert not problems, "\n".join(map(str, problems))


# -- the good documents keep every rule ------------------------------------------------------------------


def test_the_good_documents_keep_every_rule() -> None:
    assert rules.check(rules.parse("good.yml", GOOD)) == []
    assert rules.suites_in_order(rules.parse("good.yml", GOOD)) == []
    assert rules.check(rules.parse(".github/actions/setup/action.yml", GOOD_ACTION)) == []


def test_on_is_read_as_the_triggers_not_as_true() -> None:
    doc = rules.parse("w.yml", GOOD)
    assert True not in doc.data
    assert rules.triggers(doc) == {"pull_request": None}
    assert rules.triggers(_variant("on:\n  pull_request:\n", "on: [push, pull_request]\n")) == dict.fromkeys(
        ["push", "pull_request"]
    )


# -- each rule fires -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("permissions: {}\n", "", "bad.yml: top-level permissions must be {}"),
        ("permissions: {}\n", "permissions:\n  contents: read\n", "top-level permissions must be {}"),
        ("    permissions:\n      contents: read\n", "    permissions: read-all\n", "job test: permissions must be a"),
        ("    permissions:\n      contents: read\n", "    permissions: write-all\n", "not 'write-all'"),
        ("    permissions:\n      contents: read\n", "", "job test: permissions must be a mapping of scopes"),
    ],
)
def test_permissions_fire(old: str, new: str, expected: str) -> None:
    _fires(rules.permissions, _variant(old, new), expected)


@pytest.mark.parametrize(
    "on", ["on: pull_request_target\n", "on: [push, pull_request_target]\n", "'on':\n  pull_request_target:\n"]
)
def test_pull_request_target_fires(on: str) -> None:
    _fires(rules.triggers_safe, _variant("on:\n  pull_request:\n", on), "bad.yml: triggered by pull_request_target")


def test_workflow_run_checking_out_the_runs_code_fires() -> None:
    doc = _variant("on:\n  pull_request:\n", "on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n")
    assert rules.triggers_safe(doc) == []  # checking out the default branch is fine
    head = "ref: ${{ github.event.workflow_run.head_sha }}"
    bad = _variant("ref: ${{ github.event.pull_request.base.sha }}", head, "\n".join(doc.lines) + "\n")
    _fires(rules.triggers_safe, bad, "job comment: step 1 (actions/checkout@")


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("actions/checkout@v7.0.1 # v7.0.1", "is neither a local ./ path nor owner/repo@<40-hex"),
        ("docker://alpine:3.20", "is neither a local ./ path"),
        (f"{CHECKOUT[:-1]}0 # v7.0.1", "pins a commit that is not among the verified pins"),
        (f"{CHECKOUT}", "has no '# v7.0.1' version comment on its line"),
        (f"{CHECKOUT} # v6.0.0", "says # v6.0.0 but that commit is v7.0.1"),
        ("actions/setup-python@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "pins actions/checkout's commit"),
    ],
)
def test_pinned_uses_fire(new: str, expected: str) -> None:
    problems = _fires(rules.pinned_uses, _variant(f"{CHECKOUT} # v7.0.1", new), expected)
    assert all(str(p).startswith("bad.yml: job test: step 1 (") for p in problems)


def test_the_version_comment_is_read_from_the_steps_own_line() -> None:
    # The second checkout lost its comment; the first one's must not stand in for it.
    text = GOOD.replace(
        f"{CHECKOUT} # v7.0.1\n        with:\n          ref:", f"{CHECKOUT}\n        with:\n          ref:"
    )
    assert text != GOOD
    problems = rules.pinned_uses(rules.parse("bad.yml", text))
    assert [str(p) for p in problems] == [
        f"bad.yml: job comment: step 1 ({CHECKOUT}): uses '{CHECKOUT}' has no '# v7.0.1' version comment on its line"
    ]


def test_a_reusable_workflow_call_is_pinned_too() -> None:
    call = "  reuse:\n    uses: octo/flows/.github/workflows/x.yml@main\n    permissions: {}\n"
    _fires(rules.pinned_uses, rules.parse("bad.yml", GOOD + call), "bad.yml: job reuse: uses 'octo/flows/")


FIRST_CHECKOUT = "persist-credentials: false\n          fetch-depth: 0\n      - uses: ./"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (FIRST_CHECKOUT.replace("persist-credentials: false\n          ", ""), "set persist-credentials: false"),
        (FIRST_CHECKOUT.replace("false\n          fetch-depth: 0", "true"), "set fetch-depth: 0 (no shallow clone)"),
        (FIRST_CHECKOUT.replace("fetch-depth: 0", "fetch-depth: 1"), "set fetch-depth: 0"),
    ],
)
def test_checkout_options_fire(new: str, expected: str) -> None:
    problems = _fires(rules.checkout_options, _variant(FIRST_CHECKOUT, new), expected)
    assert all(str(p).startswith(f"bad.yml: job test: step 1 ({CHECKOUT}): actions/checkout must") for p in problems)


@pytest.mark.parametrize("run", ["make test PR=${{ github.event.number }}", 'gh pr comment "${{ github.head_ref }}"'])
def test_run_expressions_fire(run: str) -> None:
    doc = _variant("run: make test\n", f"run: {json.dumps(run)}\n")
    _fires(rules.no_run_expressions, doc, "job test: step 4 (")


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("make test\nmake test-e2e", "more than one line"),
        ("make test && make test-e2e", "shell &&:"),
        ("make test || true", "shell ||:"),
        ("make test; make test-e2e", "shell ;:"),
        ("make test | tee log", "shell |:"),
        ("make test &", "shell &:"),
        ("make test VERSION=$(cat VERSION)", "shell $("),
        ("make test VERSION=`cat VERSION`", "shell `"),
        ("if make test then make test-e2e fi", "shell keywords fi, if, then"),
        ("make for x in a", "shell keywords for"),
        ("python -m pytest", "run starts with 'python'"),
        ("echo hello", "run starts with 'echo'"),
        ("./.venv/bin/rollgate report", "run starts with './.venv/bin/rollgate'"),
        ("", "run starts with 'nothing'"),
        ("sudo make test", "sudo is only for `sudo make test-deps`"),
        ("sudo rollgate promote", "sudo is only"),
    ],
)
def test_thin_steps_fire(run: str, expected: str) -> None:
    doc = _variant("run: make test\n", f"run: {json.dumps(run)}\n")
    problems = _fires(rules.thin_steps, doc, expected)
    label = run.split("\n", maxsplit=1)[0][:40]
    assert [str(p).split("): ", maxsplit=1)[0] for p in problems] == [f"bad.yml: job test: step 4 ({label}"]


@pytest.mark.parametrize(
    "run",
    [
        "make test",
        "make test\n",
        "rollgate report --out report.md",
        "dvc pull",
        "gh pr view",
        "sudo make test-deps",
        "sudo make rehearse-deps",
    ],
)
def test_thin_steps_pass(run: str) -> None:
    assert rules.thin_steps(_variant("run: make test\n", f"run: {json.dumps(run)}\n")) == []


def test_a_composite_actions_run_steps_follow_the_same_rules() -> None:
    doc = _variant("run: make install\n", 'run: "pip install -r req.txt && echo ${{ inputs.x }}"\n', GOOD_ACTION)
    _fires(rules.thin_steps, doc, "bad.yml: step 2 (pip install -r req.txt && echo ${{ input): run uses shell &&")
    _fires(rules.no_run_expressions, doc, "bad.yml: step 2 (")
    pinned = _variant("5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0", "v7", GOOD_ACTION)
    _fires(rules.pinned_uses, pinned, "bad.yml: step 1 (actions/setup-python@v7)")


def test_timeouts_fire() -> None:
    _fires(rules.timeouts, _variant("    timeout-minutes: 5\n", ""), "bad.yml: job comment: job has no timeout-minutes")


BASE_REF = "          ref: ${{ github.event.pull_request.base.sha }}\n"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("pull-requests: write", "contents: write", "job comment: a pull_request workflow grants contents: write"),
        ("contents: read", "contents: write", "job test: a pull_request workflow grants contents: write"),
        (BASE_REF, "", "job comment: step 1 ("),
        (BASE_REF, BASE_REF.replace("base", "head"), "job can write (pull-requests) so its checkout must pass exactly"),
        (BASE_REF, f"{BASE_REF}          repository: x/y\n", "so its checkout must not name another repository"),
    ],
)
def test_pull_request_writes_fire(old: str, new: str, expected: str) -> None:
    _fires(rules.pull_request_writes, _variant(old, new), expected)


def test_a_push_workflow_may_write_and_check_out_its_own_ref() -> None:
    doc = _variant("on:\n  pull_request:\n", "on:\n  push:\n    branches: [main]\n")
    assert (
        rules.pull_request_writes(_variant("      contents: read\n", "      contents: write\n", "\n".join(doc.lines)))
        == []
    )


def test_concurrency_fires() -> None:
    doc = _variant("concurrency:\n  group: good-${{ github.ref }}\n  cancel-in-progress: true\n", "")
    _fires(rules.concurrency, doc, "bad.yml: no concurrency at the workflow level nor on jobs test, comment")
    on_every_job = "\n".join(doc.lines).replace("    timeout-minutes:", "    concurrency: x\n    timeout-minutes:")
    assert rules.concurrency(rules.parse("ok.yml", on_every_job)) == []


DEPS, TEST, E2E = "      - run: sudo make test-deps\n", "      - run: make test\n", "      - run: make test-e2e\n"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (TEST + E2E, E2E + TEST, "job test: runs make test-deps, make test-e2e, make test out of order"),
        (DEPS + TEST, TEST + DEPS, "job test: runs make test, make test-deps, make test-e2e out of order"),
        (DEPS, "", "job test: runs make test without make test-deps before it"),
        (DEPS, "", "bad.yml: never runs make test-deps"),
        (E2E, "", "bad.yml: never runs make test-e2e"),
    ],
)
def test_suites_in_order_fire(old: str, new: str, expected: str) -> None:
    _fires(rules.suites_in_order, _variant(old, new), expected)


def test_id_token_jobs_are_listed() -> None:
    assert rules.id_token_jobs(rules.parse("good.yml", GOOD)) == []
    doc = _variant("      pull-requests: write\n", "      id-token: write\n")
    assert rules.id_token_jobs(doc) == ["comment"]


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^x\.yml: not a YAML mapping$"):
        rules.parse("x.yml", "- just a list\n")
