"""The models a monitor run judges, read from the environment's history: the one it runs now and the
previous known-good one, each by its release record and fetched by content from DVC.

The deployed model is what `manifests/<env>/release.json` pins; the promotion that pinned it is its
live entry in the environment's ledger (`rollgate.adapters.trust`, which refuses a shallow clone). The
previous known-good model is the latest live promotion before that one of another digest that was never
withdrawn: a model reverted out of the environment is known-bad, not a fallback. Artifacts come from
the DVC cache or the default remote by their `dvc_md5`, checked against the pinned sha256; a model's
`model.json` and its baseline (`reports/baseline.json`) by the md5s that its source commit's
`dvc.lock` records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from rollgate.adapters import dvc, dvc_store, git, trust
from rollgate.contracts import atomic, baseline, ledger, paths, release
from rollgate.contracts.errors import ContractError
from rollgate.contracts.release import Release

MODEL_JSON = str(paths.MODEL_METADATA)


@dataclass(frozen=True)
class Models:
    env: str
    deployed: Release
    promotion: ledger.Entry | None  # the live promotion that pinned it (None: pinned at the trust anchor)
    previous: Release | None
    why_no_previous: str = ""


def _record_at(root: Path, env: str, commit: str) -> Release:
    shown = f"{paths.release_record(env)}@{commit[:12]}"
    found = release.loads(git.show(root, commit, str(paths.release_record(env))) or "null", shown)
    if found is None:
        raise ContractError(f"{shown}: pins no model")
    return found


def read(root: Path, env: str) -> Models | None:
    """The env's deployed and previous known-good models; None when it runs no model yet.

    Raises:
        RollgateError: a shallow clone, unreadable history, or a bad release record.
    """
    led = trust.ledger(root, env)
    deployed = release.read_env(root, env)
    if deployed is None:
        return None
    live = led.live
    at = next((i for i in range(len(live) - 1, -1, -1) if live[i].digest == deployed.model.sha256), None)
    if at is None:
        return Models(env, deployed, None, None, "the deployed model was pinned at the trust anchor: no promotion")
    withdrawn = led.history().withdrawn
    earlier = [
        e for e in live[:at] if e.kind == ledger.PROMOTION and e.digest not in (deployed.model.sha256, *withdrawn)
    ]
    if not earlier:
        return Models(env, deployed, live[at], None, f"no earlier live promotion in {env} since its trust anchor")
    return Models(env, deployed, live[at], _record_at(root, env, earlier[-1].commit.sha))


def _locked_md5(root: Path, commit: str, out: str) -> str:
    text = git.show(root, commit, str(dvc.LOCK)) or ""
    lock = yaml.safe_load(text) or {}
    for stage in (lock.get("stages") or {}).values():
        for o in stage.get("outs") or ():
            if o.get("path") == out and o.get("md5"):
                return str(o["md5"])
    raise ContractError(f"dvc.lock@{commit[:12]}: no md5 for {out} (the commit that produced the model)")


def write_model(root: Path, record: Release, dest: Path) -> Path:
    """The model's artifact at `dest` (checked by sha256) and its `model.json` beside it; `dest`."""
    what, pinned_by = f"the model {record.model.sha256[:12]}", f"{paths.release_record(record.env)}"
    data = dvc_store.fetch_artifact(root, record.model.dvc_md5, record.model.sha256, what, pinned_by)
    meta = dvc_store.read_object(root, _locked_md5(root, record.lineage.source_commit, MODEL_JSON), MODEL_JSON)
    atomic.write_bytes(dest, data)
    atomic.write_bytes(dest.with_suffix(".json"), meta)
    return dest


def write_baseline(root: Path, record: Release, dest: Path) -> Path:
    """The model's monitoring baseline at `dest`: the one its release record pins by sha256, belonging to
    that model; `dest`. A record without a baseline is refused (promote it again after `make repro`)."""
    out, where = str(paths.BASELINE), paths.release_record(record.env)
    if record.baseline is None:
        raise ContractError(
            f"{where}: no baseline (promoted before baselines existed): promote it again after `make repro`"
        )
    data = dvc_store.read_object(root, _locked_md5(root, record.lineage.source_commit, out), out)
    if hashlib.sha256(data).hexdigest() != record.baseline.sha256:
        raise ContractError(f"{out}@{record.lineage.source_commit[:12]}: not the baseline {where} pins (sha256)")
    atomic.write_bytes(dest, data)
    doc, _ = baseline.read(dest)
    if doc.get(baseline.DIGEST) != record.model.sha256:
        dest.unlink()
        raise ContractError(f"{out}@{record.lineage.source_commit[:12]}: the baseline of another model")
    return dest
