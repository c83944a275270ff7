"""`python -m contract`: the contract run against any server, from the command line.

Exit status: 0 when every check passed, 1 when one failed (or the run was cut short), 2 for a
usage error, named by its flag, 130 when interrupted (after the clean-up).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Options", "UsageError", "main", "parse_options"]

DEFAULT_MAX_REQUESTS = 400
DEFAULT_RATE = 20.0
MIN_MAX_REQUESTS = 60
"""The behaviour checks alone send about forty requests on a small project."""
_PREFIX = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_PREFIX_LENGTH = 24
"""Leaves room in the spec's 54 characters of a name for what follows the prefix."""


class UsageError(Exception):
    """A bad flag or environment: the message names it."""


@dataclass(frozen=True)
class Options:
    base_url: str
    token_env: str
    project_id: str
    weak_token_env: str | None
    max_requests: int
    rate: float
    report: Path | None
    dry_run: bool
    prefix: str
    spec: Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m contract",
        description="Contract tests of the build-service API against any server.",
    )
    parser.add_argument(
        "--base-url", required=True, help="the server, e.g. https://api.example.com"
    )
    parser.add_argument(
        "--token-env", required=True, metavar="NAME", help="the variable holding the API token"
    )
    parser.add_argument("--project-id", required=True, help="the project to make services in")
    parser.add_argument(
        "--weak-token-env",
        metavar="NAME",
        help="the variable holding a token without the Create permission (checks the 403)",
    )
    parser.add_argument(
        "--max-requests", type=int, default=DEFAULT_MAX_REQUESTS,
        help=f"requests the run may send, clean-up aside (default {DEFAULT_MAX_REQUESTS})",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE,
        help=f"requests a second at most (default {DEFAULT_RATE:g})",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="write junit.xml and report.html"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    parser.add_argument(
        "--prefix", help="the start of every service name the run makes (default ct-<random>)"
    )
    parser.add_argument("--spec", type=Path, help="the OpenAPI document (default: this toolkit's)")
    return parser


def _random_prefix() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "ct-" + "".join(secrets.choice(alphabet) for _ in range(8))


def parse_options(argv: Sequence[str] | None, environ: dict[str, str]) -> Options:
    """The options, checked; argparse itself exits 2 for an unknown or missing flag."""
    from contract.spec import DEFAULT_SPEC

    args = _parser().parse_args(argv)
    url = urlsplit(args.base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"--base-url {args.base_url!r}: expected an http:// or https:// URL")
    if not args.dry_run and not environ.get(args.token_env):
        raise UsageError(f"--token-env {args.token_env}: the variable {args.token_env} is not set")
    weak = args.weak_token_env
    if weak is not None and not args.dry_run and not environ.get(weak):
        raise UsageError(f"--weak-token-env {weak}: the variable {weak} is not set")
    if args.max_requests < MIN_MAX_REQUESTS:
        raise UsageError(f"--max-requests {args.max_requests}: at least {MIN_MAX_REQUESTS}")
    if not args.rate > 0:
        raise UsageError(f"--rate {args.rate:g}: must be above 0")
    prefix = args.prefix if args.prefix is not None else _random_prefix()
    if not _PREFIX.fullmatch(prefix) or len(prefix) > MAX_PREFIX_LENGTH:
        raise UsageError(
            f"--prefix {prefix!r}: lowercase letters and digits in words joined by '-',"
            f" starting with a letter, at most {MAX_PREFIX_LENGTH} characters"
        )
    spec = args.spec if args.spec is not None else DEFAULT_SPEC
    if not spec.is_file():
        raise UsageError(f"--spec {spec}: no such file")
    if args.report is not None and args.report.exists() and not args.report.is_dir():
        raise UsageError(f"--report {args.report}: exists and is not a folder")
    return Options(
        base_url=args.base_url.rstrip("/"),
        token_env=args.token_env,
        project_id=args.project_id,
        weak_token_env=weak,
        max_requests=args.max_requests,
        rate=args.rate,
        report=args.report,
        dry_run=args.dry_run,
        prefix=prefix,
        spec=spec,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_options(argv, dict(os.environ))
    except UsageError as error:
        print(f"python -m contract: error: {error}", file=sys.stderr)
        return 2
    from contract.run import dry_run_plan, execute

    if options.dry_run:
        print(dry_run_plan(options))
        return 0
    return execute(options, dict(os.environ))
