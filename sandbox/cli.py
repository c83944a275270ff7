"""`python -m sandbox`: serve the API, and manage its projects and tokens.

    python -m sandbox serve --host 127.0.0.1 --port 8080 --db sandbox.db
    python -m sandbox project create my-project
    python -m sandbox token create --project my-project \
        --permission "Project > Services > General > Create"
    python -m sandbox token list

On first start with an empty database, `serve` creates the project
``default-project`` and an admin token, and prints the token once. Pass
``--admin-token`` to choose that token instead (for scripts and CI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from sandbox.app import DEFAULT_RATE_LIMIT, AppSettings, create_app
from sandbox.rate_limit import RateLimit
from sandbox.secrets_at_rest import KEY_ENV_VAR, SecretBox
from sandbox.sqlite_store import SqliteAdminStore, SqliteStore
from sandbox.store import StoreError
from sandbox.tokens import (
    ADMIN_PERMISSION,
    ALL_PROJECTS,
    KNOWN_PERMISSIONS,
    hash_token,
    new_token,
    validate_token_text,
)

__all__ = ["DEFAULT_PROJECT", "main"]

DEFAULT_PROJECT: Final = "default-project"
DB_ENV_VAR: Final = "NF_SANDBOX_DB"
_SLUG: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class UsageError(Exception):
    """A bad argument; the message names it."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except (StoreError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local, stateful Northflank API for build services.",
    )
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get(DB_ENV_VAR, "sandbox.db")),
        help=f"the SQLite file (default: ${DB_ENV_VAR} or ./sandbox.db)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[database], help="serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    serve.add_argument(
        "--admin-token",
        help="on first start, use this admin token instead of a random one (bootstrap only)",
    )
    serve.add_argument(
        "--account",
        default="sandbox-user",
        help="on first start, the account name in every appId (default sandbox-user)",
    )
    serve.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=DEFAULT_RATE_LIMIT,
        help="requests per caller: N/second|minute|hour|day, or off (default 1000/hour)",
    )
    serve.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help="full (default): a create is on disk before its 200; normal: in the OS's hands,"
        " which survives a crash of the sandbox but not of the machine, and is faster",
    )
    serve.add_argument("--quiet", action="store_true", help="no access log")
    serve.set_defaults(command=_serve)

    project = commands.add_parser("project", help="manage projects").add_subparsers(
        required=True, metavar="ACTION"
    )
    create_project = project.add_parser("create", parents=[database], help="create a project")
    create_project.add_argument("project_id", metavar="ID")
    create_project.set_defaults(command=_create_project)
    list_projects = project.add_parser("list", parents=[database], help="list projects")
    list_projects.set_defaults(command=_list_projects)

    token = commands.add_parser("token", help="manage API tokens").add_subparsers(
        required=True, metavar="ACTION"
    )
    create_token = token.add_parser(
        "create", parents=[database], help="create a token and print it once"
    )
    create_token.add_argument(
        "--permission",
        action="append",
        required=True,
        choices=KNOWN_PERMISSIONS,
        help="a permission to grant; repeat for more ('*' grants every permission)",
    )
    create_token.add_argument(
        "--project",
        action="append",
        metavar="ID",
        help="a project the token belongs to; repeat for more ('*', the default, is every"
        " project, present and future)",
    )
    create_token.add_argument("--label", default="", help="a note to tell tokens apart")
    create_token.set_defaults(command=_create_token)
    list_tokens = token.add_parser("list", parents=[database], help="list tokens (no secrets)")
    list_tokens.set_defaults(command=_list_tokens)
    revoke_token = token.add_parser("revoke", parents=[database], help="revoke a token")
    revoke_token.add_argument("token_id", metavar="TOKEN_ID")
    revoke_token.set_defaults(command=_revoke_token)
    return parser


def _rate_limit(text: str) -> RateLimit | None:
    try:
        return RateLimit.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _slug(text: str, what: str) -> str:
    if not (3 <= len(text) <= 100 and _SLUG.fullmatch(text)):
        raise UsageError(f"{what} {text!r}: use 3-100 lowercase letters, digits and single hyphens")
    return text


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # the management commands do without it

    account = _slug(args.account, "--account")
    admin_token = args.admin_token or new_token()
    if args.admin_token is not None and (problem := validate_token_text(args.admin_token)):
        raise UsageError(f"--admin-token: {problem}")
    # Listen first: a start that cannot listen must not set up the database (and show its
    # admin token, which would then never be shown again) before it fails.
    listener = _listen(args.host, args.port)
    try:
        box, account = _bootstrap(args.db, account, admin_token, chosen=args.admin_token)
    except BaseException:
        listener.close()
        raise

    store = SqliteStore(args.db, synchronous=args.synchronous)
    app = create_app(store, box, AppSettings(account=account, rate_limit=args.rate_limit))
    config = uvicorn.Config(
        app,
        log_level="warning" if args.quiet else "info",
        access_log=not args.quiet,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    host, port = listener.getsockname()[:2]
    limit = args.rate_limit or "off"
    print(f"Listening on http://{host}:{port} (rate limit {limit})", flush=True)
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_cleanly)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        asyncio.run(store.close())
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """After a graceful shutdown, end `serve` so that the store closes and the status is 0.

    uvicorn shuts down on SIGINT or SIGTERM, then raises the signal again under the
    handler it found: by default SIGTERM killed the process before the store closed (its
    WAL left behind) and SIGINT ended it with a KeyboardInterrupt traceback.
    """
    raise SystemExit(0)


def _bootstrap(
    db: Path, account: str, admin_token: str, *, chosen: str | None
) -> tuple[SecretBox, str]:
    """Open the secret key and, on an empty database, create the default project and token."""
    admin = SqliteAdminStore(db)
    try:
        box = _secret_box(db, admin)
        if admin.bootstrap(
            project_id=DEFAULT_PROJECT, token_hash=hash_token(admin_token), account=account
        ):
            print(f"Created project {DEFAULT_PROJECT!r} and an admin token in {db}.")
            if chosen is None:
                print(f"Admin token (shown only this once):\n  {admin_token}")
        elif chosen is not None:
            print(f"{db} is already set up; --admin-token is ignored.", file=sys.stderr)
        return box, admin.account()
    finally:
        admin.close()


def _secret_box(db: Path, admin: SqliteAdminStore) -> SecretBox:
    key_file = db.with_name(db.name + ".key")
    box = SecretBox.load(key_file)
    if admin.key_fingerprint(box.fingerprint) != box.fingerprint:
        source = f"${KEY_ENV_VAR}" if KEY_ENV_VAR in os.environ else str(key_file)
        raise StoreError(
            f"{source}: this is not the key {db} was first used with; its secrets would not open"
        )
    return box


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def _create_project(args: argparse.Namespace) -> int:
    project_id = _slug(args.project_id, "project id")
    admin = SqliteAdminStore(args.db)
    try:
        admin.create_project(project_id)
    finally:
        admin.close()
    print(f"Created project {project_id!r}.")
    return 0


def _list_projects(args: argparse.Namespace) -> int:
    admin = SqliteAdminStore(args.db)
    try:
        for project_id in admin.list_projects():
            print(project_id)
    finally:
        admin.close()
    return 0


def _create_token(args: argparse.Namespace) -> int:
    projects = tuple(dict.fromkeys(args.project or [ALL_PROJECTS]))
    for project_id in projects:
        if project_id != ALL_PROJECTS:
            _slug(project_id, "--project")
    token = new_token()
    permissions = tuple(dict.fromkeys(args.permission))
    admin = SqliteAdminStore(args.db)
    try:
        token_id = admin.create_token(
            token_hash=hash_token(token),
            label=args.label,
            permissions=permissions,
            projects=projects,
        )
    finally:
        admin.close()
    print(f"Created token {token_id}; it is shown only this once:", file=sys.stderr)
    print(token)
    return 0


def _list_tokens(args: argparse.Namespace) -> int:
    admin = SqliteAdminStore(args.db)
    try:
        tokens = admin.list_tokens()
    finally:
        admin.close()
    rows = [["ID", "CREATED", "REVOKED", "LABEL", "PROJECTS", "PERMISSIONS"]]
    for info in tokens:
        granted = ", ".join(
            "* (every permission)" if p == ADMIN_PERMISSION else p for p in info.permissions
        )
        projects = ",".join(info.projects)
        rows.append(
            [info.token_id, info.created_at, info.revoked_at or "-", info.label, projects, granted]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)]
        print("  ".join([*padded, row[5]]).rstrip())
    return 0


def _revoke_token(args: argparse.Namespace) -> int:
    admin = SqliteAdminStore(args.db)
    try:
        admin.revoke_token(args.token_id)
    finally:
        admin.close()
    print(f"Revoked token {args.token_id}.")
    return 0
