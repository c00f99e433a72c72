"""Unified diffs between a committed folder of manifests and freshly rendered texts: what
`check-manifests` reports and what `make demo` and the PR report show merging would change."""

from __future__ import annotations

import difflib
from pathlib import Path


def diff(committed: Path, texts: dict[str, str], label: str, pattern: str = "*.yaml") -> str:
    """Unified diff from the files matching `pattern` in `committed` to `texts` (empty when identical)."""
    found = sorted(committed.glob(pattern)) if committed.is_dir() else []
    old = {p.name: p.read_text(encoding="utf-8") for p in found}
    chunks: list[str] = []
    for name in sorted(set(old) | set(texts)):
        a, b = old.get(name, ""), texts.get(name, "")
        if a != b:
            chunks += difflib.unified_diff(
                a.splitlines(keepends=True), b.splitlines(keepends=True), f"a/{label}/{name}", f"b/{label}/{name}"
            )
    return "".join(chunks)
