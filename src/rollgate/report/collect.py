"""Gathering what the pull-request report shows: JSON outputs of the stages, the base's params and
data from git and the DVC cache. All the I/O of `rollgate report` is here; `markdown` only formats."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rollgate.adapters import dvc, dvc_store, git
from rollgate.contracts import atomic, model_metadata, paths, reports, verdict
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.params import flatten
from rollgate.report import markdown, shift

BASE = "--base"  # how the report names the base commit in errors


def _show(root: Path, ref: str, path: str) -> str | None:
    git.require_commit(root, ref, BASE)
    return git.show(root, ref, path)


def params_diff(root: Path, base: str) -> tuple[tuple[str, Any, Any], ...]:
    """(dotted key, base value, head value) for every params key that differs; None where absent."""
    old = flatten(yaml.safe_load(_show(root, base, str(paths.PARAMS)) or "") or {})
    new = flatten(yaml.safe_load((root / paths.PARAMS).read_text(encoding="utf-8")) or {})
    keys = sorted(set(old) | set(new))
    return tuple((k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _md5(dvc_text: str | None, source: str) -> str | None:
    return None if dvc_text is None else dvc.recorded_md5(dvc_text, source)


def _listing(root: Path, md5: str | None) -> dict[str, str]:
    return {} if md5 is None else dvc_store.dir_listing(root, md5)


def _frame(root: Path, files: dict[str, str], names: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(io.BytesIO(dvc_store.read_object(root, md5, rel))) for rel, md5 in sorted(files.items())]
    return pd.concat(frames, ignore_index=True)[names] if frames else pd.DataFrame(columns=names)


def data_diff(root: Path, base: str, columns: list[str]) -> markdown.DataDiff:
    """Rows and files added, removed or changed against `base`, and the shift of what was added."""
    head_md5 = _md5((root / paths.DATA_DVC).read_text(encoding="utf-8"), str(paths.DATA_DVC))
    base_md5 = _md5(_show(root, base, str(paths.DATA_DVC)), f"{paths.DATA_DVC}@{base}")
    if head_md5 is None:
        raise RollgateError(f"{paths.DATA_DVC}: records no output")
    head, old = _listing(root, head_md5), _listing(root, base_md5) if base_md5 != head_md5 else None
    if old is None:
        return markdown.DataDiff(base_md5, head_md5, 0, 0)
    fresh = {rel: md5 for rel, md5 in head.items() if old.get(rel) != md5}
    base_frame, head_frame = _frame(root, old, columns), _frame(root, head, columns)
    new_frame = _frame(root, fresh, columns) if fresh else head_frame
    return markdown.DataDiff(
        base_md5=base_md5,
        head_md5=head_md5,
        rows_base=len(base_frame),
        rows_head=len(head_frame),
        files_added=tuple(sorted(set(head) - set(old))),
        files_removed=tuple(sorted(set(old) - set(head))),
        files_changed=tuple(sorted(rel for rel in set(head) & set(old) if head[rel] != old[rel])),
        shift=tuple(shift.shifts(base_frame, new_frame, columns)),
        compared="new and changed files against the base data" if fresh else "the data against the base",
    )


def _plots(root: Path, url: str | None) -> tuple[tuple[str, str], ...]:
    return tuple(
        (spec.get("title", path), f"{url.rstrip('/')}/{path}" if url else path) for path, spec in dvc.plots(root)
    )


def collect(root: Path, base: str, plots_url: str | None = None) -> markdown.Inputs:
    """Everything the report shows, read from the outputs of a finished `dvc repro`."""
    git.require_commit(root, base, BASE)
    report = root / paths.VALIDATION_REPORT
    validation = (
        reports.read_validation_report(report)
        if report.exists()
        else reports.read_validate_summary(root / paths.VALIDATE_METRICS)
    )
    gates = tuple(verdict.read(root / paths.gate_verdict(env)).to_dict() for env in paths.environments(root))
    names = [*model_metadata.read(root / paths.MODEL_METADATA).features.names, DATASET.label]
    notes: list[str] = []
    try:
        data: markdown.DataDiff | None = data_diff(root, base, names)
    except RollgateError as exc:
        data, notes = None, [f"data diff unavailable: {exc}"]
    from rollgate.delivery import preview

    manifests: dict[str, str] = {}
    for g in gates:
        try:
            manifests[g["env"]] = preview.manifest_diff(root, g["env"])
        except RollgateError as exc:
            notes.append(f"manifest diff of {g['env']} unavailable: {exc}")
    return markdown.Inputs(
        base=base,
        validation=validation,
        params=params_diff(root, base),
        data=data,
        gates=gates,
        plots=_plots(root, plots_url),
        manifests=manifests,
        notes=(*notes, f"`dvc plots diff {base}` draws these plots against the base."),
    )


def write(root: Path, base: str, out: Path, plots_url: str | None = None) -> Path:
    """`rollgate report`: collect, format, write (atomically) and return the path."""
    text = markdown.render(collect(root, base, plots_url))
    target = out if out.is_absolute() else root / out
    atomic.write_text(target, text)
    return target
