"""Commit messages of promotion: a subject, a body in words, the contract's trailers.

A deployment of a model (verdict `promote` or `rollback`) carries `Rollgate-Model-Sha256` and
`Rollgate-Verdict`; reverting it withdraws that digest. A re-render of the model already pinned
(verdict `same_model`, with changed configs, templates or image) is no deployment of a model: it
carries `Rollgate-Rerender: <tree id>` instead, the git tree id of the folder it commits, so reverting
it (a bad image, a bad setting) withdraws that render and not the model. The trailers form the
message's last paragraph, its trailer block, which is all git (and rollgate) reads them from.
"""

from __future__ import annotations

import textwrap

from rollgate.contracts import trailers
from rollgate.contracts.release import Release
from rollgate.contracts.verdict import Verdict


def _block(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in pairs)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=72, break_long_words=False, break_on_hyphens=False)


def _metrics(rel: Release) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in sorted(rel.metrics.items()))


def deploy(rel: Release, verdict: Verdict) -> str:
    """`deploy(<env>): <name> <sha12>`, what was decided and on what evidence, then the trailers."""
    model, lineage = rel.model, rel.lineage
    against = rel.gate.champion_sha256
    judged = f"judged against the champion {against[:12]}" if against else "first deployment (no champion)"
    passed = "; ".join(f"{r.criterion}: {r.message}" for r in verdict.reasons if r.passed)
    body = [
        _wrap(f"The gate's verdict is {verdict.verdict}, {judged}. Criteria met: {passed or 'none listed'}."),
        _wrap(f"Holdout metrics: {_metrics(rel)}."),
        _wrap(
            f"Source commit {lineage.source_commit} (its dvc.lock produced the model); data "
            f"{lineage.data_md5}, params {lineage.params_hash}. The model is fetched from {model.uri}"
            + (f" (registry version {model.registry_version})." if model.registry_version else ".")
        ),
    ]
    pairs = [
        (trailers.ENV, rel.env),
        (trailers.MODEL_SHA256, model.sha256),
        (trailers.SOURCE_COMMIT, lineage.source_commit),
        (trailers.VERDICT, rel.gate.verdict),
    ]
    return f"deploy({rel.env}): {model.name} {model.sha256[:12]}\n\n" + "\n\n".join(body) + "\n\n" + _block(pairs)


def rerender(rel: Release, changed: list[str], render: str) -> str:
    """`deploy(<env>): re-render <name> <sha12>`: same model, other manifests (`render`, their tree id)."""
    model = rel.model
    body = _wrap(
        f"The model stays {model.sha256} (the gate's verdict is same_model); the rendered manifests "
        f"changed because configs, templates or the image digest did: {', '.join(changed)}. "
        f"Image {rel.image.repository}@{rel.image.digest}."
    )
    pairs = [
        (trailers.ENV, rel.env),
        (trailers.RERENDER, render),
        (trailers.SOURCE_COMMIT, rel.lineage.source_commit),
    ]
    return f"deploy({rel.env}): re-render {model.name} {model.sha256[:12]}\n\n{body}\n\n{_block(pairs)}"


def repin(rel: Release) -> str:
    """`deploy(<env>): <name> <sha12>` after a trust anchor: what the env ran before it, byte for byte."""
    model = rel.model
    body = _wrap(
        f"Re-pinned after the trust anchor: the manifests {rel.env} ran before it, byte for byte, now as a "
        f"promotion commit. The gate's verdict then was {rel.gate.verdict}; source commit "
        f"{rel.lineage.source_commit}."
    )
    pairs = [
        (trailers.ENV, rel.env),
        (trailers.MODEL_SHA256, model.sha256),
        (trailers.SOURCE_COMMIT, rel.lineage.source_commit),
        (trailers.VERDICT, rel.gate.verdict),
    ]
    return f"deploy({rel.env}): {model.name} {model.sha256[:12]}\n\n{body}\n\n{_block(pairs)}"
