"""The command line: parse arguments, call one function, turn errors into one clear message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rollgate.contracts.errors import RollgateError


def _generate(args: argparse.Namespace) -> None:
    from rollgate.data.generate import GenerateOptions
    from rollgate.pipeline import generate

    generate.run(
        args.root, GenerateOptions(args.seed, args.weeks, args.start_week, args.shift, args.rows_per_week), args.out
    )


def _stage(name: str) -> Callable[[argparse.Namespace], None]:
    def call(args: argparse.Namespace) -> None:
        from importlib import import_module

        module = import_module(f"rollgate.pipeline.{name}")
        kwargs = {"track": not args.no_track} if hasattr(args, "no_track") else {}
        module.run(args.root, **kwargs)

    return call


def _demo(args: argparse.Namespace) -> None:
    from rollgate import demo

    demo.run(args.root)


def parser() -> argparse.ArgumentParser:
    from rollgate.data.generate import DEFAULT_WEEKS, ROWS_PER_WEEK, SHIFTS

    top = argparse.ArgumentParser(prog="rollgate", description=__doc__)
    top.add_argument("--root", type=Path, default=Path(), help="repository root (default: current directory)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="example data").add_subparsers(dest="data_command", required=True)
    gen = data.add_parser("generate", help="write deterministic synthetic weekly batches under data/")
    gen.add_argument("--weeks", type=int, default=DEFAULT_WEEKS, help=f"number of weeks (default {DEFAULT_WEEKS})")
    gen.add_argument("--start-week", type=int, default=0, help="index of the first week (0 = 2026-01-05)")
    gen.add_argument("--shift", choices=SHIFTS, default="none", help="a distribution shift, for drift work")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--rows-per-week", type=int, default=ROWS_PER_WEEK, help=f"default {ROWS_PER_WEEK}")
    gen.add_argument("--out", type=Path, default=None, help="output directory (default data/transactions)")
    gen.set_defaults(func=_generate)

    for name, text in (
        ("validate", "check the raw data against its contract"),
        ("prepare", "time-based train / holdout split"),
        ("train", "fit the model, write models/, log to MLflow"),
        ("evaluate", "holdout metrics, segments, latency and plots"),
    ):
        stage = sub.add_parser(name, help=text)
        if name in ("train", "evaluate"):
            stage.add_argument("--no-track", action="store_true", help="do not log to MLflow")
        stage.set_defaults(func=_stage(name))

    sub.add_parser("demo", help="run the main job on the embedded defaults and say what happened").set_defaults(
        func=_demo
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except RollgateError as exc:
        print(f"rollgate {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
