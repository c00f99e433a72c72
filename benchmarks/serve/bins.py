"""`--bins`: what counting every scored row into the baseline's bins costs rollgate, single-row, counters
on against off, in one run.

Both servers get a release record for the same model (`--release`): one without a baseline (no bin
counters), one with the model's baseline bins (`reports/baseline.json` beside the model's folder), and
they are measured in alternating rounds (`benchmarks.serve.pair`). The counting is also timed
in-process (`BinCounts.count` of one row, flushes included, on the real counters) and stated as a share
of a counters-off request's time (one worker: 1 / its req/s). Goal: under 5 % of single-row
throughput.
"""

from __future__ import annotations

import dataclasses
import json
import timeit
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.serve import load, pair, servers
from benchmarks.serve.bodies import Requests


@dataclass(frozen=True)
class Bins:
    pair: pair.Rounds  # counters off and on, in alternating rounds
    count_us: float  # one row counted into every feature's bins, in-process

    @property
    def share(self) -> float:
        return self.count_us * 1e-6 * self.pair.off.rps


def _releases(model_dir: Path, work: Path) -> tuple[Path, Path, dict[str, list[object]]]:
    """Release records of the model without and with its baseline; one row's columns to count."""
    from rollgate.contracts import baseline, model_metadata, paths, release
    from rollgate.contracts.probe import probe_frame

    meta = model_metadata.read(model_dir / paths.MODEL_METADATA.name)
    source = model_dir.parent / paths.BASELINE
    if not source.is_file():
        raise SystemExit(f"bench-serve --bins: no baseline at {source} (`make repro` or `dvc pull` writes it)")
    doc, sha = baseline.read(source)
    served = baseline.served(doc, sha, meta.features.names, str(source))
    plain = release.Release(
        env="bench", features=meta.features, threshold=0.5, metrics={},
        model=release.ModelRef(meta.name, meta.sha256, "file:///bench", "0" * 32, meta.prediction_fingerprint),
        lineage=release.Lineage("0" * 40, meta.data_md5, meta.params_hash, "bench"),
        gate=release.GateRef("promote", None), image=release.Image("rollgate", "sha256:" + "0" * 64),
        promoted_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    off, on = work / "release-off.json", work / "release-on.json"
    release.write(off, plain)
    release.write(on, dataclasses.replace(plain, baseline=served))
    row = json.loads(probe_frame(meta.features, 1).to_json(orient="records"))[0]  # as a request sends it
    return off, on, {name: [row[name]] for name in meta.features.names}


def _count_us(on: Path, columns: dict[str, list[object]], calls: int = 50_000) -> float:
    from rollgate.contracts import release
    from rollgate.serve.metrics import ServerMetrics

    rel = release.read(on)
    assert rel is not None and rel.baseline is not None
    counts = ServerMetrics("bench", "0" * 64, rel.baseline).bins
    assert counts is not None
    return timeit.timeit(lambda: counts.count(columns, 1), number=calls) / calls * 1e6


def _check_counts(admin_url: str) -> None:
    with urllib.request.urlopen(f"{admin_url}/metrics", timeout=10) as answer:
        if b"rollgate_feature_bin_total{" not in answer.read():
            raise SystemExit("the server with a baseline exports no rollgate_feature_bin_total: nothing to measure")


def measure(
    new_launch: Callable[[], servers.Launch], model_dir: Path, req: Requests, work: Path, *, seconds: int, clients: int
) -> Bins:
    """Two of `new_launch()` (rollgate), one with the release record without bins and one with them."""
    off_record, on_record, columns = _releases(model_dir, work)
    plain, binned = new_launch(), new_launch()
    off = dataclasses.replace(plain, argv=[*plain.argv, "--release", str(off_record)])
    on = dataclasses.replace(binned, name="rollgate-bins", argv=[*binned.argv, "--release", str(on_record)])
    script = load.lua(work / "bins.lua", req.path, req.one)
    admin = f"http://127.0.0.1:{on.admin_port}" if on.admin_port else on.url
    r = pair.alternate(pair.Side(off, script), pair.Side(on, script), work, seconds=seconds, clients=clients,
                       check=lambda _off, _on: _check_counts(admin))  # fmt: skip
    return Bins(r, _count_us(on_record, columns))


def table(b: Bins, clients: int) -> str:
    lines = [f"\nrollgate single-row, {clients} clients, feature bin counters off and on, "
             f"{b.pair.rounds} alternating rounds of {pair.ROUND_S} s; medians"]  # fmt: skip
    lines += pair.rows("bins", b.pair)
    lines.append(f"  counting a row in-process: {b.count_us:.2f} us, {b.share:.1%} of a counters-off request")
    return "\n".join(lines)


def goal(b: Bins) -> str:
    return f"bin counters on: {b.pair.ratio:.3f}x off, counting {b.share:.1%} of a request (goal: under 5 %)"


def last_line(b: Bins) -> str:
    return f"bins_ratio={b.pair.ratio:.3f} bins_count_us={b.count_us:.2f} bins_count_share={b.share:.4f}"
