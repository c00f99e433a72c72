"""The command line: parse arguments, call one function, turn errors into one clear message."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rollgate.contracts import paths
from rollgate.contracts.errors import RollgateError


def _pipeline_extra(command: str) -> None:
    """Fail clearly in an install without the pipeline's libraries (`.[serve]` alone)."""
    try:
        import pandera  # noqa: F401
    except ImportError:
        raise RollgateError(
            f"`rollgate {command}` needs the pipeline's libraries: pip install 'rollgate[pipeline]'"
        ) from None


def _generate(args: argparse.Namespace) -> None:
    _pipeline_extra("data generate")
    from rollgate.data import example

    example.write_batches(
        args.root,
        args.out,
        weeks=args.weeks,
        start_week=args.start_week,
        shift=args.shift,
        seed=args.seed,
        rows_per_week=args.rows_per_week,
    )


def _predictions(args: argparse.Namespace) -> None:
    _pipeline_extra("data predictions")
    from rollgate.data.example import generate, predictions

    weekly = generate.GenerateOptions(args.seed, args.weeks, args.start_week, args.shift, args.rows_per_week)
    options = predictions.PredictionsOptions(weekly, args.sample)
    from rollgate.monitoring import scored_log

    served, lines = scored_log.server_lines(args.model, args.sha256, args.sample)
    rows = predictions.write(args.log, args.labels, options, served.features, lines)
    weeks = f"weeks {args.start_week}-{args.start_week + args.weeks - 1}"
    labelled = f", their labels -> {args.labels}" if args.labels else ""
    drawn = f"shift {args.shift}, sample {args.sample:g}"
    print(f"data predictions: {rows} rows of {weeks} ({drawn}) -> {args.log}{labelled}")


def _import(args: argparse.Namespace) -> None:
    _pipeline_extra("data import")
    from rollgate.data import ingest

    print(ingest.report(args.root, args.sources, args.partition))


def _adopt(args: argparse.Namespace) -> None:
    from rollgate.delivery import adopt

    print(adopt.run(args.root, drop_example=args.drop_example_data))


def _validate(args: argparse.Namespace) -> None:
    from rollgate.pipeline import validate

    validate.run(args.root)


def _prepare(args: argparse.Namespace) -> None:
    from rollgate.pipeline import prepare

    prepare.run(args.root)


def _train(args: argparse.Namespace) -> int:
    if args.verify:
        from rollgate.pipeline import verify

        return verify.train(args.root)
    from rollgate.pipeline import train

    train.run(args.root, track=not args.no_track)
    return 0


def _evaluate(args: argparse.Namespace) -> None:
    from rollgate.pipeline import evaluate

    evaluate.run(args.root, track=not args.no_track)


def _gate(args: argparse.Namespace) -> int:
    from rollgate.pipeline import gate

    if args.verify:
        from rollgate.pipeline import verify

        return verify.gate(args.root, args.env, args.base)
    if args.base is not None:
        raise RollgateError("gate: --base REF goes with --verify")
    if args.check:
        return gate.check(args.root, args.env)
    if args.env is None:
        raise RollgateError("gate: give --env ENV (DVC runs one gate per environment: `make repro`)")
    gate.run(args.root, args.env, track=not args.no_track)
    return 0


def _repro(args: argparse.Namespace) -> None:
    from rollgate.adapters import dvc_cli

    dvc_cli.repro(args.root)


def _report(args: argparse.Namespace) -> None:
    from rollgate.ci import runner
    from rollgate.report import collect

    print(collect.write(args.root, args.base, args.out, args.plots_url))
    if args.summary and not runner.summary((args.root / args.out).read_text(encoding="utf-8")):
        print("report: not on a GitHub runner (GITHUB_STEP_SUMMARY unset): no job summary written")


def _promote(args: argparse.Namespace) -> None:
    from rollgate.delivery import promote

    print(promote.run(args.root, args.env))


def _rollback(args: argparse.Namespace) -> None:
    from rollgate.delivery import rollback

    print(rollback.run(args.root, args.env, args.to))


def _check_changes(args: argparse.Namespace) -> None:
    from rollgate.adapters import trust

    print(trust.check_changes(args.root, args.base, args.head, pull_request=args.pull_request))


def _reanchor(args: argparse.Namespace) -> None:
    from rollgate.delivery import reanchor

    print(reanchor.run(args.root))


def _signing_import(args: argparse.Namespace) -> None:
    from rollgate.ci import signing

    print(signing.run(args.root, args.env, args.home))


def _signing_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    signing = sub.add_parser("signing", help="the promotion key that signs promotion commits").add_subparsers(
        dest="signing_command", required=True, metavar="SIGNING_COMMAND"
    )
    imp = signing.add_parser(
        "import", help="import ROLLGATE_SIGNING_KEY (the secret key) for the job's later steps to sign with"
    )
    imp.add_argument("--env", required=True, help="the environment whose promotion.signing_key it must be")
    imp.add_argument("--home", type=Path, help="a new GNUPGHOME for it (default: a new folder under RUNNER_TEMP)")
    imp.set_defaults(func=_signing_import)


def _rehearse(args: argparse.Namespace) -> int:
    from rollgate.rehearse import run

    options = run.Options(
        env=args.env, challenger=args.challenger, sha256=args.sha256, canary_manifests=args.canary_manifests,
        interval=args.interval, window=args.window, pause=args.pause, args=dict(args.arg), rate=args.rate,
        rows_per_request=args.rows_per_request, invalid_share=args.invalid_share, traffic=args.traffic,
        out=args.out, charts=not args.no_charts,
    )  # fmt: skip
    return run.exit_code(run.rehearse(args.root, options))


def _arg(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _rehearse_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rehearse = sub.add_parser(
        "rehearse",
        help="shadow -> canary -> full on this machine (nginx, Prometheus), judged by the rendered analysis; "
        "exit 0 promote, 3 abort, 4 inconclusive",
    )
    rehearse.add_argument(
        "--env", required=True, help="stable: manifests/ENV/; the canary: ENV rendered for the challenger"
    )
    rehearse.add_argument("--challenger", type=Path, help="the challenger model (default: models/model.skops)")
    rehearse.add_argument("--sha256", help="the challenger's expected sha256")
    rehearse.add_argument("--canary-manifests", type=Path, help="rehearse this rendered folder as the canary instead")
    rehearse.add_argument("--interval", default="5s", help="the templates' interval argument (default 5s)")
    rehearse.add_argument("--window", help="the templates' window argument (default two intervals)")
    rehearse.add_argument("--pause", help="every pause step (default: its production length scaled as the window is)")
    rehearse.add_argument("--arg", type=_arg, action="append", default=[], metavar="NAME=VALUE",
                          help="another value for an argument the templates declare (what if)")  # fmt: skip
    rehearse.add_argument("--rate", type=float, help="requests per second (default: the evidence the templates need)")
    rehearse.add_argument("--rows-per-request", type=int, help="default: enough positives at the smallest share")
    rehearse.add_argument("--invalid-share", type=float, default=0.02,
                          help="share of requests that are one invalid row (default 0.02)")  # fmt: skip
    rehearse.add_argument("--traffic", type=float, default=2.0, help="x the evidence needed, for the default rate")
    rehearse.add_argument("--out", type=Path, help="default reports/rehearsal/ENV")
    rehearse.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    rehearse.set_defaults(func=_rehearse)


def _delivery_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    promote = sub.add_parser("promote", help="pin the gated model in manifests/ENV/ with one pushed commit")
    promote.add_argument("--env", required=True, help="the environment, e.g. staging or prod")
    promote.set_defaults(func=_promote)
    rollback = sub.add_parser("rollback", help="git revert of ENV's latest promotion commit (or --to), pushed")
    rollback.add_argument("--env", required=True, help="the environment, e.g. staging or prod")
    rollback.add_argument("--to", help="the promotion commit to revert (default: the latest not reverted)")
    rollback.set_defaults(func=_rollback)
    check = sub.add_parser(
        "check-changes", help="classify each commit in BASE..HEAD that changed manifests/ENV/; fail on a forbidden one"
    )
    check.add_argument("--base", required=True, help="the commit the range starts after, e.g. origin/main")
    check.add_argument("--head", default="HEAD", help="the range's last commit (default HEAD)")
    check.add_argument(
        "--pull-request", action="store_true", help="a pull request's range: promotions and re-renders are forbidden"
    )
    check.set_defaults(func=_check_changes)
    anchor = "start the trust checks here: an adopt reset, then each env re-pinned as the promotion identity"
    sub.add_parser("re-anchor", help=anchor).set_defaults(func=_reanchor)


def _render(args: argparse.Namespace) -> None:
    from rollgate.manifests import argocd, render

    written = (
        argocd.render(args.root, args.out)
        if args.argocd
        else render.render_env(args.root, args.env, args.release, args.out)
    )
    for path in written:
        print(path)


def _check_manifests(args: argparse.Namespace) -> int:
    if args.preview:
        from rollgate.delivery import preview_check

        return preview_check.check(args.root, args.schemas)
    from rollgate.manifests import check

    if args.explain:
        print(check.explain(args.root), end="")
        return 0
    return check.run(args.root, args.schemas)


def _manifests_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = sub.add_parser("render", help="render manifests/ENV/ from its release record and configs/deploy/ENV.yaml")
    which = render.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", help="the environment, e.g. staging or prod")
    which.add_argument("--argocd", action="store_true", help="render manifests/argocd/ from every deploy config")
    render.add_argument(
        "--release", type=Path, help="release record (default: the committed manifests/ENV/release.json)"
    )
    render.add_argument("--out", type=Path, help="output directory (default: manifests/ENV/ or manifests/argocd/)")
    render.set_defaults(func=_render)
    check = sub.add_parser("check-manifests", help="re-render, diff and strictly validate every committed manifest")
    check.add_argument("--schemas", type=Path, help="JSON Schemas of the custom resources (default: .schemas/)")
    check.add_argument(
        "--preview",
        action="store_true",
        help="a pull request's check: render what merging would into a temporary directory and validate it",
    )
    check.add_argument(
        "--explain",
        action="store_true",
        help="print, per environment, what the committed Istio policies answer to each request check-manifests judges",
    )
    check.set_defaults(func=_check_manifests)


def _pr_classify(args: argparse.Namespace) -> None:
    from rollgate.ci import classify

    print(classify.run(args.root, args.base, args.fork == "true"))


def _pr_verdicts(args: argparse.Namespace) -> None:
    from rollgate.ci import verdicts

    print(verdicts.check(args.root, args.base))


def _pr_revert(args: argparse.Namespace) -> None:
    from rollgate.ci import aborted

    print(aborted.run(args.root, args.event, os.environ.get("ROLLGATE_CLUSTER_APP", ""), args.base))


def _pr_summary(args: argparse.Namespace) -> None:
    from rollgate.ci import summary

    print(summary.run(os.environ.get("NEEDS", ""), args.fork == "true"))


def _pr_comment(args: argparse.Namespace) -> None:
    path = args.file if args.file.is_absolute() else args.root / args.file
    if not path.is_file():
        raise RollgateError(f"{args.file}: no such file (write it with `rollgate report --out {args.file}`)")
    from rollgate.adapters import github  # standard library only: `make pr-comment` runs with nothing installed
    from rollgate.contracts import markers

    done = github.upsert_comment(args.number, path.read_text(encoding="utf-8"), markers.REPORT)
    print(f"{done.action} {done.url}")


def _promotion(args: argparse.Namespace) -> None:
    from rollgate.ci import promotion
    from rollgate.delivery import staged

    cmd, root = args.promotion_command, args.root.resolve()  # DVC resolves paths against the cwd
    if cmd == "plan":
        print(promotion.run_plan(root, args.before))
    elif cmd == "stage":
        for env in args.env:
            print(f"{env}: {staged.stage(root, env, args.out, args.after, args.expect).kind}")
    elif cmd == "land":
        if args.wait_settled is not None:
            print(promotion.wait(root, args.env, args.wait_settled))
        print(staged.land(root, args.env, args.staged, base=args.base, approved=args.approved, schemas=args.schemas))
    elif cmd == "event":
        print(promotion.event(root, args.event, os.environ.get("ROLLGATE_CLUSTER_APP", "")))
    else:
        print(promotion.settle(root, args.env, args.revision))


def _promotion_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("promotion", help="the promotion workflow's steps: plan, stage, land, event, settle")
    steps = group.add_subparsers(dest="promotion_command", required=True, metavar="STEP")
    plan = steps.add_parser("plan", help="whether a push to main promotes (loop guard) and needs an approval")
    plan.add_argument("--before", required=True, help="main before the push (github.event.before)")
    stage = steps.add_parser("stage", help="check and render ENV's promotion into OUT, with the outputs (unprivileged)")
    stage.add_argument("--env", required=True, action="append", help="an environment (repeat for several)")
    stage.add_argument("--out", type=Path, required=True, help="the folder to write (uploaded as an artifact)")
    stage.add_argument("--after", help="the environment before ENV: it must pin the same model")
    stage.add_argument("--expect", metavar="SHA256", help="refuse unless the model on disk has this digest")
    land = steps.add_parser("land", help="re-judge with BASE's gate, check the staged render, commit and push it")
    land.add_argument("--env", required=True, help="the environment")
    land.add_argument("--staged", type=Path, required=True, help="what `rollgate promotion stage` wrote")
    land.add_argument("--base", help="the commit whose gate policy and code judge (the rollgate running this)")
    land.add_argument("--approved", action="store_true", help="a reviewer approved a change to how the gate judges")
    land.add_argument("--schemas", type=Path, help="JSON Schemas of the custom resources (default: .schemas/)")
    land.add_argument("--wait-settled", type=float, metavar="SECONDS", help="first wait for ENV's rollout to end")
    event = steps.add_parser("event", help="check a rollgate-rollout-succeeded event (ROLLGATE_CLUSTER_APP)")
    event.add_argument("--event", type=Path, required=True, help="the event payload (GITHUB_EVENT_PATH)")
    settle = steps.add_parser("settle", help="record ENV's rollout as over at REVISION (rollgate/synced/ENV)")
    settle.add_argument("--env", required=True, help="the environment")
    settle.add_argument("--revision", default="HEAD", help="the commit Argo CD synced (default HEAD)")
    for step in (plan, stage, land, event, settle):
        step.set_defaults(func=_promotion)


def _pr_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pr = sub.add_parser("pr", help="what the pull-request workflow asks: classify, summary, comment").add_subparsers(
        dest="pr_command", required=True, metavar="PR_COMMAND"
    )
    fork = {"choices": ("true", "false"), "default": "false", "help": "the PR comes from a fork (true/false)"}
    classify = pr.add_parser(
        "classify", help="the PR's kind (pipeline, revert, none) as a step output; fails on a forbidden change"
    )
    classify.add_argument("--base", required=True, help="the commit the PR merges into (its base sha)")
    classify.add_argument("--fork", **fork)  # type: ignore[arg-type]
    classify.set_defaults(func=_pr_classify)
    verdicts = pr.add_parser(
        "verdicts", help="each gates/ENV.json the PR changed, as committed, is the verdict the pipeline gives"
    )
    verdicts.add_argument("--base", required=True, help="the commit the PR merges into (its base sha)")
    verdicts.set_defaults(func=_pr_verdicts)
    revert = pr.add_parser(
        "revert", help="on a rollgate-rollout-aborted event: open the PR reverting its cause (ROLLGATE_CLUSTER_APP)"
    )
    revert.add_argument("--event", type=Path, required=True, help="the event payload (GITHUB_EVENT_PATH)")
    revert.add_argument("--base", default="main", help="the branch the revert goes into (default main)")
    revert.set_defaults(func=_pr_revert)
    summary = pr.add_parser("summary", help="the required check: every job (NEEDS, as toJSON(needs)) passed or skipped")
    summary.add_argument("--fork", **fork)  # type: ignore[arg-type]
    summary.set_defaults(func=_pr_summary)
    comment = pr.add_parser("comment", help="post FILE as the sticky report comment (GITHUB_TOKEN, GITHUB_REPOSITORY)")
    comment.add_argument("--number", type=int, required=True, help="the pull request's number")
    comment.add_argument("--file", type=Path, required=True, help="the Markdown to post, e.g. reports/pr.md")
    comment.set_defaults(func=_pr_comment)


def _demo(args: argparse.Namespace) -> int | None:
    if args.monitor is not None:
        _pipeline_extra("demo --monitor")
        from rollgate.demo import monitoring

        try:
            return monitoring.run(args.root, args.monitor)
        except RollgateError as exc:  # exit 2, as `rollgate monitor`'s bad input: 1 is an alarm
            print(f"rollgate demo: error: {exc}", file=sys.stderr)
            return 2
    from rollgate.demo import job

    job.run(args.root)
    return None


def _serve(args: argparse.Namespace) -> None:
    from rollgate.serve import auth, keyfile

    args.auth = args.auth or ("keys" if args.api_keys else "none")
    auth.check_mode(args.auth, args.api_keys, args.host)  # refused before the model's libraries load (seconds)
    if args.api_keys is not None:
        keyfile.read(args.api_keys)

    from rollgate.serve import loading, server
    from rollgate.serve.settings import LIMIT_NAMES, Limits, ServeSettings

    if args.trained:
        _trained(args)
    model, sha256 = loading.pinned(args.model, args.sha256, args.release)
    limits = Limits(**{name: getattr(args, name) for name in LIMIT_NAMES})
    server.run(
        ServeSettings(
            model, sha256, args.release, args.host, args.port, args.admin_port, args.workers, args.strict,
            log=args.log, log_sample=args.log_sample, log_drop=tuple(args.log_drop), log_hash=tuple(args.log_hash),
            log_max_bytes=args.log_max_bytes, log_files=args.log_files, drain_seconds=args.drain_seconds,
            grace_seconds=args.grace_seconds, threshold=args.threshold, fetch_timeout_s=args.fetch_timeout,
            max_model_bytes=args.max_model_bytes, limits=limits, public_port=args.public_port,
            public_answer=args.public_answer, auth=args.auth, api_keys=args.api_keys,
        )
    )  # fmt: skip


def _hash_key(args: argparse.Namespace) -> None:
    """`rollgate serve hash-key`: a key file entry for the key on stdin, or for a new random key."""
    import secrets

    from rollgate.serve import auth

    key = secrets.token_urlsafe(32) if args.generate else sys.stdin.read().rstrip("\r\n")
    # The file holds unsalted hashes: a short key could be guessed from a leaked file; spaces never match.
    if len(key) < 16 or not key.isprintable() or any(c.isspace() for c in key):
        raise RollgateError("hash-key: a key of at least 16 printable characters without spaces is required on stdin")
    line = auth.entry_line(key, args.id, args.scope or ["score"])
    if args.generate:
        print(f"rollgate serve hash-key: the new key, shown only now: {key}", file=sys.stderr)
    print(line)


def _trained(args: argparse.Namespace) -> None:
    """`--trained`: --model and --sha256 from the trained model `rollgate.demo.trained` finds."""
    from rollgate.demo import trained

    if args.model is not None or args.sha256 is not None:
        raise RollgateError("serve: --trained finds --model and --sha256 itself: give one or the other")
    found = trained.locate(args.root)
    if found.note:
        print(f"rollgate serve: {found.note}", file=sys.stderr)
    args.model, args.sha256 = str(found.artifact), found.sha256


# Every limit of rollgate.serve.settings.Limits, as a flag: (flag, help). Defaults come from Limits itself.
_LIMIT_FLAGS = {
    "max_body_bytes": ("--max-body-bytes", "body size before 413"),
    "max_rows": ("--max-rows", "rows per request before 413"),
    "max_batch_rows": ("--max-batch-rows", "rows per estimator call"),
    "max_wait_ms": ("--max-wait-ms", "longest wait for a batch to fill"),
    "max_queue_rows": ("--max-queue-rows", "queued rows before 503"),
    "max_header_bytes": ("--max-header-bytes", "request line plus headers before 431"),
    "max_headers": ("--max-headers", "header lines before 431"),
    "header_timeout_s": ("--header-timeout", "seconds for a request's head before 408"),
    "body_timeout_s": ("--body-timeout", "seconds for its body before 408"),
    "request_timeout_s": ("--request-timeout", "seconds for the whole answer before 503"),
    "keepalive_timeout_s": ("--keepalive-timeout", "seconds an idle connection stays open"),
    "max_connections": ("--max-connections", "open connections per process before 503"),
    "max_inflight_bytes": ("--max-inflight-bytes", "request bytes buffered across requests before 503"),
    "inline_rows": ("--inline-rows", "batches up to this many rows are scored on the event loop"),
    "scoring_threads": ("--scoring-threads", "threads scoring larger batches"),
}


def _log_flags(serve: argparse.ArgumentParser, max_bytes: int, files: int) -> None:
    """What the prediction log may hold (a field policy) and how much of it is kept."""

    def names(text: str) -> list[str]:
        return [name.strip() for name in text.split(",") if name.strip()]

    for flag, what in (("--log-drop", "left out of"), ("--log-hash", "HMAC-SHA256'd (key: $ROLLGATE_LOG_HASH_KEY) in")):
        serve.add_argument(
            flag, type=names, action="extend", default=[], metavar="FIELD[,FIELD]",
            help=f"request fields {what} the prediction log; never a model input (repeatable)",
        )  # fmt: skip
    serve.add_argument("--log-max-bytes", type=int, default=max_bytes, help=f"per log file (default {max_bytes})")
    serve.add_argument(
        "--log-files", type=int, default=files, help=f"log files kept, current included (default {files})"
    )


def _image(args: argparse.Namespace) -> None:
    from rollgate.ci import image

    if args.image_command == "pin":
        changed = image.pin(args.root, args.digest, args.env)
        print(f"pinned {args.digest} in {', '.join(changed) or 'nothing (every environment had it)'}")
    elif args.image_command == "pr":
        print(image.pr(args.root, args.digest, args.image_ref, args.base))
    elif args.image_command == "sign":
        print(image.sign(args.ref, args.sbom))
    else:
        print(image.targets(args.root))


def _image_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("image", help="the image workflow's steps: targets, sign, pin, pr")
    steps = group.add_subparsers(dest="image_command", required=True, metavar="STEP")
    steps.add_parser("targets", help="the repositories to push to, from configs/deploy (step outputs)")
    sign = steps.add_parser("sign", help="cosign keyless: sign REF (name@sha256:...), attest --sbom")
    sign.add_argument("--ref", required=True, help="the pushed image, name@sha256:<64 hex>")
    sign.add_argument("--sbom", type=Path, help="an SPDX JSON SBOM to attach as a signed attestation")
    pin = steps.add_parser("pin", help="write DIGEST into image.digest of configs/deploy/ENV.yaml (every ENV)")
    pin.add_argument("--env", action="append", help="an environment (repeat for several; default every one)")
    pr = steps.add_parser("pr", help="pin DIGEST everywhere on rollgate/image-<digest12>, push, open the PR")
    pr.add_argument("--image-ref", required=True, help="the pushed image, name@sha256:... (its name: image.repository)")
    pr.add_argument("--base", default="main", help="the branch the pull request goes into (default main)")
    for step in (pin, pr):
        step.add_argument("--digest", required=True, help="the image's digest, sha256:<64 hex>")
    for step in steps.choices.values():
        step.set_defaults(func=_image)


def _auth_flags(serve: argparse.ArgumentParser) -> None:
    """Who may call the server, and what the public port answers."""
    from rollgate.serve import auth

    serve.add_argument(
        "--public-port", type=int, metavar="PORT",
        help="also serve scoring and the probes on PORT, for callers outside (default off; 0: any free port)",
    )  # fmt: skip
    serve.add_argument(
        "--public-answer", choices=("label", "score"), default="label",
        help="what the public port answers per row: its label only (default), or score and label as --port does",
    )  # fmt: skip
    serve.add_argument(
        "--api-keys", metavar="FILE",
        help='API keys, as {"keys": [{"id", "sha256", "scopes": [score|model|metrics]}]} (`serve hash-key` makes '
        "entries); followed while serving; probes need no key",
    )  # fmt: skip
    serve.add_argument(
        "--auth", choices=auth.MODES,
        help="keys: check --api-keys; mesh: no check here, a service mesh authenticates every caller; none: no "
        "check, only on a loopback --host (default keys with --api-keys, else none)",
    )  # fmt: skip
    _hash_key_parser(serve)


def _hash_key_parser(serve: argparse.ArgumentParser) -> None:
    from rollgate.serve import auth

    steps = serve.add_subparsers(dest="serve_command", metavar="[hash-key]")
    hash_key = steps.add_parser(
        "hash-key", help="print a key file entry for the key on stdin (or a new one, shown once on stderr)"
    )

    def key_id(text: str) -> str:
        if not auth.valid_id(text):
            raise argparse.ArgumentTypeError(auth.ID_RULE)
        return text

    hash_key.add_argument("--id", type=key_id, required=True, help="the key's id: its name in the metrics and the logs")
    hash_key.add_argument(
        "--scope", action="append", choices=auth.SCOPES, help="a scope it grants (repeatable; default score)"
    )
    hash_key.add_argument("--generate", action="store_true", help="a random key (secrets.token_urlsafe(32))")
    hash_key.set_defaults(func=_hash_key)


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from rollgate.serve.settings import LIMIT_NAMES, Limits, ServeSettings

    serve = sub.add_parser(
        "serve", help="the model server (scoring on --port and --public-port; /metrics, /v1/model on --admin-port)"
    )
    serve.add_argument("--model", help="artifact path, file:// or http(s):// URI (default: the release's uri)")
    serve.add_argument("--sha256", help="the artifact's expected digest (default: the release's)")
    serve.add_argument("--release", help="release record: feature contract, threshold, lineage")
    serve.add_argument("--trained", action="store_true", help="the trained model: models/, else `make demo`'s")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=8080, help="scoring: /v1/predict, /invocations and the probes")
    serve.add_argument("--admin-port", type=int, default=8081, help="/metrics, /v1/model, /openapi.json, probes")
    _auth_flags(serve)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--strict", action="store_true", help="reject unknown fields instead of ignoring them")
    serve.add_argument("--threshold", type=float, help="label threshold (default: the release's, else 0.5)")
    serve.add_argument("--log", help="prediction log: - for stdout, or a file on a writable volume")
    serve.add_argument("--log-sample", type=float, default=0.01, help="fraction of requests logged (default 0.01)")
    defaults = ServeSettings("", "")
    _log_flags(serve, defaults.log_max_bytes, defaults.log_files)
    serve.add_argument("--drain-seconds", type=float, default=0.0, help="unready but serving after SIGTERM")
    serve.add_argument("--grace-seconds", type=float, default=25.0, help="limit for in-flight requests at exit")
    serve.add_argument("--fetch-timeout", type=float, default=defaults.fetch_timeout_s, help="http(s) model download")
    serve.add_argument("--max-model-bytes", type=int, default=defaults.max_model_bytes, help="largest model accepted")
    limits = Limits()
    assert set(_LIMIT_FLAGS) == set(LIMIT_NAMES), "every limit needs a flag"
    for name in LIMIT_NAMES:
        flag, text = _LIMIT_FLAGS[name]
        value = getattr(limits, name)
        serve.add_argument(flag, dest=name, type=type(value), default=value, help=f"{text} (default {value})")
    serve.set_defaults(func=_serve)


def _monitor(args: argparse.Namespace) -> int:
    """Exit 0 no alarm, 1 an alarm, 2 bad input (one line naming the file and column; nothing written)."""
    from rollgate.monitoring import options, run

    try:
        return run.monitor(options.from_arguments(vars(args)))
    except RollgateError as exc:
        print(f"rollgate monitor: error: {exc}", file=sys.stderr)
        return 2


def _monitor_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    monitor = sub.add_parser("monitor", help="drift and performance of live data per window (exit 1 on an alarm)")
    steps = monitor.add_subparsers(dest="monitor_command", required=True)
    drift = steps.add_parser("drift", help="input and prediction drift of CURRENT against REFERENCE per window")
    performance = steps.add_parser(
        "performance", help="drift, the label-free estimate and realized performance (with --labels) per window"
    )
    for step in (drift, performance):
        step.add_argument(
            "--reference", type=Path, default=Path(paths.BASELINE),
            help=f"training rows (.parquet, .csv) or a baseline.json (default {paths.BASELINE}: the model's)",
        )  # fmt: skip
        step.add_argument(
            "--current", type=Path, required=True, help="a table, or the prediction log (.jsonl, a folder)"
        )
        step.add_argument("--labels", type=Path, help="a table of ids and labels, joined to CURRENT by --id-column")
        step.add_argument("--features", default="", help="a,b (default: every column of REFERENCE not named below)")
        step.add_argument("--categorical", help="x,y (default: the features of non-numeric type)")
        step.add_argument("--time-column", help="timestamps; calendar windows need it (a log's: ts)")
        step.add_argument("--window", default="week", help="week, day or a row count (default week)")
        step.add_argument("--score-column", required=step is performance, help="the model's score")
        step.add_argument("--label-column", default="label", help="0/1 labels, NaN until known (default label)")
        step.add_argument("--id-column", default="id", help="the rows' pass-through id (default id)")
        step.add_argument("--previous-score-column", help="the previous known-good model's score, same rows")
        step.add_argument("--label-time-column", help="when each label arrived: later than --as-of, left out")
        step.add_argument("--as-of", help="ISO 8601 time the labels are taken as of (default now)")
        step.add_argument(
            "--maturity-days",
            type=float,
            help="a window's labels are mature this many days after its end (default: as given)",
        )
        step.add_argument(
            "--judged", type=Path, help="the previous run's report.json: cohorts it judged are not judged again"
        )
        step.add_argument("--threshold", type=float, default=0.5, help="flag when score >= this (default 0.5)")
        step.add_argument("--sha256", help="the model digest every prediction-log line must carry")
        step.add_argument("--out", type=Path, default=Path("reports/monitor"), help="default reports/monitor")
        step.set_defaults(func=_monitor)
    _monitor_workflow_parser(steps)


def _monitor_workflow(args: argparse.Namespace) -> int:
    """The monitor workflow's steps; exit 2 on bad input (one line naming the file; nothing pushed)."""
    try:
        if args.monitor_command == "collect":
            _pipeline_extra("monitor collect")
            from rollgate.ci import monitor_collect
            from rollgate.data.example import generate

            weekly = generate.GenerateOptions(args.seed, args.weeks, 0, args.shift, args.rows_per_week)
            print(monitor_collect.collect(args.root, args.env, weekly, args.sample))
        elif args.monitor_command == "judge":
            from rollgate.ci import monitor_judge

            print(monitor_judge.judge(args.root, args.env))
        else:
            from rollgate.ci import monitor_pr

            print(monitor_pr.pr(args.root, args.env, args.base, args.run_url))
    except RollgateError as exc:
        print(f"rollgate monitor {args.monitor_command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _monitor_workflow_parser(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    collect = steps.add_parser(
        "collect", help="ADOPT: the example's window for ENV: the weeks after data/, scored by ENV's model, logged"
    )
    collect.add_argument("--weeks", type=int, default=6, help="weeks after the training data (default 6)")
    collect.add_argument("--shift", default="none", choices=("none", "amount_inflation", "online_surge", "fraud_wave"))
    collect.add_argument("--seed", type=int, default=0)
    collect.add_argument("--rows-per-week", type=int, default=9_000, help="rows generated per week (default 9000)")
    collect.add_argument("--sample", type=float, default=1.0, help="share of rows logged, as serve's (default 1)")
    judge = steps.add_parser("judge", help="the window's monitor run and the deployed-vs-previous comparison")
    pr = steps.add_parser("pr", help="open or update the retraining or revert pull request the evidence calls for")
    pr.add_argument("--base", default="main", help="the branch the pull request goes into (default main)")
    pr.add_argument("--run-url", default="", help="the workflow run whose artifacts hold the charts")
    for step in (collect, judge, pr):
        step.add_argument("--env", required=True, help="the environment whose deployed model is monitored")
        step.set_defaults(func=_monitor_workflow)


def _data_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = sub.add_parser("data", help="bring data in: your files, or the example's").add_subparsers(
        dest="data_command", required=True
    )
    imp = data.add_parser("import", help="write CSV or Parquet files as the batches the pipeline reads")
    imp.add_argument("sources", nargs="+", type=Path, help="CSV (.csv, .csv.gz) or Parquet files, any order")
    imp.add_argument("--partition", choices=("week", "month", "day"), default="month", help="one file per (month)")
    imp.set_defaults(func=_import)
    gen = data.add_parser("generate", help="write the example's synthetic card transactions, one file per week")
    gen.add_argument("--weeks", type=int, help="number of weeks (default 12)")
    gen.add_argument("--start-week", type=int, default=0, help="index of the first week (0 = 2026-01-05)")
    gen.add_argument("--shift", default="none", help="none, amount_inflation, online_surge or fraud_wave")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--rows-per-week", type=int, help="rows per file of a week (default 9000)")
    gen.add_argument("--out", type=Path, help="output directory (default: the example's batch folder)")
    gen.set_defaults(func=_generate)
    pred = data.add_parser(
        "predictions", help="write the example's current weeks as the server's prediction log, with delayed labels"
    )
    pred.add_argument("--log", type=Path, required=True, help="the prediction log to write (JSON lines)")
    pred.add_argument("--model", type=Path, required=True, help="the model artifact (e.g. models/model.skops)")
    pred.add_argument("--sha256", required=True, help="the artifact's expected sha256, checked before loading")
    pred.add_argument("--labels", type=Path, help="also write the same rows' labels and arrival times (Parquet)")
    pred.add_argument("--weeks", type=int, default=4, help="number of weeks (default 4)")
    pred.add_argument("--start-week", type=int, default=12, help="first week (default 12, after the training data)")
    pred.add_argument("--shift", default="none", help="none, amount_inflation, online_surge or fraud_wave")
    pred.add_argument("--seed", type=int, default=0)
    pred.add_argument("--rows-per-week", type=int, default=9_000, help="rows generated per week (default 9000)")
    pred.add_argument("--sample", type=float, default=1.0, help="share of rows logged, as serve's (default 1)")
    pred.set_defaults(func=_predictions)


def _batch(args: argparse.Namespace) -> int:
    try:
        _pipeline_extra("batch score")  # pandas and pyarrow: not in a `.[serve]` install
        from rollgate.scoring import batch

        job = batch.Job(args.model, args.sha256, args.input, args.output, args.release, args.threshold, args.chunk_rows)
        done = batch.score(job)
    except RollgateError as exc:
        print(f"rollgate batch score: error: {exc}", file=sys.stderr)
        return 2
    print(f"rollgate batch score: {len(done)} file(s) -> {args.output}")
    print("\n".join(d.line() for d in done))
    return 0


def _batch_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    steps = sub.add_parser("batch", help="score files in batches").add_subparsers(dest="batch_command", required=True)
    score = steps.add_parser("score", help="Parquet files scored in chunks through the feature contract, resumably")
    score.add_argument("--model", required=True, help="the model artifact: a path, file:// or http(s):// URI")
    score.add_argument("--sha256", required=True, help="its expected sha256, checked before loading")
    score.add_argument("--input", required=True, help="a folder of .parquet files, or a glob")
    score.add_argument("--output", type=Path, required=True, help="where <name>.parquet and <name>.rejects.parquet go")
    score.add_argument("--release", help="the release record with the feature contract (default: model.json beside)")
    score.add_argument("--threshold", type=float, help="flag when score >= this (default the record's, else 0.5)")
    score.add_argument("--chunk-rows", type=int, default=65_536, help="rows read and scored at a time")
    score.set_defaults(func=_batch)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rollgate", description=__doc__)
    top.add_argument("--root", type=Path, default=Path(), help="repository root (default: current directory)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _data_parser(sub)

    stages: tuple[tuple[str, str, Callable[[argparse.Namespace], int | None]], ...] = (
        ("validate", "check the raw data against its contract", _validate),
        ("prepare", "time-based train / holdout split", _prepare),
        ("train", "fit the model, write models/, log to MLflow", _train),
        ("evaluate", "holdout metrics, segments, latency and plots", _evaluate),
    )
    for name, text, func in stages:
        stage = sub.add_parser(name, help=text)
        if name in ("train", "evaluate"):
            stage.add_argument("--no-track", action="store_true", help="do not log to MLflow")
        if name == "train":
            stage.add_argument(
                "--verify", action="store_true", help="retrain without any cache; fail unless the bytes match"
            )
        stage.set_defaults(func=func)

    repro = sub.add_parser("repro", help="`make repro`: dvc pull --allow-missing, then dvc repro; refusals say why")
    repro.set_defaults(func=_repro)

    gate = sub.add_parser("gate", help="judge the challenger against ENV's champion; writes gates/ENV.json")
    gate.add_argument("--env", help="the environment (a configs/deploy/ENV.yaml); --check: default every one")
    gate.add_argument("--check", action="store_true", help="exit non-zero unless each verdict allows deployment")
    gate.add_argument("--verify", action="store_true", help="recompute each verdict; fail naming any differing field")
    gate.add_argument("--base", help="with --verify: judge by the gate policy of this commit (e.g. the merge base)")
    gate.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    gate.set_defaults(func=_gate)

    report = sub.add_parser("report", help="the pull-request comment (Markdown) against a base commit")
    report.add_argument("--base", required=True, help="the commit the pull request merges into, e.g. origin/main")
    report.add_argument("--out", type=Path, default=Path("reports/pr.md"), help="default reports/pr.md")
    report.add_argument("--plots-url", help="where the CI run publishes the plots (links); default: repo paths")
    report.add_argument("--summary", action="store_true", help="also append it to the job summary (on a runner)")
    report.set_defaults(func=_report)

    _delivery_parser(sub)
    _signing_parser(sub)
    _manifests_parser(sub)
    _pr_parser(sub)
    _image_parser(sub)
    _promotion_parser(sub)
    _serve_parser(sub)
    _rehearse_parser(sub)
    _monitor_parser(sub)
    _batch_parser(sub)
    adopt = sub.add_parser("adopt", help="first deployment of your own model: reset every environment to no model")
    adopt.add_argument("--drop-example-data", action="store_true", help="also remove the example's data and objects")
    adopt.set_defaults(func=_adopt)
    demo = sub.add_parser("demo", help="run the main job on the embedded defaults and say what happened")
    demo.add_argument(
        "--monitor", metavar="SHIFT", help="instead, monitor the weeks after training with SHIFT (exit 1 on an alarm)"
    )
    demo.set_defaults(func=_demo)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
    except RollgateError as exc:
        print(f"rollgate {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a command turns it into one (rehearse)
        print(f"rollgate {args.command}: stopped ({exc or 'interrupted'})", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0
