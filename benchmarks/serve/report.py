"""The printed tables, the goals (PRODUCT.md), and the last, machine-readable line."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.serve.load import Load, Probes

BATCH_ROWS = 1_000
SINGLE_CLIENTS, LOADED_CLIENTS = 8, 4
NAMES = {"rollgate": "rollgate serve", "mlflow": "mlflow models serve", "mlserver": "MLServer (batching)"}


@dataclass(frozen=True)
class Figures:
    """Everything one run measured."""

    workers: int
    single: dict[str, Load]  # server -> single-row load at SINGLE_CLIENTS clients
    batch_rows_s: dict[str, float]  # rollgate, mlflow (1 client) and the in-process baseline, in rows/s
    loaded_rows_s: float  # rollgate under LOADED_CLIENTS clients of batches, while probed
    healthz: Probes
    healthz_port: str  # "admin" or "scoring"

    @property
    def ratios(self) -> dict[str, float]:
        ours = self.single["rollgate"].rps
        return {
            "throughput_ratio": ours / self.single["mlflow"].rps,
            "mlserver_ratio": ours / self.single["mlserver"].rps,
            "batch_ratio": self.batch_rows_s["rollgate"] / self.batch_rows_s["in-process baseline"],
        }


def table(f: Figures) -> str:
    lines = [f"\nsingle-row requests, {SINGLE_CLIENTS} clients, {f.workers} worker(s) each, OMP_NUM_THREADS=1"]
    lines.append(f"  {'server':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for key, r in f.single.items():
        lines.append(f"  {NAMES[key]:<22}{r.rps:>10.1f}{r.p50:>10.2f}{r.p99:>10.2f}{r.non2xx:>10}")
    lines += [f"\n{BATCH_ROWS}-row batches, 1 client", f"  {'':<22}{'rows/s':>10}"]
    lines += [f"  {NAMES.get(key, key):<22}{rate:>10.0f}" for key, rate in f.batch_rows_s.items()]
    h = f.healthz
    lines += [
        f"\nGET /healthz on rollgate's {f.healthz_port} port, one client, while {LOADED_CLIENTS} clients send "
        f"{BATCH_ROWS}-row batches ({f.loaded_rows_s:.0f} rows/s)",
        f"  probes {len(h.latencies)}, failed {h.failures}, p50 {h.p50:.2f} ms, p99 {h.p99:.2f} ms",
    ]
    return "\n".join(lines)


def goals(f: Figures) -> str:
    r = f.ratios
    return (
        f"\nthroughput {r['throughput_ratio']:.1f}x mlflow (goal >= 40), {r['mlserver_ratio']:.1f}x MLServer "
        f"(goal >= 10), p99 {f.single['rollgate'].p99:.2f} ms (goal < 15), batch {r['batch_ratio']:.2f}x "
        f"in-process (goal >= 0.85), healthz p99 {f.healthz.p99:.2f} ms (goal <= 50)"
    )


def last_line(f: Figures) -> str:
    r = f.ratios
    return (
        f"throughput_ratio={r['throughput_ratio']:.2f} mlserver_ratio={r['mlserver_ratio']:.2f} "
        f"p99_ms={f.single['rollgate'].p99:.2f} batch_ratio={r['batch_ratio']:.2f} healthz_p99_ms={f.healthz.p99:.2f}"
    )
