"""``python -m codegen``: regenerate ``generated/`` from the spec, or check it is current.

``python -m codegen diff OLD NEW`` compares two specs instead (see ``codegen.diff``).
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from .issues import GenerationError, SpecError


def main(argv: list[str] | None = None) -> int:
    """The process's entry point (it changes the process's garbage collection)."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["diff"]:
        from .diff import main as diff_main  # only the diff needs hypothesis

        return diff_main(arguments[1:])
    # One run that ends with the process: the cyclic garbage collector would walk the
    # imported modules' objects (datamodel-code-generator's pydantic models above all)
    # again and again for nothing; reference counting frees the rest, and the process's
    # end what cycles remain. Disabled before the imports, and so in the forked child too.
    gc.disable()
    from .pipeline import REPO_ROOT, check, generate

    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--spec", type=Path, default=REPO_ROOT / "spec" / "openapi.yaml")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "generated")
    parser.add_argument(
        "--check", action="store_true", help="exit 1, listing stale files, if --out is not current"
    )
    args = parser.parse_args(arguments)
    try:
        if args.check:
            stale = check(args.spec, args.out)
            if stale:
                print(f"{args.out} is out of date with {args.spec}:", file=sys.stderr)
                for line in stale:
                    print(f"  {line}", file=sys.stderr)
                print("Run `nox -s codegen` and commit the result.", file=sys.stderr)
                return 1
            print(f"{args.out} is up to date with {args.spec}.")
            return 0
        count = generate(args.spec, args.out)
    except SpecError as err:
        print(err, file=sys.stderr)
        print(f"Nothing was written; {args.out} is unchanged.", file=sys.stderr)
        return 2
    except GenerationError as err:
        print(f"A bug in the generator, not in the spec: {err}", file=sys.stderr)
        print(f"Nothing was written; {args.out} is unchanged.", file=sys.stderr)
        return 2
    print(f"Wrote {count} files to {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
