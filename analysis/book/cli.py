"""Command-line entry point: ``python -m analysis <command>``.

Commands
--------
validate [--data DIR]
    Check the trial database; print ``OK: N studies, M outcome rows (data version X)`` or every
    problem (one per line) and exit with status 1 on any error.
release [--data DIR]
    Record the key pooled estimates of the data as ``DIR/history/<version>.json``
    (:func:`analysis.history.record_release`); refuses to overwrite a different release of
    the same version.

Further subcommands (``build``, ``bench``, ``release``, ...) can be added by registering a
parser in :func:`build_parser` and a handler in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _cmd_validate(args: argparse.Namespace) -> int:
    from analysis.evidence import data_version, find_data_dir, load_trials, validate

    try:
        root = find_data_dir(args.data)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problems = validate(root)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    trials = load_trials(root)
    print(
        f"OK: {len(trials.studies)} studies, {len(trials.outcomes)} outcome rows "
        f"(data version {data_version(root)})"
    )
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from analysis.book.build import main as build_main

    argv = ["--root", str(args.root), "--jobs", str(args.jobs)]
    if args.timeout is not None:
        argv += ["--timeout", str(args.timeout)]
    return build_main(argv)


def _cmd_release(args: argparse.Namespace) -> int:
    from analysis.review.history import record_release

    try:
        path = record_release(args.data)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"recorded release {path.stem} in {path}")
    print("now set version and date-released in CITATION.cff to this release "
          "(tests/test_citation.py checks them)")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "build": _cmd_build,
    "release": _cmd_release,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Tools for the living review of psychotherapy for TRD.",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    p_val = sub.add_parser("validate", help="check the trial database in data/")
    p_val.add_argument(
        "--data",
        metavar="DIR",
        default=None,
        help="data folder (default: $TRD_DATA_DIR, else the nearest data/ above the cwd)",
    )
    p_build = sub.add_parser(
        "build", help="validate, execute what changed, render and publish _build/html"
    )
    p_build.add_argument("--root", default=".", help="repository folder (default: .)")
    p_build.add_argument("--jobs", type=int, default=2, help="notebooks executed in parallel")
    p_build.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds each notebook may run (default: $TRD_NOTEBOOK_TIMEOUT, else 300)",
    )
    p_rel = sub.add_parser(
        "release", help="record the key estimates of data/ as data/history/<version>.json"
    )
    p_rel.add_argument(
        "--data",
        metavar="DIR",
        default=None,
        help="data folder (default: $TRD_DATA_DIR, else the nearest data/ above the cwd)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
