"""The pull-request comment as Markdown: pure formatting over the pipeline's JSON outputs.

`collect` gathers the inputs (files, git, the DVC cache); this module only writes text, so every
line of the comment is testable from a dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollgate.contracts import markers
from rollgate.report.shift import ColumnShift

MARKER = markers.REPORT  # the workflow finds and updates its one sticky comment by this
ICONS = {"promote": "✅", "rollback": "↩️", "same_model": "⏸️", "reject": "❌"}


@dataclass(frozen=True)
class DataDiff:
    base_md5: str | None
    head_md5: str
    rows_base: int
    rows_head: int
    files_added: tuple[str, ...] = ()
    files_removed: tuple[str, ...] = ()
    files_changed: tuple[str, ...] = ()
    shift: tuple[ColumnShift, ...] = ()
    compared: str = ""  # what the shift compares, in words

    @property
    def changed(self) -> bool:
        return self.base_md5 != self.head_md5


@dataclass(frozen=True)
class Inputs:
    base: str
    validation: dict[str, Any]
    params: tuple[tuple[str, Any, Any], ...]  # (dotted key, base value, head value) that differ
    data: DataDiff | None
    gates: tuple[dict[str, Any], ...]  # one verdict per environment, each against its own champion
    plots: tuple[tuple[str, str], ...] = ()  # (title, path or URL)
    manifests: dict[str, str] = field(default_factory=dict)  # env -> the diff merging would apply there
    notes: tuple[str, ...] = field(default_factory=tuple)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"`{value}`" if isinstance(value, str) else str(value)


def _raw(value: Any) -> str:
    """A params value as written in params.yaml (absent when the key does not exist on that side)."""
    return "(absent)" if value is None else f"`{value}`"


def _validation(v: dict[str, Any]) -> list[str]:
    if v.get("passed"):
        rate = v.get("label_rate")
        return [f"✅ **Data validation passed**: {v.get('rows', 0):,} rows in {v.get('files', 0)} files, "
                f"label rate {_num(rate)}."]  # fmt: skip
    lines = [f"❌ **Data validation failed**: {len(v.get('failures', []))} broken checks.", "",
             "| column | check | rows | examples |", "|---|---|---:|---|"]  # fmt: skip
    for f in v.get("failures", []):
        examples = "; ".join(
            f"{e.get('file', '?')} row {e.get('row', '?')}: `{e.get('value')!r}`" for e in f.get("examples", [])[:3]
        )
        lines.append(f"| `{f['column']}` | {f['check']} | {f['count']:,} | {examples} |")
    return lines


def _params(changes: tuple[tuple[str, Any, Any], ...], base: str) -> list[str]:
    if not changes:
        return [f"No change to `params.yaml` against `{base}`."]
    lines = ["| key | base | this PR |", "|---|---|---|"]
    lines += [f"| `{key}` | {_raw(old)} | {_raw(new)} |" for key, old, new in changes]
    return lines


def _data(d: DataDiff | None, base: str) -> list[str]:
    if d is None or not d.changed:
        return [f"No change to the data against `{base}`."]
    added = d.rows_head - d.rows_base
    lines = [f"{d.rows_base:,} → {d.rows_head:,} rows ({added:+,}); files added {len(d.files_added)}, "
             f"removed {len(d.files_removed)}, changed {len(d.files_changed)}."]  # fmt: skip
    if d.shift:
        lines += ["", f"Shift per column ({d.compared}; PSI > 0.1 moderate, > 0.25 major):", "",
                  "| column | PSI | KS | base | new | |", "|---|---:|---:|---|---|---|"]  # fmt: skip
        for s in d.shift:
            flag = {"major": "⚠️ major", "moderate": "moderate"}.get(s.level, "")
            lines.append(f"| `{s.column}` | {s.psi:.3f} | {_num(s.ks, 3)} | {s.base} | {s.new} | {flag} |")
    return lines


def _interval(model: dict[str, Any] | None) -> str:
    bounds = (model or {}).get("intervals", {}).get("primary")
    return f"[{_num(bounds[0])}, {_num(bounds[1])}]" if bounds and None not in bounds else ""


def _models(g: dict[str, Any]) -> list[str]:
    champ, chall = g.get("champion"), g["challenger"]
    metric = g["policy"]["primary_metric"]
    if champ is None:
        lines = [f"No champion in `{g['env']}` yet: the challenger is judged on the absolute floors only.", ""]
    else:
        lines = [f"Champion `{champ['sha256'][:12]}` vs challenger `{chall['sha256'][:12]}` on the same holdout.", ""]
    lines += ["| metric | champion | challenger |", "|---|---:|---:|"]
    for name in sorted(chall["metrics"]):
        old = _num((champ or {}).get("metrics", {}).get(name)) if champ else "—"
        new = _num(chall["metrics"][name])
        if name == metric:
            old, new = (f"{value} {_interval(model)}".rstrip() for value, model in ((old, champ), (new, chall)))
        lines.append(f"| {name} | {old} | {new} |")
    c = g.get("comparison")
    if c:
        lines += ["", f"**{metric} difference** {c['difference']:+.4f}, {c['confidence']:.1%} one-sided bounds "
                  f"[{_num(c['lower'])}, {_num(c['upper'])}] ({c['method']})."]  # fmt: skip
    lat = g.get("latency")
    if lat and lat.get("ratio") is not None:
        lines.append(f"Predict time per row: {lat['ratio']:.2f} times the champion's.")
    op = g.get("operating_point")
    if op and op["rows"]:
        lines.append(f"Rows flagged at the threshold each ships: champion {op['champion_flagged'] / op['rows']:.2%} "
                     f"(threshold {op['champion_threshold']:.4g}), challenger "
                     f"{op['challenger_flagged'] / op['rows']:.2%} ({op['challenger_threshold']:.4g}).")  # fmt: skip
    return lines


def _segments(g: dict[str, Any]) -> list[str]:
    segments = g.get("segments") or []
    if not segments:
        return ["No per-segment comparison (no champion to compare with)."]
    lines = ["| segment | rows | positives | champion | challenger | difference | adj. p(worse) |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in segments:
        name = f"{s['column']}={s['value']}"
        if not s["judged"]:
            lines.append(f"| {name} | {s['rows']:,} | {s['positives']} | not judged (too small) | | | |")
            continue
        lines.append(f"| {name} | {s['rows']:,} | {s['positives']} | {_num(s['champion'])} | "
                     f"{_num(s['challenger'])} | {s['difference']:+.4f} | {_num(s['p_adjusted'], 3)} |")  # fmt: skip
    return lines


def _verdict(g: dict[str, Any]) -> list[str]:
    name = g["verdict"]
    lines = [f"#### {ICONS.get(name, '')} Gate verdict: **{name}**", ""]
    lines += [f"- {'✅' if r['passed'] else '❌'} **{r['criterion']}**: {r['message']}" for r in g["reasons"]]
    return lines


def _summary(gates: tuple[dict[str, Any], ...]) -> list[str]:
    return [f"- {ICONS.get(g['verdict'], '')} `{g['env']}`: **{g['verdict']}**" for g in gates]


def _environment(g: dict[str, Any], diff: str | None) -> list[str]:
    """One environment's part: its verdict with every reason, the models, segments, manifest diff."""
    parts = ["", f"### `{g['env']}`", "", *_verdict(g)]
    parts += ["", "#### Champion vs challenger", "", *_models(g), "", "#### Segments", "", *_segments(g)]
    if diff is not None:
        parts += ["", "#### Manifests merging would apply", "", "<details><summary>diff</summary>", "",
                  "```diff", diff.strip() or "(no change)", "```", "", "</details>"]  # fmt: skip
    return parts


def render(inputs: Inputs) -> str:
    """The whole comment: one Markdown document, sections in a fixed order, then one part per environment."""
    sha = inputs.gates[0]["challenger"]["sha256"][:12] if inputs.gates else "?"
    envs = ", ".join(f"`{g['env']}`" for g in inputs.gates)
    parts = [MARKER, f"## rollgate: `{sha}` against {envs}", "", *_summary(inputs.gates)]
    sections = (
        ("Data validation", _validation(inputs.validation)),
        ("Params", _params(inputs.params, inputs.base)),
        ("Data", _data(inputs.data, inputs.base)),
    )
    for title, lines in sections:
        parts += ["", f"### {title}", "", *lines]
    for g in inputs.gates:
        parts += _environment(g, inputs.manifests.get(g["env"]))
    if inputs.plots:
        parts += ["", "### Plots", "", *(f"- [{title}]({link})" for title, link in inputs.plots)]
    parts += [f"\n_{n}_" for n in inputs.notes]
    return "\n".join(parts).rstrip() + "\n"
