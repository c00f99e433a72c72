"""Which trained model `make serve` and `make bench-serve` use: the pipeline's in `models/`, else the one
`make demo` trained in its workspace (a fresh clone has no `models/` until `dvc pull` or a repro).

Reads only the contracts, so it works in a `.[serve]` install too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rollgate.contracts import model_metadata, paths
from rollgate.contracts.errors import RollgateError

DEMO_WORKSPACE = Path(".demo/workspace")  # where `make demo` clones and trains (rollgate.demo.job)


@dataclass(frozen=True)
class Trained:
    """A trained model on disk: its folder (the artifact and `model.json` side by side) and digest."""

    folder: Path
    sha256: str
    note: str | None  # one line saying it is not the pipeline's own `models/`, when it is not

    @property
    def artifact(self) -> Path:
        return self.folder / paths.MODEL_ARTIFACT.name


def _complete(root: Path) -> bool:
    return (root / paths.MODEL_ARTIFACT).is_file() and (root / paths.MODEL_METADATA).is_file()


def locate(root: Path) -> Trained:
    """The model under `root/models/`, else under `root/.demo/workspace/models/`.

    Raises:
        RollgateError: neither holds a model, with what to run first.
    """
    models = paths.MODEL_ARTIFACT.parent
    if _complete(root):
        return Trained(root / models, model_metadata.read(root / paths.MODEL_METADATA).sha256, None)
    demo = root / DEMO_WORKSPACE
    if _complete(demo):
        note = (
            f"no model in {models}/: using the one `make demo` trained in {DEMO_WORKSPACE / models}/ "
            f"(`dvc pull` puts the pipeline's in {models}/)"
        )
        return Trained(demo / models, model_metadata.read(demo / paths.MODEL_METADATA).sha256, note)
    raise RollgateError(
        f"no trained model in {models}/: run `make demo` (trains one in {DEMO_WORKSPACE}/), "
        "`dvc pull` or `make repro` first"
    )
