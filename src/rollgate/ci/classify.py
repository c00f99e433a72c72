"""`rollgate pr classify`: what kind a pull request is, from the files it changes and the trust rules'
judgement of its commits, so the workflow runs exactly what that kind needs.

- **pipeline**: it changes something the pipeline reads or writes (every dependency and output DVC
  resolves from the dvc.yaml files, the .dvc files), the install, the deploy configs or the code that
  renders manifests: reproduce, verify and require every verdict, check what merging would render.
- **revert**: it only undoes promotions or re-renders (exact reverts, as a person rolls back) together
  with what a promotion refreshes beside them (dvc.lock, the verdicts): the trust rules have verified it;
  the gate does not judge it, and the summary records what it withdraws.
- **none**: nothing above: passes at once.
Any other change to `manifests/<env>/` is forbidden: the command fails, naming each commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollgate.adapters import dvc_stages, git, identity, trust
from rollgate.ci import runner
from rollgate.ci.summary import FORK_NOTE
from rollgate.contracts import ledger, paths
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.ledger import Judged

PIPELINE, REVERT, NONE = "pipeline", "revert", "none"

# Read by the pipeline or by what merging renders beyond what DVC lists: the lock of DVC's outputs, the
# install (rollgate itself runs every stage), the deploy configs and the code that renders manifests.
ALSO_READ = (
    "dvc.lock",
    "pyproject.toml",
    "requirements",
    str(paths.DEPLOY_CONFIGS),
    "manifests/argocd",  # rendered from the deploy configs by whoever changes them
    "src/rollgate/manifests",
    "src/rollgate/delivery",
)
# Judged by the trust rules, never a reason to run the pipeline (but manifests/argocd/, rendered from the
# deploy configs by whoever changes them, is checked by the render check).
MANIFESTS = "manifests"
ARGOCD = ALSO_READ[4]
# What a promotion commits beside manifests/<env>/: a person's revert of one restores these too.
REFRESHED = ("dvc.lock", str(paths.GATES_DIR))
UNDOING = (ledger.REVERT, ledger.RESTORE)


@dataclass(frozen=True)
class Classified:
    kind: str
    why: str
    relevant: tuple[str, ...] = ()  # the changed files that make it a pipeline PR
    judged: tuple[str, ...] = ()  # each commit that touched manifests/<env>/ or deploy-state/<env>/, in words
    withdraws: tuple[str, ...] = ()  # "<env>: <sha256>" newly withdrawn at the head


def under(path: str, prefixes: Iterable[str]) -> bool:
    """Whether `path` is one of `prefixes` or inside one of them (folder prefixes, no globbing)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def decide(changed: Sequence[str], reads: Iterable[str], judged: Sequence[Judged]) -> tuple[str, tuple[str, ...]]:
    """The kind of a pull request (pure): PIPELINE with the files that make it one, REVERT or NONE."""
    undoes = any(j.kind in UNDOING for j in judged)
    exempt = (MANIFESTS, *REFRESHED) if undoes else (MANIFESTS,)
    reads = tuple(reads)
    relevant = tuple(f for f in changed if under(f, reads) and (under(f, (ARGOCD,)) or not under(f, exempt)))
    if relevant:
        return PIPELINE, relevant
    return (REVERT if undoes else NONE), ()


def changed_files(root: Path, base: str, head: str = "HEAD", *within: str) -> list[str]:
    """The files a pull request `base..head` changes (from their merge base, renames as two paths),
    optionally only those `within` the given paths."""
    start = git.git(root, "merge-base", base, head).strip()
    listed = git.git(root, "diff", "--name-only", "--no-renames", start, head, "--", *within)
    return [name for name in listed.split("\n") if name]


def reads(root: Path) -> set[str]:
    """Every path whose change makes a pull request a pipeline one (see the module's docstring)."""
    found = set(ALSO_READ)
    for stage in dvc_stages.stages(root):
        found.update(stage.deps, stage.outs, [stage.dvcfile])
    return found


def classify(root: Path, base: str, head: str = "HEAD") -> Classified:
    """Classify the pull request `base..head` (its merge commit, as GitHub checks it out).

    Raises:
        RollgateError: a forbidden change to manifests/<env>/ (every one named), or unreadable history.
    """
    judged = trust.judged_in_range(root, base, head, pull_request=True)
    forbidden = [trust.line(env, j) for env, j in judged if j.kind == ledger.FORBIDDEN]
    if forbidden:
        raise RollgateError(
            f"{len(forbidden)} forbidden change(s) to manifests/<env>/ in this pull request (only exact "
            "reverts of promotions may come through one; a pull request is judged as GitHub merges it, so a "
            "commit named here may be its merge commit, holding every change of the branch):\n  "
            + "\n  ".join(forbidden)
        )
    kind, relevant = decide(changed_files(root, base, head), reads(root), [j for _, j in judged])
    return Classified(
        kind, WHY[kind], relevant, tuple(trust.line(env, j) for env, j in judged), _withdraws(root, base, head)
    )


WHY = {
    PIPELINE: "it changes what the pipeline reads or writes: reproduce, verify every verdict, check the render",
    REVERT: "it only undoes promotions (exact reverts): verified by the trust rules; the gate does not judge it",
    NONE: "it changes nothing the pipeline or the deployment reads: nothing to run",
}


def _withdraws(root: Path, base: str, head: str) -> tuple[str, ...]:
    found = []
    for env in paths.environments(root):
        who = identity.load(root, env, git.require_commit(root, base, "--base"))
        before = trust.ledger(root, env, base, who).history().withdrawn
        after = trust.ledger(root, env, head, who).history().withdrawn
        found += [f"{env}: {digest}" for digest in sorted(after - before)]
    return tuple(found)


def markdown(found: Classified, fork: bool) -> str:
    """The job summary: the kind, why, and what the trust rules saw."""
    lines = [f"### rollgate: a **{found.kind}** pull request", "", found.why + "."]
    if found.relevant:
        shown = ", ".join(f"`{f}`" for f in found.relevant[:20])
        more = f" and {len(found.relevant) - 20} more" if len(found.relevant) > 20 else ""
        lines += ["", f"Changed, read by the pipeline: {shown}{more}."]
    if found.judged:
        lines += ["", "Changes to `manifests/<env>/` and `deploy-state/<env>/`, judged:", ""]
        lines += [f"- {line}" for line in found.judged]
    if found.withdraws:
        lines += ["", "Merging withdraws (promote refuses these models again unless re-allowed):", ""]
        lines += [f"- {w}" for w in found.withdraws]
    if fork:
        lines += ["", FORK_NOTE]
    return "\n".join(lines)


def run(root: Path, base: str, fork: bool) -> str:
    """`rollgate pr classify`: sets the step output `kind`, writes the job summary, returns the summary."""
    try:
        found = classify(root, base)
    except RollgateError as exc:
        runner.summary(f"### rollgate: this pull request cannot merge\n\n```\n{exc}\n```")
        raise
    text = markdown(found, fork)
    runner.output("kind", found.kind)
    runner.output("withdraws", "\n".join(found.withdraws))
    runner.summary(text)
    return text
