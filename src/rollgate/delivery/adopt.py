"""`rollgate adopt`: the first deployment of an adopter's own model starts from "no model yet".

The template ships with the example's model pinned in every environment; a gate would judge the
adopter's first model against it (on columns it does not have). Adopting resets each environment of
`configs/deploy/` to a release record without a model (its rendered files removed, so Argo CD runs
nothing there until the first promotion), re-renders `manifests/argocd/` from the deploy configs and
writes the trust anchor `deploy-state/<env>/adopted.json`: history-based checks start at the commit
that writes it, and `rollgate check-changes` accepts that commit only as a reset to no model.
With `drop_example`, the example's batches and their objects in an in-tree DVC remote go too. Nothing is
committed: the adopter reviews the change and commits it (the next steps are printed).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from rollgate.adapters import dvc, dvc_store
from rollgate.contracts import jsonio, paths, release, trailers
from rollgate.manifests import argocd, deploy_config


def reset(root: Path, env: str, by: str = "rollgate adopt") -> list[str]:
    """`env` back to no model, with its trust anchor written; the rendered files removed."""
    folder = root / paths.release_record(env).parent
    removed = []
    if folder.is_dir():
        for rendered in sorted(folder.glob("*.yaml")):
            rendered.unlink()
            removed.append(rendered.name)
    jsonio.write(root / paths.release_record(env), release.empty(env))
    anchor = {"env": env, "reset_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "by": by}
    jsonio.write(root / trailers.anchor(env), anchor)
    return removed


def _example_recorded(root: Path, folder: str) -> bool:
    """Whether data.dvc still records the example's data (every file under its batch folder)."""
    if not (root / paths.DATA_DVC).is_file():
        return False
    listing = dvc_store.dir_listing(root, dvc.recorded_md5_of(root / paths.DATA_DVC))
    inside = PurePosixPath(folder).relative_to(paths.DATA_DIR).as_posix() + "/"
    return bool(listing) and all(name.startswith(inside) for name in listing)


def _drop_example(root: Path) -> list[str]:
    """The example's batches and the objects that data.dvc and dvc.lock name in an in-tree remote, unless
    they are the adopter's already (a dataset whose batches live in the example's folder, data recorded)."""
    from rollgate.data.example import is_active
    from rollgate.data.example.schema import BATCHES
    from rollgate.data.schema import DATASET

    said = []
    ours = str(DATASET.batches) == BATCHES and not is_active()
    batches = root / BATCHES
    if batches.is_dir() and not ours:
        shutil.rmtree(batches)
        said.append(f"removed {BATCHES}/ (the example's batches)")
    if _example_recorded(root, BATCHES):
        dropped = dvc_store.drop_recorded_objects(root)
        if dropped:
            said.append(f"removed {dropped} objects of the example from the in-tree DVC remote")
    else:
        said.append("data.dvc records other data than the example's: the DVC remote is left as it is")
    return said


def run(root: Path, drop_example: bool = False) -> str:
    """Reset every environment to no model; what was done and what remains, in words."""
    lines = []
    for env in deploy_config.environments(root):
        removed = reset(root, env)
        lines.append(f"{env}: no model yet (release.json reset, {len(removed)} rendered files removed)")
    argocd.render(root)
    lines.append("manifests/argocd/: re-rendered from configs/deploy/")
    if drop_example:
        lines += _drop_example(root)
    lines += [
        "",
        "what remains (docs/adopting.md):",
        "  1. your schema in src/rollgate/data/schema.py, your values in params.yaml and configs/deploy/*.yaml (ADOPT)",
        "  2. `rollgate data import FILE... --partition month`, then `dvc add data`",
        "  3. `make repro`: the gate judges your first model by the floors only (no champion yet)",
        "  4. commit (`git add -A && git commit -m 'adopt: start from no model'`), push, open your first pull request",
    ]
    return "\n".join(lines)
