"""`rollgate gate --verify` and `rollgate train --verify`: recompute what the committed files claim.

`gates/<env>.json` and `dvc.lock` are text: anyone who can push a branch can edit a verdict and patch
its md5 into `dvc.lock`, or plant a run-cache entry, and DVC will call the result up to date. These
commands trust neither. The gate's verdict is judged again from the inputs on disk and must match field
for field; the model is retrained from the data, bypassing DVC and its run cache, and must match byte for
byte. Each difference is named; any one fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import tempfile
from pathlib import Path
from typing import Any

from rollgate import params as params_
from rollgate.adapters import dvc, git
from rollgate.contracts import model_metadata, paths, strict_yaml
from rollgate.contracts.errors import DataValidationError, ParamsError, RollgateError
from rollgate.contracts.verdict import Verdict
from rollgate.data import batches, split
from rollgate.data.schema import DATASET
from rollgate.gate.decide import GateInputs, decide
from rollgate.gate.evidence import Latency
from rollgate.params import GateParams, Params
from rollgate.pipeline import gate as gate_stage
from rollgate.pipeline import train as train_stage

# Latency is the one measured criterion: the re-measured challenger/champion ratio may differ from the
# recorded one by at most this factor either way (paired medians on one machine move by far less; a
# verdict claiming 1.0x for a model twice as slow does not pass).
LATENCY_TOLERANCE = 1.5
# A neighbour's burst of load can move one measurement past the tolerance; a forged ratio stays past it.
# So a drift is reported only when this many measurements in a row (the first included) all show it.
LATENCY_ATTEMPTS = 3
SHOWN = 12  # differences listed per environment


def base_policy(root: Path, ref: str, params: Params) -> GateParams:
    """The gate section of `params.yaml` at `ref`, validated by this rollgate against the dataset."""
    git.require_commit(root, ref, "--base")
    text = git.show(root, ref, str(paths.PARAMS))
    source = f"{paths.PARAMS}@{ref}"
    if text is None:
        raise ParamsError(f"{source}: no such file")
    raw = strict_yaml.parse(text, ParamsError, source)
    if not isinstance(raw, dict) or "gate" not in raw:
        raise ParamsError(f"{source}: no gate section")
    merged = {**params.model_dump(mode="json", by_alias=True), "gate": raw["gate"]}
    return params_.parse(merged, source, DATASET.params_columns).gate


def _keyed(verdict: dict[str, Any]) -> dict[str, Any]:
    """Reasons and segments keyed by what they judge, so a difference names the criterion."""
    out = dict(verdict)
    out["reasons"] = {r["criterion"]: r for r in verdict.get("reasons", [])}
    out["segments"] = {f"{s['column']}={s['value']}": s for s in verdict.get("segments", [])}
    return out


def differences(recorded: Any, again: Any, where: str = "") -> list[str]:
    """Every field where two JSON values differ, as `path: recorded X, recomputed Y`."""
    if isinstance(recorded, dict) and isinstance(again, dict):
        out = []
        for key in sorted(set(recorded) | set(again), key=str):
            found = f"{where}.{key}" if where else str(key)
            if key not in again or key not in recorded:
                out.append(f"{found}: recorded {recorded.get(key)!r}, recomputed {again.get(key)!r}")
            else:
                out += differences(recorded[key], again[key], found)
        return out
    if isinstance(recorded, list) and isinstance(again, list) and len(recorded) == len(again):
        return [
            d for i, (a, b) in enumerate(zip(recorded, again, strict=True)) for d in differences(a, b, f"{where}[{i}]")
        ]
    return [] if recorded == again else [f"{where}: recorded {recorded!r}, recomputed {again!r}"]


def _latency_drift(recorded: dict[str, Any] | None, measured: Latency | None) -> list[str]:
    if recorded is None or measured is None:
        return []
    old, new = recorded.get("ratio"), measured.ratio
    if old is None or not math.isfinite(new) or old <= 0 or new <= 0:
        return [f"latency.ratio: recorded {old}, re-measured {new}: not comparable"]
    if max(old / new, new / old) > LATENCY_TOLERANCE:
        return [f"latency.ratio: recorded {old:.2f}, re-measured {new:.2f} (beyond the x{LATENCY_TOLERANCE} tolerance)"]
    return []


def compare(recorded: Verdict, found: GateInputs, policy: GateParams) -> list[str]:
    """What differs between a recorded verdict and the one `found` gives: the measured latency is replaced
    by the recorded one for the decision (so every other field must match exactly) and checked apart."""
    replay = found
    if found.latency is not None and recorded.latency is not None:
        kept = Latency(recorded.latency["champion_seconds_per_row"], recorded.latency["challenger_seconds_per_row"])
        replay = dataclasses.replace(found, latency=kept)
    again = decide(replay, policy)
    return differences(_keyed(recorded.to_dict()), _keyed(again.to_dict())) + _latency_drift(
        recorded.latency, found.latency
    )


def _judged_again(root: Path, env: str, recorded: Verdict, policy: GateParams, fpr: float) -> list[str]:
    """`compare` on the inputs on disk; a latency drift alone is measured again (LATENCY_ATTEMPTS in all)
    and stands only if every measurement shows it. Any other difference stands at once."""
    found: list[str] = []
    for _ in range(LATENCY_ATTEMPTS):
        found = compare(recorded, gate_stage.evidence(root, env, policy, fpr), policy)
        if not found or any(not d.startswith("latency.ratio:") for d in found):
            return found
    return found


def gate(root: Path, env: str | None = None, base: str | None = None) -> int:
    """`rollgate gate --verify [--env ENV] [--base REF]`: 0 when every verdict (or ENV's) is what the inputs
    on disk give under the policy on disk (or REF's); else 1, naming each differing field."""
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    policy = params.gate if base is None else base_policy(root, base, params)
    envs = [env] if env else paths.environments(root)
    failed = False
    for name in envs:
        gate_stage.known(root, name)
        recorded = gate_stage.read(root, name)
        found = _judged_again(root, name, recorded, policy, params.evaluate.fpr_target)
        against = f" under the gate policy of {base}" if base else ""
        if not found:
            print(f"gate --verify ({name}): {paths.gate_verdict(name)} is what the inputs give{against}")
            continue
        failed = True
        print(f"gate --verify ({name}): {paths.gate_verdict(name)} differs from the verdict the inputs give{against}:")
        print("\n".join(f"  {d}" for d in found[:SHOWN]))
        if len(found) > SHOWN:
            print(f"  ... and {len(found) - SHOWN} more")
    return 1 if failed else 0


def _train_set(root: Path, params: Params, tmp: Path) -> Any:
    """The prepare stage's train rows, recomputed from the data (never read from its output)."""
    recorded, actual = dvc.recorded_md5_of(root / paths.DATA_DVC), dvc.dir_md5(root / paths.DATA_DIR)
    if recorded != actual:
        raise DataValidationError(
            f"{paths.DATA_DIR}/ is {actual}, {paths.DATA_DVC} records {recorded}: `dvc checkout {paths.DATA_DVC}` first"
        )
    df, _, failures = batches.read_batches(root / DATASET.batches)
    if failures or df.empty:
        raise DataValidationError(f"{DATASET.batches}: unreadable batches; run `rollgate validate` for details")
    batches.write_frame(split.time_split(df, params.prepare.holdout).train, tmp / "train.parquet")
    return train_stage.read_train_set(tmp / "train.parquet")  # as training reads it: the same dtypes


def train(root: Path) -> int:
    """`rollgate train --verify`: retrain from the data and the committed params and code, without DVC or its
    run cache; 0 when the bytes are the ones `models/model.json` and `dvc.lock` record, else 1."""
    params = params_.load(root / paths.PARAMS, DATASET.params_columns)
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    locked = dvc.locked_md5(root, "train", str(paths.MODEL_ARTIFACT))
    with tempfile.TemporaryDirectory(prefix="rollgate-verify-") as tmp:
        _, data = train_stage.fit(_train_set(root, params, Path(tmp)), params.train, params.shared.seed)
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()
    wrong = []
    if sha != meta.sha256:
        wrong.append(f"sha256 {sha[:12]}, {paths.MODEL_METADATA} records {meta.sha256[:12]}")
    if md5 != locked:
        wrong.append(f"md5 {md5}, {dvc.LOCK} records {locked} for {paths.MODEL_ARTIFACT}")
    if wrong:
        raise RollgateError("train --verify: the retrained model differs: " + "; ".join(wrong))
    print(
        f"train --verify: retrained without any cache on {params.train.threads} threads: sha256 {sha[:12]}, as recorded"
    )
    return 0
