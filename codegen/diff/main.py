"""The ``diff`` command line: arguments, exit codes, output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .changes import Change, Level, merged
from .operations import Side, compare_apis
from .places import Emit
from .report import as_json, as_text
from .sources import SourceError, load_side

__all__ = ["diff_sides", "main"]

EXIT_FAILED_ON = 1
EXIT_BAD_INPUT = 2


def diff_sides(old: Side, new: Side) -> list[Change]:
    """Every change from ``old`` to ``new``, each once, most severe first."""
    found: list[tuple[Change, str]] = []
    compare_apis(old, new, Emit(lambda change, operation: found.append((change, operation))))
    return merged(found)


def main(argv: list[str], cwd: Path | None = None) -> int:
    """Exit 0, 1 when ``--fail-on`` finds a change at or above its level, 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen diff",
        description="Classify the changes between two specs and the version bump they need.",
    )
    parser.add_argument("old", metavar="OLD", help="a spec file, or REF:PATH read with git show")
    parser.add_argument("new", metavar="NEW", help="a spec file, or REF:PATH read with git show")
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")
    parser.add_argument(
        "--fail-on",
        choices=("breaking", "additive"),
        help="exit 1 when a change at or above this level exists",
    )
    args = parser.parse_args(argv)
    here = cwd or Path.cwd()
    try:
        old = load_side(args.old, "OLD", here)
        new = load_side(args.new, "NEW", here)
    except SourceError as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    changes = diff_sides(old, new)
    print(as_json(changes) if args.json else as_text(changes, args.old, args.new))
    if args.fail_on is not None:
        threshold = Level.parse(args.fail_on)
        if any(change.level >= threshold for change in changes):
            return EXIT_FAILED_ON
    return 0
