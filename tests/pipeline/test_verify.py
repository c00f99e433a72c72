"""`rollgate gate --verify` and `rollgate train --verify` in a real repository: what the committed files
claim is recomputed, a forged verdict or lock entry is named, and the thread count never moves the bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import paths
from tests.helpers import Project, copy_project, reproduce, tiny_params

pytestmark = pytest.mark.integration

VERDICT = paths.gate_verdict("prod")


@pytest.fixture(scope="module")
def verified(seed_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return reproduce(copy_project(seed_project, tmp_path_factory.mktemp("verify")))


def _edit(path: Path, change: Any) -> bytes:
    saved = path.read_bytes()
    raw = json.loads(saved) if path.suffix == ".json" else yaml.safe_load(saved)
    change(raw)
    path.write_text(json.dumps(raw) if path.suffix == ".json" else yaml.safe_dump(raw, sort_keys=False))
    return saved


@pytest.fixture
def restore(verified: Project) -> Iterator[dict[Path, bytes]]:
    saved: dict[Path, bytes] = {}
    yield saved
    for path, data in saved.items():
        path.write_bytes(data)


def test_the_committed_verdicts_and_model_verify(verified: Project) -> None:
    done = verified.rollgate("gate", "--verify")
    assert "gate --verify (prod): gates/prod.json is what the inputs give" in done.stdout
    assert "gate --verify (staging): gates/staging.json is what the inputs give" in done.stdout
    trained = verified.rollgate("train", "--verify")
    assert "retrained without any cache on 2 threads" in trained.stdout and "as recorded" in trained.stdout


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda v: v.update(verdict="promote" if v["verdict"] != "promote" else "reject"), "verdict: recorded"),
        (lambda v: v["reasons"][-1].update(passed=not v["reasons"][-1]["passed"]), ".passed: recorded"),
        (lambda v: v["challenger"]["metrics"].update(roc_auc=0.999), "challenger.metrics.roc_auc: recorded 0.999"),
        (lambda v: v["policy"].update(min_effect=0.001), "policy.min_effect: recorded 0.001"),
    ],
    ids=["verdict", "a-reason", "a-metric", "the-policy"],
)
def test_a_hand_edited_verdict_is_named(verified: Project, restore: dict[Path, bytes], change: Any, named: str) -> None:
    path = verified.path / VERDICT
    restore[path] = _edit(path, change)
    done = verified.rollgate("gate", "--verify", "--env", "prod", check=False)
    assert done.returncode == 1, done.stdout
    assert "gates/prod.json differs from the verdict the inputs give" in done.stdout and named in done.stdout


def test_a_verdict_judging_another_model_is_refused(verified: Project, restore: dict[Path, bytes]) -> None:
    path = verified.path / VERDICT
    restore[path] = _edit(path, lambda v: v["challenger"].update(sha256="0" * 64))
    done = verified.rollgate("gate", "--verify", check=False)
    assert done.returncode == 1 and "gates/prod.json judged 000000000000" in done.stderr


def test_a_patched_lock_entry_fails_the_retrain(verified: Project, restore: dict[Path, bytes]) -> None:
    """dvc.lock and models/model.json claim another model: retraining from the data says which bytes it got."""
    lock = verified.path / "dvc.lock"

    def patch(raw: dict[str, Any]) -> None:
        for out in raw["stages"]["train"]["outs"]:
            if out["path"] == str(paths.MODEL_ARTIFACT):
                out["md5"] = "f" * 32

    restore[lock] = _edit(lock, patch)
    done = verified.rollgate("train", "--verify", check=False)
    assert done.returncode == 1
    assert f"dvc.lock records {'f' * 32} for models/model.skops" in done.stderr
    assert "train --verify: the retrained model differs" in done.stderr


@pytest.mark.parametrize("threads", ["1", "4"])
def test_the_machines_thread_count_does_not_move_the_bytes(verified: Project, threads: str) -> None:
    """Training pins its thread count: with OMP_NUM_THREADS 1 or 4 in the environment, the same bytes."""
    env = {**verified.env, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    done = Project(verified.path, env).rollgate("train", "--verify", check=False)
    assert done.returncode == 0, done.stderr


def test_the_base_policy_judges(verified: Project) -> None:
    """A pull request that loosens the gate: judged by the base's policy, its verdict no longer verifies."""
    base = verified.git("rev-parse", "HEAD").stdout.strip()
    verified.write_params(tiny_params(gate={"min_effect": 0.05}))
    verified.dvc("repro", "-q", "--single-item", "dvc.yaml")
    verified.commit("a pull request: a larger designed effect")
    try:
        assert verified.rollgate("gate", "--verify").returncode == 0  # by its own policy, it is right
        done = verified.rollgate("gate", "--verify", "--base", base, check=False)
        assert done.returncode == 1
        assert f"under the gate policy of {base}" in done.stdout
        assert "policy.min_effect: recorded 0.05, recomputed" in done.stdout
    finally:
        verified.git("reset", "-q", "--hard", base)
        verified.dvc("checkout", "-q", "--force")


def test_an_unknown_base_is_a_clear_error(verified: Project) -> None:
    done = verified.rollgate("gate", "--verify", "--base", "no-such-ref", check=False)
    assert done.returncode == 1 and "no-such-ref" in done.stderr and "Traceback" not in done.stderr
    assert "--base REF goes with --verify" in verified.rollgate("gate", "--base", "HEAD", check=False).stderr


# --- the comparison itself -------------------------------------------------------------------------


def test_differences_name_each_path() -> None:
    from rollgate.pipeline.verify import differences

    recorded = {"a": 1, "b": {"c": [1, 2], "d": None}, "gone": 1}
    again = {"a": 1, "b": {"c": [1, 3], "d": 0.5}, "new": 2}
    assert differences(recorded, again) == [
        "b.c[1]: recorded 2, recomputed 3",
        "b.d: recorded None, recomputed 0.5",
        "gone: recorded 1, recomputed None",
        "new: recorded None, recomputed 2",
    ]
    assert differences(recorded, recorded) == []


@pytest.mark.parametrize(
    ("recorded", "measured", "flagged"),
    [(1.0, 1.2, False), (1.0, 0.7, False), (1.0, 2.0, True), (3.0, 1.0, True), (None, 1.0, True)],
)
def test_latency_is_re_measured_within_a_stated_tolerance(
    recorded: float | None, measured: float, flagged: bool
) -> None:
    from rollgate.gate.evidence import Latency
    from rollgate.pipeline.verify import LATENCY_TOLERANCE, _latency_drift

    assert LATENCY_TOLERANCE == 1.5
    found = _latency_drift({"ratio": recorded}, Latency(1e-5, measured * 1e-5))
    assert bool(found) is flagged, found
    if flagged and recorded:
        assert "beyond the x1.5 tolerance" in found[0]


@pytest.mark.parametrize(
    ("answers", "expected", "measured"),
    [
        ([["latency.ratio: burst"], []], [], 2),  # one noisy measurement: measured again, and it holds
        ([["latency.ratio: forged"]] * 3, ["latency.ratio: forged"], 3),  # past the tolerance every time
        ([["verdict: recorded 'promote'"]], ["verdict: recorded 'promote'"], 1),  # not latency: stands at once
        ([[]], [], 1),
    ],
)
def test_only_a_latency_drift_is_measured_again_and_stands_when_it_persists(
    monkeypatch: pytest.MonkeyPatch, answers: list[list[str]], expected: list[str], measured: int
) -> None:
    from rollgate.pipeline import verify

    calls: list[int] = []
    monkeypatch.setattr(verify.gate_stage, "evidence", lambda *args: calls.append(1) or len(calls))
    monkeypatch.setattr(verify, "compare", lambda recorded, found, policy: answers[found - 1])
    assert verify._judged_again(Path(), "prod", None, None, 0.01) == expected  # type: ignore[arg-type]
    assert len(calls) == measured
