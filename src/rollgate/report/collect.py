"""Gathering what the pull-request report shows: JSON outputs of the stages, the base's params and
data from git and the DVC cache. All the I/O of `rollgate report` is here; `markdown` only formats."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rollgate.contracts import model_metadata, paths, verdict
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import LABEL
from rollgate.pipeline import dvcstore
from rollgate.report import markdown, shift


def _require_commit(root: Path, ref: str) -> None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd=root, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RollgateError(f"--base {ref}: not a commit in this repository (fetch it first?)")


def _show(root: Path, ref: str, path: str) -> str | None:
    """A file's text at `ref`, or None when it did not exist there."""
    _require_commit(root, ref)
    done = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(obj, dict):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def params_diff(root: Path, base: str) -> tuple[tuple[str, Any, Any], ...]:
    """(dotted key, base value, head value) for every params key that differs; None where absent."""
    old = _flatten(yaml.safe_load(_show(root, base, str(paths.PARAMS)) or "") or {})
    new = _flatten(yaml.safe_load((root / paths.PARAMS).read_text(encoding="utf-8")) or {})
    keys = sorted(set(old) | set(new))
    return tuple((k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _md5(dvc_text: str | None) -> str | None:
    return None if dvc_text is None else str(yaml.safe_load(dvc_text)["outs"][0]["md5"])


def _listing(root: Path, md5: str | None) -> dict[str, str]:
    if md5 is None:
        return {}
    entries = json.loads(dvcstore.read_object(root, md5, "data listing"))
    return {e["relpath"]: e["md5"] for e in entries}


def _frame(root: Path, files: dict[str, str], names: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(io.BytesIO(dvcstore.read_object(root, md5, rel))) for rel, md5 in sorted(files.items())]
    return pd.concat(frames, ignore_index=True)[names] if frames else pd.DataFrame(columns=names)


def data_diff(root: Path, base: str, columns: list[str]) -> markdown.DataDiff:
    """Rows and files added, removed or changed against `base`, and the shift of what was added."""
    head_md5 = _md5((root / paths.DATA_DVC).read_text(encoding="utf-8"))
    base_md5 = _md5(_show(root, base, str(paths.DATA_DVC)))
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
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    out = []
    for entry in pipeline.get("plots", []):
        ((path, spec),) = entry.items()
        out.append((spec.get("title", path), f"{url.rstrip('/')}/{path}" if url else path))
    return tuple(out)


def collect(root: Path, base: str, plots_url: str | None = None) -> markdown.Inputs:
    """Everything the report shows, read from the outputs of a finished `dvc repro`."""
    _require_commit(root, base)
    report = root / paths.VALIDATION_REPORT
    validation = json.loads((report if report.exists() else root / paths.VALIDATE_METRICS).read_text())
    gate = verdict.read(root / paths.GATE_VERDICT).to_dict()
    names = [*model_metadata.read(root / paths.MODEL_METADATA).features.names, LABEL]
    notes: list[str] = []
    try:
        data: markdown.DataDiff | None = data_diff(root, base, names)
    except RollgateError as exc:
        data, notes = None, [f"data diff unavailable: {exc}"]
    try:
        from rollgate.delivery import preview

        manifests: str | None = preview.manifest_diff(root, gate["env"])
    except RollgateError as exc:
        manifests, notes = None, [*notes, f"manifest diff unavailable: {exc}"]
    return markdown.Inputs(
        base=base,
        validation=validation,
        params=params_diff(root, base),
        data=data,
        gate=gate,
        plots=_plots(root, plots_url),
        manifests=manifests,
        notes=(*notes, f"`dvc plots diff {base}` draws these plots against the base."),
    )


def write(root: Path, base: str, out: Path, plots_url: str | None = None) -> Path:
    """`rollgate report`: collect, format, write (atomically) and return the path."""
    text = markdown.render(collect(root, base, plots_url))
    target = out if out.is_absolute() else root / out
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
