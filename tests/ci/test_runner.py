"""The files a GitHub runner reads back from a step: outputs in GitHub's multi-line syntax, parsed here as
the runner parses them, and the job summary appended to; outside a runner, printed or left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollgate.ci import runner
from rollgate.contracts.errors import RollgateError

pytestmark = pytest.mark.unit


def parse_outputs(text: str) -> dict[str, str]:
    """A GITHUB_OUTPUT file as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks,
    the block's value being every line up to the one that is exactly the delimiter."""
    found: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            found[line[:equals]] = line[equals + 1 :]
            continue
        assert heredoc > 0, f"neither name=value nor name<<DELIMITER: {line!r}"
        name, delimiter, value = line[:heredoc], line[heredoc + 2 :], []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        else:
            raise AssertionError(f"{name}: no closing delimiter {delimiter!r}")
        found[name] = "\n".join(value)
    return found


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not on a runner (the tests may run on one: its files must not receive these)."""
    monkeypatch.delenv(runner.OUTPUT, raising=False)
    monkeypatch.delenv(runner.SUMMARY, raising=False)


VALUES = {
    "one word": "pipeline",
    "multi-line": "first line\nsecond line\n\nafter an empty one",
    "looks like syntax": "a=b<<EOF\nEOF\nkind=none",
    "empty": "",
    "trailing newline": "ends with a newline\n",
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_an_output_round_trips_through_githubs_syntax(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "output"
    target.write_text("earlier=kept\n")  # the runner's file may already hold other steps' outputs
    monkeypatch.setenv(runner.OUTPUT, str(target))
    runner.output("kind", value)
    runner.output("after", "x")
    text = target.read_text()
    assert text.startswith("earlier=kept\nkind<<")
    assert parse_outputs(text) == {"earlier": "kept", "kind": value, "after": "x"}


def test_each_output_has_its_own_delimiter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "output"
    monkeypatch.setenv(runner.OUTPUT, str(target))
    runner.output("a", "1")
    runner.output("b", "2")
    heads = [line for line in target.read_text().splitlines() if "<<" in line]
    delimiters = {line.split("<<", 1)[1] for line in heads}
    assert len(heads) == 2 and len(delimiters) == 2


def test_outside_a_runner_an_output_is_printed(outside: None, capsys: pytest.CaptureFixture[str]) -> None:
    runner.output("kind", "revert")
    assert capsys.readouterr().out == "kind=revert\n"


def test_the_summary_is_appended_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.md"
    monkeypatch.setenv(runner.SUMMARY, str(target))
    assert runner.summary("### first\n\ntext\n\n\n")
    assert runner.summary("### second")
    assert target.read_text() == "### first\n\ntext\n\n### second\n\n"


def test_outside_a_runner_the_summary_is_left_out(
    outside: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.summary("### nothing") is False
    assert capsys.readouterr().out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable", [runner.OUTPUT, runner.SUMMARY])
@pytest.mark.parametrize("where", ["a directory", "a missing folder"])
def test_an_unwritable_target_names_the_variable(
    variable: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path if where == "a directory" else tmp_path / "missing" / "file"
    monkeypatch.setenv(variable, str(target))
    with pytest.raises(RollgateError, match=rf"^{variable}={re.escape(str(target))}: cannot append to it \("):
        if variable == runner.OUTPUT:
            runner.output("kind", "none")
        else:
            runner.summary("### text")
