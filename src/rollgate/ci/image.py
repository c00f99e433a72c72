"""`rollgate image ...`: what the image workflow (`.github/workflows/image.yml`) does around a build.

targets  the repositories to push to, as step outputs: `serve`, the one `image.repository` every
         configs/deploy/<env>.yaml names (one build is pinned everywhere, so they must agree),
         `pipeline`, its sibling `rollgate-pipeline` in the same namespace, and their `registry`;
sign     cosign keyless (the workflow's OIDC identity): `cosign sign` of a digest-pinned reference and,
         with --sbom, the SBOM attached to it as a signed attestation (`cosign attest --type spdxjson`);
pin      a digest written into `image.digest` of configs/deploy/<env>.yaml, that value alone: every
         comment and every other byte of the file stays as it was;
pr       that pin in every environment, committed on `rollgate/image-<digest12>`, pushed with the App
         token and proposed into main (a retried run finds the pull request it opened), so that the
         pull request's own checks render and validate each environment's manifests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from rollgate.adapters import git, github, identity
from rollgate.ci import runner
from rollgate.ci.buildah import PINNED
from rollgate.contracts import paths
from rollgate.contracts.errors import ContractError, RollgateError
from rollgate.manifests.deploy_config import load_deploy_config, path_of

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_BLOCK = re.compile(r"^image:[ \t]*(?P<rest>.*)$")
_DIGEST_LINE = re.compile(
    r"^(?P<key>[ \t]+digest:[ \t]*)(?P<q>[\"']?)(?P<value>[^\"'\s#]*)(?P=q)(?P<tail>[ \t]*(#.*)?)$"
)


def check_digest(digest: str) -> str:
    if not DIGEST.match(digest):
        raise RollgateError(f"--digest {digest!r} is not sha256:<64 lowercase hex digits>")
    return digest


def pinned_text(text: str, digest: str, shown: str) -> str:
    """`text` (a deploy config) with the value of `image.digest` replaced by `digest`, nothing else."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _BLOCK.match(line.rstrip("\r\n"))), None)
    if start is None:
        raise ContractError(f"{shown}: no top-level `image:` key (image.digest is where the digest goes)")
    rest = _BLOCK.match(lines[start].rstrip("\r\n"))["rest"]  # type: ignore[index]
    if rest and not rest.startswith("#"):
        raise ContractError(f"{shown}: image: is written inline; give it a block with `digest:` on its own line")
    indent = None
    for i in range(start + 1, len(lines)):
        body = lines[i].rstrip("\r\n")
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        if not body[0].isspace():
            break  # the next top-level key: the block ended
        indent = indent if indent is not None else len(body) - len(body.lstrip())
        found = _DIGEST_LINE.match(body)
        if found and len(found["key"]) - len(found["key"].lstrip()) == indent:
            ending = lines[i][len(body) :]
            lines[i] = f"{found['key']}{found['q'] or ''}{digest}{found['q'] or ''}{found['tail']}{ending}"
            return "".join(lines)
    raise ContractError(f'{shown}: image.digest: no such key under image: (add `digest: "{digest}"`)')


def pin(root: Path, digest: str, envs: list[str] | None = None) -> list[str]:
    """Write `digest` into image.digest of each environment's config (default every one); the
    environments whose digest changed. Every file is checked with the deploy config model after the
    edit, and all are put back when one fails."""
    check_digest(digest)
    known = paths.environments(root)
    for env in envs or []:
        if env not in known:
            raise ContractError(f"{path_of(env)}: no such environment (configured: {', '.join(known) or 'none'})")
    before = {env: (root / path_of(env)).read_text(encoding="utf-8") for env in envs or known}
    after = {env: pinned_text(text, digest, str(path_of(env))) for env, text in before.items()}
    try:
        for env, text in after.items():
            (root / path_of(env)).write_text(text, encoding="utf-8")
            if load_deploy_config(root, env).image.digest != digest:
                raise ContractError(f"{path_of(env)}: image.digest is not {digest} after the edit")
    except RollgateError:
        for env, text in before.items():
            (root / path_of(env)).write_text(text, encoding="utf-8")
        raise
    return [env for env in after if after[env] != before[env]]


def repositories(root: Path) -> dict[str, str]:
    """`serve`, `pipeline` and `registry`: where the image workflow pushes (from the deploy configs)."""
    found = {env: load_deploy_config(root, env).image.repository for env in paths.environments(root)}
    if len(set(found.values())) != 1:
        named = ", ".join(f"{env}: {repo}" for env, repo in found.items()) or "no configs/deploy/*.yaml"
        raise ContractError(f"image.repository must be one repository in every environment ({named})")
    image = load_deploy_config(root, paths.environments(root)[0]).image
    serve = image.repository
    return {"serve": serve, "pipeline": image.pipeline_repository(), "registry": serve.split("/", 1)[0]}


def targets(root: Path) -> str:
    found = repositories(root)
    for name, value in found.items():
        runner.output(name, value)
    return f"push {found['serve']} and {found['pipeline']}"


def sign(ref: str, sbom: Path | None = None) -> str:
    """Sign `ref` (name@sha256:...) keyless with cosign; with `sbom`, attach it as an attestation."""
    if not PINNED.match(ref):
        raise RollgateError(f"--ref {ref!r} is not name@sha256:<64 hex>: only a digest is signed, never a tag")
    cosign = shutil.which("cosign")
    if cosign is None:
        raise RollgateError("cosign is not installed (the workflow's sigstore/cosign-installer step installs it)")
    commands = [[cosign, "sign", "--yes", ref]]
    if sbom is not None:
        commands.append([cosign, "attest", "--yes", "--type", "spdxjson", "--predicate", str(sbom), ref])
    for argv in commands:
        if subprocess.run(argv, check=False).returncode != 0:
            raise RollgateError(f"`cosign {argv[1]} {ref}` failed")
    return f"signed {ref}" + (f", SBOM {sbom} attested" if sbom else "")


def body(image_ref: str, changed: list[str], envs: list[str]) -> str:
    kept = [env for env in envs if env not in changed]
    return "\n".join(
        [
            f"The image workflow built, signed and attested `{image_ref}`.",
            "",
            f"This pins its digest in `image.digest` of {', '.join(f'`{path_of(e)}`' for e in changed)}"
            + (f" ({', '.join(kept)} pinned it already)." if kept else "."),
            "Nothing else changes: this pull request's checks render what merging would deploy.",
        ]
    )


def pr(root: Path, digest: str, image_ref: str, base: str = "main") -> str:
    """`rollgate image pr`: push the pin of every environment and open (or find) its pull request."""
    check_digest(digest)
    name, _, ref_digest = image_ref.rpartition("@")
    repository = repositories(root)["serve"]
    if ref_digest != digest or name != repository:
        raise RollgateError(f"--image-ref {image_ref!r} is not {repository}@{digest} (configs/deploy image.repository)")
    branch = f"rollgate/image-{digest.removeprefix('sha256:')[:12]}"
    client = github.Client.from_env()
    opened = github.find_pull(branch, base, client)  # a retried run: pushed and opened already
    if opened is None:
        git.git(root, "checkout", "-q", "-B", branch, git.require_commit(root, base, "--base"))
        envs = paths.environments(root)
        changed = pin(root, digest)
        if not changed:
            return f"every environment pins {digest} already: nothing to open"
        message = f"image: pin {digest[:19]} in {', '.join(changed)}\n\n{image_ref}\n"
        git.commit(root, [str(path_of(env)) for env in changed], message, identity.load(root, envs[0]))
        git.push(root)
        title = f"image: pin {digest[:19]} in every environment"
        opened = github.create_pull(branch, base, title, body(image_ref, changed, envs), client)
    return f"{opened.action} #{opened.number} {opened.url}: pins {image_ref}"
