"""The trust rules over an environment's history, as pure functions of what git says about it.

Commits are judged oldest first along the first-parent chain, from the trust anchor on (the commit
that last wrote `deploy-state/<env>/adopted.json`, else the repository's first commit; the state
there is accepted as the starting state). A commit that changes `manifests/<env>/` is one of:
- a **promotion**: made (authored and committed) by the promotion identity, signature verified when
  the config asks, `Rollgate-Env: <env>` and `Rollgate-Model-Sha256` = the digest release.json now
  pins in its trailer block, and release.json changed;
- a **re-render**: the same, with `Rollgate-Rerender` = the tree id it leaves and the model unchanged;
- an **exact revert**, by anyone: the folder becomes byte-identical (same tree id) to its state
  before a live promotion or re-render. That undoes it and every live one after it: their digests,
  or renders, are withdrawn. What a message says counts for nothing;
- a **restore**, by anyone: the folder back to the last trusted state, undoing forbidden changes;
- anything else is **forbidden**.
A promotion with `Rollgate-Verdict: rollback` withdraws the model it replaced (undoing it lifts that).
A withdrawal stands unless `deploy-state/<env>/reallowed/<sha256>.txt` was added or changed after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rollgate.contracts import trailers
from rollgate.contracts.trailers import History, Identity

PROMOTION, RERENDER, REVERT, RESTORE = "promotion", "re-render", "exact revert", "restore"
ANCHOR, START, REALLOW, FORBIDDEN, UNCHECKED = "adopt reset", "start", "re-allow", "forbidden", "before the anchor"
# git's %G? in words, as judged with the promotion key alone (`rollgate.adapters.signing`).
_SIGNATURES = {
    "N": "it is unsigned",
    "E": "its signature cannot be checked (another key, or none git can use)",
    "B": "its signature is bad",
    "U": "its signature is good but from an untrusted key",
    "X": "its signature has expired",
    "Y": "its signature is by an expired key",
    "R": "its signature is by a revoked key",
}


@dataclass(frozen=True)
class Commit:
    """One first-parent commit touching `manifests/<env>/` or `deploy-state/<env>/`, as git describes it."""

    sha: str
    subject: str
    author: tuple[str, str]  # (name, email)
    committer: tuple[str, str]
    signature: str  # git's %G? by the promotion key alone ("G": signed by it); "" when not verified
    found: dict[str, list[str]]  # the Rollgate-* trailers of its trailer block
    root: bool = False
    folder: tuple[str | None, str | None] | None = None  # tree ids of manifests/<env>/ before, after
    record: tuple[str | None, str | None] | None = None  # blob ids of its release.json before, after
    anchored: bool = False  # added or changed the anchor file
    reallowed: tuple[str, ...] = ()  # digests whose re-allow file it added or changed
    unreallowed: tuple[str, ...] = ()  # digests whose re-allow file it deleted


@dataclass(frozen=True)
class Entry:
    """A counted promotion or re-render whose effect is live (no later commit undid it)."""

    commit: Commit
    kind: str
    at: int  # its place in the replayed history
    before: str | None  # the folder's tree id before it
    after: str | None  # and after it (a re-render's render)
    digest: str  # the model it pinned (a re-render keeps it)
    replaced: str | None = None  # the model its rollback verdict withdrew


@dataclass(frozen=True)
class Judged:
    commit: Commit
    kind: str
    why: str


@dataclass
class Ledger:
    """The state of an environment after replaying its history."""

    env: str
    identity: Identity
    digests: Mapping[str, str | None]  # release.json blob id -> the digest it pins
    tree: str | None = None  # the folder's tree id now
    pinned: str | None = None  # the digest release.json pins now
    base: str | None = None  # the folder's tree id at the anchor
    judged: list[Judged] = field(default_factory=list)
    live: list[Entry] = field(default_factory=list)
    deployed: set[str] = field(default_factory=set)
    withdrawals: dict[str, list[int]] = field(default_factory=dict)  # digest -> indexes of its withdrawals
    reallows: dict[str, int] = field(default_factory=dict)  # digest -> index of its latest re-allow
    withdrawn_renders: set[str] = field(default_factory=set)

    def history(self) -> History:
        withdrawn = {d for d, at in self.withdrawals.items() if at and max(at) > self.reallows.get(d, -1)}
        return History(frozenset(self.deployed), frozenset(withdrawn), frozenset(self.withdrawn_renders))


def anchor_index(commits: list[Commit]) -> int | None:
    """Where the checks start: the latest anchor, else the first commit if it is the root, else nowhere."""
    marked = [i for i, c in enumerate(commits) if c.anchored]
    if marked:
        return marked[-1]
    return 0 if commits and commits[0].root else None


def replay(env: str, identity: Identity, commits: list[Commit], digests: Mapping[str, str | None]) -> Ledger:
    """Judge `commits` (oldest first) by the rules above; `digests` maps release.json blobs to digests."""
    led, start = Ledger(env, identity, digests), anchor_index(commits)
    for i, commit in enumerate(commits):
        before = led.pinned
        if commit.folder:
            led.tree = commit.folder[1]
        if commit.record:
            led.pinned = digests.get(commit.record[1] or "")
        if start is None or i > start:
            _apply(led, i, commit, before)
        elif i == start:
            _restart(led, commit)
        else:
            led.judged.append(Judged(commit, UNCHECKED, "not checked (the trust anchor is later)"))
    return led


def _restart(led: Ledger, commit: Commit) -> None:
    led.base, led.live, led.withdrawals, led.reallows = led.tree, [], {}, {}
    led.withdrawn_renders, led.deployed = set(), {led.pinned} if led.pinned else set()
    if not commit.anchored:
        led.judged.append(Judged(commit, START, "the repository's first commit: its state is the starting state"))
    elif led.pinned is None:
        led.judged.append(Judged(commit, ANCHOR, f"the trust anchor: {led.env} starts with no model"))
    else:
        why = f"an adopt reset must leave {led.env} without a model, and this one pins {led.pinned[:12]}"
        led.judged.append(Judged(commit, FORBIDDEN, why))


def _apply(led: Ledger, i: int, commit: Commit, was: str | None) -> None:
    for digest in commit.unreallowed:
        led.reallows.pop(digest, None)
    for digest in commit.reallowed:
        led.reallows[digest] = i
    if commit.folder is None:
        if commit.reallowed:
            led.judged.append(Judged(commit, REALLOW, f"re-allows {', '.join(d[:12] for d in commit.reallowed)}"))
        return
    kind, why = _counted(led, commit, was)
    if kind == PROMOTION:
        replaced = was if commit.found.get(trailers.VERDICT) == ["rollback"] and was != led.pinned else None
        if replaced:
            led.withdrawals.setdefault(replaced, []).append(i)
        led.live.append(Entry(commit, kind, i, commit.folder[0], led.tree, str(led.pinned), replaced))
        led.deployed.add(str(led.pinned))
    elif kind == RERENDER:
        led.live.append(Entry(commit, kind, i, commit.folder[0], led.tree, str(led.pinned)))
    else:
        kind, why = _undo(led, i, commit, why)
    led.judged.append(Judged(commit, kind, why))


def _unauthorised(led: Ledger, commit: Commit) -> str | None:
    """Why the commit's promotion trailers do not count (None: they do)."""
    who = led.identity
    if led.env not in commit.found.get(trailers.ENV, []):
        return f"its trailer block has no `{trailers.ENV}: {led.env}`"
    if not who.made(commit.author, commit.committer):
        by = f"{commit.author[0]} <{commit.author[1]}> (committed by {commit.committer[0]} <{commit.committer[1]}>)"
        return f"made by {by}, not the promotion identity {who.name} <{who.email}>"
    if who.signing_key and commit.signature != "G":
        said = _SIGNATURES.get(commit.signature or "N", "its signature does not verify")
        return (
            f"{said}, not signed by the promotion key {who.signing_key.key_id} (git %G? says {commit.signature or 'N'})"
        )
    return None


def _counted(led: Ledger, commit: Commit, was: str | None) -> tuple[str | None, str]:
    """PROMOTION or RERENDER when the commit counts as one, else None and why not."""
    found, why = commit.found, _unauthorised(led, commit)
    if why is not None:
        return None, why
    if trailers.RERENDER in found:
        if found[trailers.RERENDER] != [led.tree]:
            return None, f"its {trailers.RERENDER} is not the tree id of manifests/{led.env}/ it leaves"
        if was is None or was != led.pinned:
            return None, "a re-render keeps the pinned model, and this one changes it"
        return RERENDER, f"re-renders {was[:12]} as {str(led.tree)[:12]}"
    if commit.record is None or led.pinned is None or found.get(trailers.MODEL_SHA256) != [led.pinned]:
        return None, f"its {trailers.MODEL_SHA256} is not the digest manifests/{led.env}/release.json now pins"
    return PROMOTION, f"pins {led.pinned[:12]}"


def _undo(led: Ledger, i: int, commit: Commit, why_not: str) -> tuple[str, str]:
    """An exact revert or a restore, or a forbidden change."""
    at = next((j for j in range(len(led.live) - 1, -1, -1) if led.live[j].before == led.tree), None)
    if at is not None:
        undone, led.live = led.live[at:], led.live[:at]
        for entry in undone:
            _withdraw(led, i, entry)
        names = ", ".join(f"{e.kind} {e.commit.sha[:12]}" for e in undone)
        return REVERT, f"restores manifests/{led.env}/ as it was before {names}"
    if led.tree == (led.live[-1].after if led.live else led.base):
        return RESTORE, f"restores manifests/{led.env}/ to its last trusted state"
    said = "" if trailers.ENV not in commit.found else f" ({why_not})"
    return FORBIDDEN, (
        f"changes manifests/{led.env}/ but is no promotion or re-render by the promotion identity{said}, and "
        "restores no earlier state (no exact revert)"
    )


def _withdraw(led: Ledger, i: int, entry: Entry) -> None:
    if entry.kind == RERENDER:
        led.withdrawn_renders.add(str(entry.after))
    else:
        led.withdrawals.setdefault(entry.digest, []).append(i)
    if entry.replaced:  # undoing a rollback verdict lifts the withdrawal it made
        led.withdrawals[entry.replaced].remove(entry.at)
