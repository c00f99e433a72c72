"""Every scored row counted into the baseline's bins (`rollgate_feature_bin_total`), row for row as the
monitor bins the same rows, with the reference shares beside; a release whose bins are not the model's
features is refused at start."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from rollgate.contracts import baseline, metrics, release
from rollgate.contracts.bins import FeatureBins, ServedBaseline
from rollgate.contracts.probe import probe_frame
from rollgate.data.schema import DATASET
from rollgate.model import artifact
from rollgate.monitor import reference
from rollgate.monitor.baseline import Reference
from rollgate.serve.bin_counts import FLUSH_EVERY_S, BinCounts
from tests.serve.conftest import Server, TinyModel, start_server

# Rows the server receives and the monitor reads alike: the example's sample.
ROWS = 300


def _rows(model: TinyModel, gaps: bool = False) -> pd.DataFrame:
    """The example's rows; with `gaps`, a numeric and a categorical feature missing in every 7th row
    (what an optional field's absence looks like once validated)."""
    frame = DATASET.sample(ROWS, seed=11)[model.contract.names].copy()
    if gaps:
        numeric = next(f.name for f in model.contract.features if f.type == "float")
        category = next(f.name for f in model.contract.features if f.type == "category")
        frame[numeric] = frame[numeric].astype("float64")
        frame.loc[frame.index[::7], numeric] = np.nan
        frame[category] = frame[category].astype("object")
        frame.loc[frame.index[::7], category] = None
    return frame


def _built(model: TinyModel, tmp: Path) -> tuple[Reference, ServedBaseline]:
    """A baseline as the evaluate stage writes it, and the part a release record carries of it."""
    training = DATASET.sample(4_000, seed=5)
    categorical = [f.name for f in model.contract.features if f.type == "category"]
    numeric = [n for n in model.contract.names if n not in categorical]
    holdout = reference.Holdout(np.linspace(0.01, 0.99, 200), np.arange(200) % 2, 0.5)
    built = reference.build_reference(
        training, ["2026-W01"] * len(training), numeric=numeric, categorical=categorical, holdout=holdout
    )
    path = tmp / "baseline.json"
    baseline.write(path, built.to_dict(), model.sha256, [0.5] * len(metrics.SCORE_BUCKETS))
    doc, sha = baseline.read(path)
    return built, baseline.served(doc, sha, model.contract.names, str(path))


def _monitor_counts(built: Reference, frame: pd.DataFrame) -> dict[tuple[str, int], int]:
    out = {}
    for f in built.features:
        for code, n in enumerate(np.bincount(f.codes(frame), minlength=len(f.counts))):
            out[f.name, code] = int(n)
    return out


def _jsonable(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return [{k: v for k, v in row.items() if v is not None} for row in rows]  # a gap: the field left out


@pytest.mark.unit
def test_counts_match_the_monitors_bins_value_by_value_and_in_batches(tiny_model: TinyModel, tmp_path: Path) -> None:
    built, served = _built(tiny_model, tmp_path)
    frame = _rows(tiny_model, gaps=True)
    registry = CollectorRegistry()
    counter = Counter("bins", "", ("feature", "bin"), registry=registry)
    counts = BinCounts(served, counter, Gauge("share", "", ("feature", "bin"), registry=registry))
    columns = {n: [None if pd.isna(v) else v for v in frame[n].tolist()] for n in frame.columns}
    counts.count({n: v[:10] for n, v in columns.items()}, 10)  # value by value
    counts.count({n: v[10:] for n, v in columns.items()}, ROWS - 10)  # with numpy
    counts.flush()
    expected = _monitor_counts(built, frame)
    for f in served.features:
        for code, label in enumerate(f.labels):
            got = registry.get_sample_value("bins_total", {"feature": f.name, "bin": label}) or 0.0
            assert got == expected[f.name, code], (f.name, label)
            share = registry.get_sample_value("share", {"feature": f.name, "bin": label})
            assert share == pytest.approx(built.feature(f.name).counts[code] / built.feature(f.name).rows)


@pytest.mark.unit
def test_edges_gaps_and_categories_fall_where_the_monitor_puts_them() -> None:
    numeric = FeatureBins("x", "numeric", (0.25, 0.25, 0.25, 0.25, 0.0), edges=(1.0, 2.0, 3.0))
    assert [numeric.code(v) for v in (0.5, 1.0, 1.5, 2.0, 3.0, 99, None, float("nan"), True)] == [
        0, 1, 1, 2, 3, 3, 4, 4, 1,
    ]  # fmt: skip
    assert numeric.labels == ("0", "1", "2", "3", metrics.MISSING_BIN)
    cat = FeatureBins("c", "categorical", (0.5, 0.3, 0.2), categories=("a", "<missing>"))
    assert [cat.code(v) for v in ("a", "b", None)] == [0, 2, 1]
    assert cat.labels == ("a", "<missing>", metrics.UNSEEN_BIN)


@pytest.mark.unit
def test_bins_that_are_not_the_models_features_are_refused(tiny_model: TinyModel, tmp_path: Path) -> None:
    _, served = _built(tiny_model, tmp_path)
    with pytest.raises(Exception, match="baseline bins are for features"):
        served.check_features(tiny_model.contract.names[1:], "release.json")


def _release(tmp: Path, model: TinyModel, served: ServedBaseline | None) -> Path:
    rel = release.Release(
        env="staging",
        model=release.ModelRef(
            name="fraud-detector", sha256=model.sha256, uri="http://store.invalid/model.skops", dvc_md5="0" * 32,
            prediction_fingerprint=artifact.prediction_fingerprint(model.model, probe_frame(model.contract, 64)),
        ),
        features=model.contract, threshold=0.5,
        lineage=release.Lineage("0" * 40, "0" * 32, "0" * 64, "test"), metrics={},
        gate=release.GateRef("promote", None), image=release.Image("rollgate", "sha256:" + "0" * 64),
        promoted_at="2026-01-01T00:00:00Z", baseline=served,
    )  # fmt: skip
    path = tmp / "release.json"
    release.write(path, rel)
    return path


def _bin_samples(server: Server) -> dict[tuple[str, str], float]:
    out = {}
    for key, value in server.metrics().items():
        if key.startswith(metrics.FEATURE_BIN.name + "{"):
            labels = dict(part.split("=", 1) for part in key[len(metrics.FEATURE_BIN.name) + 1 : -1].split(","))
            out[labels["feature"].strip('"'), labels["bin"].strip('"')] = value
    return out


@pytest.mark.serve
def test_the_server_counts_every_scored_row_into_the_release_records_bins(
    tiny_model: TinyModel, tmp_path: Path
) -> None:
    built, served = _built(tiny_model, tmp_path)
    frame = _rows(tiny_model)
    server = start_server(tiny_model, tmp_path, "--release", str(_release(tmp_path, tiny_model, served)))
    try:
        rows = _jsonable(frame)
        for row in rows[:20]:  # single rows, then one batch
            assert server.json("POST", "/v1/predict", {"instances": [row]})[0] == 200
        assert server.json("POST", "/v1/predict", {"instances": rows[20:]})[0] == 200
        time.sleep(FLUSH_EVERY_S + 0.5)  # an idle server's counts reach /metrics within a second
        got = _bin_samples(server)
        shares = server.metrics()
    finally:
        server.stop()
    expected = _monitor_counts(built, frame)
    for f in served.features:
        assert sum(got.get((f.name, label), 0.0) for label in f.labels) == ROWS, f.name
        for code, label in enumerate(f.labels):
            assert got.get((f.name, label), 0.0) == expected[f.name, code], (f.name, label)
    share_key = f'{metrics.FEATURE_REFERENCE_SHARE.name}{{bin="0",feature="{served.features[0].name}"}}'
    assert shares[share_key] == pytest.approx(served.features[0].shares[0])


@pytest.mark.serve
def test_a_release_whose_bins_are_not_the_models_features_is_refused_at_start(
    tiny_model: TinyModel, tmp_path: Path
) -> None:
    _, served = _built(tiny_model, tmp_path)
    wrong = ServedBaseline(served.sha256, served.features[1:], served.score_le, served.score_cdf)
    path = _release(tmp_path, tiny_model, wrong)
    out = start_server(tiny_model, tmp_path, "--release", str(path), wait=False).refusal()
    assert f"{path}: baseline bins are for features" in out
