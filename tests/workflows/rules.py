"""The structural rules of the workflows and composite actions: pure functions over a parsed document.

Each rule takes a `Document` (the parsed YAML and its raw lines: PyYAML drops comments, and a pin's
version lives in one) and returns every `Problem` it finds, none being an empty list. `parse` builds a
Document from text; `discover` and `load` at the bottom are the only functions here that read the disk.
zizmor and check-jsonschema (`make lint-workflows`) cover security findings and the schema; these rules
are this project's own: thin steps, verified pins, permissions and the PR trust boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Pin:
    action: str
    tag: str
    sha: str


# Verified pins, copied from shared/ACTIONS.md: each tag and the commit it points to, read from the
# action's own repository. A new action or release joins only with its SHA verified the same way.
PINS = tuple(
    Pin(action, tag, sha)
    for action, tag, sha in (
        ("actions/checkout", "v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
        ("actions/setup-python", "v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97"),
        ("actions/cache", "v5.0.5", "27d5ce7f107fe9357f9df03efb73ab90386fccae"),
        ("actions/upload-artifact", "v7.0.0", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"),
        ("actions/github-script", "v8.0.0", "ed597411d8f924073f98dfc5c65a23a2325f34cd"),
        ("actions/create-github-app-token", "v3.1.1", "1b10c78c7865c340bc4f6099eb2f838309f1e8c3"),
        ("actions/attest-build-provenance", "v4.1.0", "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32"),
        ("docker/setup-buildx-action", "v4.3.0", "37fe631027851001ddb9b187196cc803df7f5f0e"),
        ("docker/login-action", "v4.1.0", "4907a6ddec9925e35a0a9e82d7399ccc52663121"),
        ("docker/metadata-action", "v6.2.0", "dc802804100637a589fabce1cb79ff13a1411302"),
        ("docker/build-push-action", "v7.3.0", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"),
        ("sigstore/cosign-installer", "v4.1.2", "6f9f17788090df1f26f669e9d70d6ae9567deba6"),
        ("anchore/sbom-action", "v0.24.0", "e22c389904149dbc22b58101806040fa8d37a610"),
        ("aws-actions/configure-aws-credentials", "v6.2.3", "e6de054238d6b7531b4efff3b6587d9aade6a06c"),
        ("google-github-actions/auth", "v3.0.0", "7c6bc770dae815cd3e89ee6cdf493a5fab2cc093"),
        ("Azure/login", "v3.0.1", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca"),
        ("iterative/setup-dvc", "v1.1.2", "2508d098217d24eef3c0e8d7bc0ce7b9ca0723c3"),
        # Not in ACTIONS.md: read the same way from a snapshot of its repository (v8.0.1 and v8 point to it).
        ("actions/download-artifact", "v8.0.1", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"),
    )
)
PINNED = {pin.sha: pin for pin in PINS}

# A thin step runs one of the project's own commands; `sudo` only for the system tools (not root there).
COMMANDS = frozenset({"make", "rollgate", "dvc", "gh"})
SUDO_ALLOWED = (("sudo", "make", "test-deps"), ("sudo", "make", "rehearse-deps"))
SHELL_OPERATORS = ("&&", "||", ";", "|", "&", "$(", "`")
SHELL_KEYWORDS = frozenset({"if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac"})
BASE_SHA = "${{ github.event.pull_request.base.sha }}"

_PINNED_USES = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+)(?P<path>/[^@\s]+)?@(?P<sha>[0-9a-f]{40})")
_VERSION_COMMENT = re.compile(r"\s#\s*(?P<tag>v\d\S*)\s*$")


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the line (0-based) on which each key's value starts."""

    lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Mapping]:
    data = _Mapping()
    data.lines = {}
    yield data
    data.update(loader.construct_mapping(node))
    data.lines = {loader.construct_object(key): value.start_mark.line for key, value in node.value}


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Document:
    name: str  # as problems show it, e.g. .github/workflows/ci.yml
    data: dict[str, Any]
    lines: tuple[str, ...]

    @property
    def is_action(self) -> bool:
        return "runs" in self.data and "jobs" not in self.data


@dataclass(frozen=True)
class Step:
    job: str | None  # None in a composite action
    index: int  # from 1, as GitHub numbers them
    data: dict[str, Any]

    @property
    def label(self) -> str:
        run = str(self.data.get("run", "")).strip().splitlines()
        name = self.data.get("name") or self.data.get("uses") or (run[0][:40] if run else "")
        return f"step {self.index} ({name})"


@dataclass(frozen=True)
class Problem:
    file: str
    job: str | None
    step: str | None
    what: str

    def __str__(self) -> str:
        where = [self.file, *([f"job {self.job}"] if self.job else []), *([self.step] if self.step else [])]
        return ": ".join([*where, self.what])


def parse(name: str, text: str) -> Document:
    """The document `text`, named `name`; YAML 1.1's `on: ...` (read as the key True) becomes "on"."""
    data = yaml.load(text, Loader=_Loader)  # a SafeLoader that only records lines
    if not isinstance(data, dict):
        raise ValueError(f"{name}: not a YAML mapping")
    if True in data and "on" not in data:
        data["on"] = data.pop(True)
    return Document(name, data, tuple(text.splitlines()))


def triggers(doc: Document) -> dict[str, Any]:
    """The workflow's events, whichever of the three forms `on:` takes (string, list, mapping)."""
    on = doc.data.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on) if isinstance(on, dict) else {}


def jobs(doc: Document) -> dict[str, dict[str, Any]]:
    found = doc.data.get("jobs")
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def steps(doc: Document, job: str | None = None) -> Iterator[Step]:
    """Every step of the workflow (of one job, if named), or of the composite action."""
    if doc.is_action:
        runs = doc.data.get("runs") or {}
        lists: dict[str | None, Any] = {None: runs.get("steps") if isinstance(runs, dict) else None}
    else:
        lists = {name: body.get("steps") for name, body in jobs(doc).items() if job in (None, name)}
    for name, found in lists.items():
        for index, step in enumerate(found if isinstance(found, list) else [], 1):
            if isinstance(step, dict):
                yield Step(name, index, step)


def _step_problem(doc: Document, step: Step, what: str) -> Problem:
    return Problem(doc.name, step.job, step.label, what)


def _repo(uses: str) -> str:
    return "/".join(uses.split("@", 1)[0].split("/")[:2])


def _checkouts(doc: Document, job: str | None = None) -> Iterator[Step]:
    return (s for s in steps(doc, job) if _repo(str(s.data.get("uses", ""))) == "actions/checkout")


def _permissions(doc: Document, body: dict[str, Any]) -> Any:
    """What a job is granted: its own `permissions`, else the workflow's."""
    return body["permissions"] if "permissions" in body else doc.data.get("permissions")


def _writes(granted: Any) -> list[str]:
    """The scopes `granted` may write ("all" for write-all)."""
    if isinstance(granted, str):
        return ["all"] if granted == "write-all" else []
    return sorted(k for k, v in granted.items() if v == "write") if isinstance(granted, dict) else []


def permissions(doc: Document) -> list[Problem]:
    """`permissions: {}` at the top; every job asks for its own, as a mapping (never write-all/read-all)."""
    if doc.is_action:
        return []
    found = []
    if doc.data.get("permissions", None) != {}:
        found.append(Problem(doc.name, None, None, "top-level permissions must be {} (deny by default)"))
    for name, body in jobs(doc).items():
        if not isinstance(body.get("permissions"), dict):
            what = f"permissions must be a mapping of scopes, not {body.get('permissions', 'missing')!r}"
            found.append(Problem(doc.name, name, None, what))
    return found


def triggers_safe(doc: Document) -> list[Problem]:
    """No `pull_request_target`; a `workflow_run` workflow never checks out the triggering run's code."""
    events = triggers(doc)
    found = []
    if "pull_request_target" in events:
        what = "triggered by pull_request_target (PR code with a write token and secrets): use pull_request"
        found.append(Problem(doc.name, None, None, what))
    if "workflow_run" in events:
        for step in _checkouts(doc):
            chosen = " ".join(str((step.data.get("with") or {}).get(k, "")) for k in ("ref", "repository"))
            if "workflow_run" in chosen or "head" in chosen:
                found.append(_step_problem(doc, step, f"a workflow_run workflow checks out PR code ({chosen.strip()})"))
    return found


def _uses(doc: Document) -> Iterator[tuple[Step | None, str | None, str, int | None]]:
    """Each `uses:` with where it is: (step, job, value, line); job-level ones (reusable workflows) too."""
    for step in steps(doc):
        if "uses" in step.data:
            yield step, step.job, str(step.data["uses"]), getattr(step.data, "lines", {}).get("uses")
    for name, body in jobs(doc).items():
        if "uses" in body:
            yield None, name, str(body["uses"]), getattr(body, "lines", {}).get("uses")


def pinned_uses(doc: Document) -> list[Problem]:
    """Every `uses:` is local (./) or a verified `owner/repo[/path]@<sha> # <its tag>` on one line."""
    found = []
    for step, job, uses, line in _uses(doc):
        what = _pin_problem(uses, doc.lines[line] if line is not None and line < len(doc.lines) else "")
        if what:
            found.append(Problem(doc.name, job, step.label if step else None, what))
    return found


def _pin_problem(uses: str, line: str) -> str | None:
    if uses.startswith("./"):
        return None
    match = _PINNED_USES.fullmatch(uses)
    pin = PINNED.get(match["sha"]) if match else None
    comment = _VERSION_COMMENT.search(line)
    if not match:
        what = "is neither a local ./ path nor owner/repo@<40-hex commit SHA>"
    elif pin is None:
        what = "pins a commit that is not among the verified pins (rules.PINS)"
    elif pin.action.lower() != match["repo"].lower():
        what = f"pins {pin.action}'s commit, not {match['repo']}'s"
    elif not comment:
        what = f"has no '# {pin.tag}' version comment on its line"
    elif comment["tag"] != pin.tag:
        what = f"says # {comment['tag']} but that commit is {pin.tag}"
    else:
        return None
    return f"uses {uses!r} {what}"


def checkout_options(doc: Document) -> list[Problem]:
    """actions/checkout never keeps the token in .git and fetches all history (decisions read it)."""
    found = []
    for step in _checkouts(doc):
        given = step.data.get("with") or {}
        if str(given.get("persist-credentials")).lower() != "false":
            found.append(_step_problem(doc, step, "actions/checkout must set persist-credentials: false"))
        if str(given.get("fetch-depth")) != "0":
            found.append(_step_problem(doc, step, "actions/checkout must set fetch-depth: 0 (no shallow clone)"))
    return found


def no_run_expressions(doc: Document) -> list[Problem]:
    """No `${{ }}` inside a `run:` (an injection): values reach the shell through `env:`."""
    return [
        _step_problem(doc, step, "run contains a ${{ }} expression: pass the value through env:")
        for step in steps(doc)
        if "${{" in str(step.data.get("run", ""))
    ]


def _thin(run: str) -> str | None:
    """Why `run` is not one short command of the project's own, or None when it is."""
    command = run.rstrip("\n")  # a one-line block scalar (`run: |`) ends in a newline: still one line
    if "\n" in command or "\r" in command:
        return "run has more than one line"
    operators, rest = [], command
    for op in SHELL_OPERATORS:  # longest first: `&&` is not also reported as `&`
        if op in rest:
            operators.append(op)
            rest = rest.replace(op, " ")
    if operators:
        return f"run uses shell {' '.join(operators)}: one command per step, logic goes into Python"
    words = command.split()
    keywords = sorted(SHELL_KEYWORDS.intersection(words))
    if keywords:
        return f"run uses shell keywords {', '.join(keywords)}: logic goes into Python"
    if words[:1] == ["sudo"] and tuple(words) not in SUDO_ALLOWED:
        return "sudo is only for `sudo make test-deps` or `sudo make rehearse-deps`"
    if words[:1] != ["sudo"] and (not words or words[0] not in COMMANDS):
        return f"run starts with {words[0] if words else 'nothing'!r}, not one of {', '.join(sorted(COMMANDS))}"
    return None


def thin_steps(doc: Document) -> list[Problem]:
    """Every `run:` is one line calling make, rollgate, dvc or gh; no shell logic in YAML."""
    found = []
    for step in steps(doc):
        why = _thin(str(step.data["run"])) if "run" in step.data else None
        if why:
            found.append(_step_problem(doc, step, why))
    return found


def timeouts(doc: Document) -> list[Problem]:
    """Every job has `timeout-minutes` (a job calling a reusable workflow cannot: its jobs carry theirs)."""
    return [
        Problem(doc.name, name, None, "job has no timeout-minutes")
        for name, body in jobs(doc).items()
        if "timeout-minutes" not in body and "uses" not in body
    ]


def pull_request_writes(doc: Document) -> list[Problem]:
    """A PR-triggered workflow never grants contents: write, and a job that writes runs the base's code.

    `id-token: write` is left out: it writes nothing to the repository, and a job that needs cloud
    credentials may run the PR's code (GitHub issues no token to forks); `id_token_jobs` lists those.
    """
    if not any(str(event).startswith("pull_request") for event in triggers(doc)):
        return []
    found = []
    for name, body in jobs(doc).items():
        writes = [scope for scope in _writes(_permissions(doc, body)) if scope != "id-token"]
        if {"contents", "all"} & set(writes):
            found.append(Problem(doc.name, name, None, "a pull_request workflow grants contents: write"))
        for step in _checkouts(doc, name) if writes else ():
            given = step.data.get("with") or {}
            if re.sub(r"\s+", "", str(given.get("ref", ""))) != re.sub(r"\s+", "", BASE_SHA):
                what = f"job can write ({', '.join(writes)}) so its checkout must pass exactly ref: {BASE_SHA}"
                found.append(_step_problem(doc, step, what))
            if "repository" in given:
                what = f"job can write ({', '.join(writes)}) so its checkout must not name another repository"
                found.append(_step_problem(doc, step, what))
    return found


def concurrency(doc: Document) -> list[Problem]:
    """`concurrency` at the workflow level, or on every job."""
    if doc.is_action or "concurrency" in doc.data:
        return []
    missing = [name for name, body in jobs(doc).items() if "concurrency" not in body]
    if not missing and jobs(doc):
        return []
    return [Problem(doc.name, None, None, f"no concurrency at the workflow level nor on jobs {', '.join(missing)}")]


RULES: tuple[Callable[[Document], list[Problem]], ...] = (
    permissions,
    triggers_safe,
    pinned_uses,
    checkout_options,
    no_run_expressions,
    thin_steps,
    timeouts,
    pull_request_writes,
    concurrency,
)


def check(doc: Document) -> list[Problem]:
    """Every rule's problems with `doc` (the ci.yml-only `suites_in_order` apart)."""
    return [problem for rule in RULES for problem in rule(doc)]


def _command(run: Any) -> tuple[str, ...]:
    """The `make <target>` a run step calls (`sudo make test-deps` counts as `make test-deps`)."""
    words = str(run).split()
    return tuple(words[1:3] if words[:1] == ["sudo"] else words[:2])


def suites_in_order(
    doc: Document, setup: str = "make test-deps", suites: tuple[str, ...] = ("make test", "make test-e2e")
) -> list[Problem]:
    """The workflow runs `setup` and each suite; in a job, `setup` comes first and the suites in order."""
    wanted = [tuple(c.split()) for c in (setup, *suites)]
    found, seen = [], set()
    for name in jobs(doc):
        ran = [c for c in (_command(s.data["run"]) for s in steps(doc, name) if "run" in s.data) if c in wanted]
        seen.update(ran)
        firsts = sorted(set(ran), key=ran.index)
        if firsts != sorted(firsts, key=wanted.index):
            found.append(Problem(doc.name, name, None, f"runs {', '.join(map(' '.join, firsts))} out of order"))
        elif firsts and firsts[0] != wanted[0]:
            found.append(Problem(doc.name, name, None, f"runs {' '.join(firsts[0])} without {setup} before it"))
    found += [Problem(doc.name, None, None, f"never runs {' '.join(c)}") for c in wanted if c not in seen]
    return found


def id_token_jobs(doc: Document) -> list[str]:
    """The jobs granted `id-token: write` (allowed only where cloud credentials are needed: for review)."""
    return [name for name, body in jobs(doc).items() if "id-token" in _writes(_permissions(doc, body))]


# The edge: the repository's workflows and composite actions, read from disk.
GLOBS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".github/actions/*/action.yml",
    ".github/actions/*/action.yaml",
)


def discover(root: Path) -> list[Path]:
    return sorted(path for pattern in GLOBS for path in root.glob(pattern))


def load(path: Path, root: Path) -> Document:
    return parse(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
