"""`python -m sandbox`: serve the API, and manage its projects and tokens.

    python -m sandbox serve --host 127.0.0.1 --port 8080 --db sandbox.db
    python -m sandbox project create my-project
    python -m sandbox token create --project my-project \
        --permission "Project > Services > General > Create"
    python -m sandbox token list
    python -m sandbox serve --store postgresql://sandbox@db.internal:5432/sandbox

``--db`` (the default) keeps everything in one SQLite file; ``--store`` in a
PostgreSQL database that several `serve` processes, on one machine or many,
share: projects, tokens, services and rate limits.

On first start with an empty database, `serve` creates the project
``default-project`` and an admin token, and prints the token once. Pass
``--admin-token`` to choose that token instead (for scripts and CI).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, quote, urlencode

from sandbox.app import DEFAULT_RATE_LIMIT, AppSettings, create_app
from sandbox.connection import (
    DEFAULT_IDLE_SECONDS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_REQUEST_SECONDS,
    ConnectionLimits,
    bounded_protocol,
)
from sandbox.rate_limit import RateLimit, RateLimiter
from sandbox.secrets_at_rest import KEY_ENV_VAR, SecretBox, reseal
from sandbox.sqlite_store import (
    SqliteAdminStore,
    SqliteRateLimiter,
    SqliteStore,
    writer_lock_path,
)
from sandbox.store import AdminStore, Store, StoredService, StoreError
from sandbox.tokens import (
    ADMIN_PERMISSION,
    ALL_PROJECTS,
    KNOWN_PERMISSIONS,
    hash_token,
    new_token,
    validate_token_text,
)
from sandbox.validation_pool import DEFAULT_WORKERS, ValidationPool

if TYPE_CHECKING:
    from types import ModuleType

    import uvicorn

__all__ = ["DEFAULT_PROJECT", "main"]

DEFAULT_PROJECT: Final = "default-project"
DB_ENV_VAR: Final = "NF_SANDBOX_DB"
POSTGRES_KEY_FILE: Final = Path("sandbox-postgres.key")
"""With ``--store``, the secret key file when ``$NF_SANDBOX_SECRET_KEY`` is not set: in the
working directory, as the database has no folder to keep it beside."""
_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
_SLUG: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PR_SET_PDEATHSIG: Final = 1
_PARENT_CHECK_SECONDS: Final = 0.2


class UsageError(Exception):
    """A bad argument; the message names it."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["quickstart"]:
        from sandbox.quickstart import main as quickstart  # it builds on this module

        return quickstart(arguments[1:])
    parser = _parser()
    args = parser.parse_args(arguments)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except (StoreError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
    except sqlite3.Error as error:  # a file SQLite opened, then could not read: damaged
        print(f"error: {args.db}: the database cannot be read ({error})", file=sys.stderr)
    except OSError as error:
        print(f"error: {error.filename or args.db}: {error.strerror}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local, stateful Northflank API for build services.",
    )
    database = argparse.ArgumentParser(add_help=False)
    where = database.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get(DB_ENV_VAR, "sandbox.db")),
        help=f"the SQLite file (default: ${DB_ENV_VAR} or ./sandbox.db)",
    )
    where.add_argument(
        "--store",
        type=_store_url,
        metavar="URL",
        help="a PostgreSQL database instead, postgresql://user@host:port/db, that several"
        " sandbox processes can share (tables made on first start)",
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
        help="SQLite only. full (default): a create is on disk before its 200; normal: in the"
        " OS's hands, which survives a crash of the sandbox but not of the machine, and is faster",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=partial(_positive, int),
        default=DEFAULT_MAX_HEADER_BYTES,
        help=f"largest request line and headers, in bytes; larger is a 431"
        f" (default {DEFAULT_MAX_HEADER_BYTES})",
    )
    serve.add_argument(
        "--request-timeout",
        type=partial(_positive, float),
        default=DEFAULT_REQUEST_SECONDS,
        help="seconds for a request's headers and body to arrive, from its first byte;"
        f" slower is a 408 (default {DEFAULT_REQUEST_SECONDS:g})",
    )
    serve.add_argument(
        "--idle-timeout",
        type=partial(_positive, float),
        default=DEFAULT_IDLE_SECONDS,
        help="seconds a connection may stay silent before or between requests"
        f" (default {DEFAULT_IDLE_SECONDS:g})",
    )
    serve.add_argument(
        "--validation-workers",
        type=partial(_positive, int),
        default=DEFAULT_WORKERS,
        help="processes that check request bodies over 16 KiB, started on first use,"
        f" so a costly body never stalls other requests (default {DEFAULT_WORKERS})",
    )
    serve.add_argument(
        "--workers",
        type=partial(_positive, int),
        default=1,
        help="server processes sharing the port and the store (and so the rate limit);"
        " each has its own event loop and writer (default 1)",
    )
    serve.add_argument("--quiet", action="store_true", help="no access log")
    serve.set_defaults(command=_serve)
    # Listed for --help only: main() hands `quickstart` over before this parser runs.
    commands.add_parser(
        "quickstart",
        add_help=False,
        help="serve, with a token and .sandbox/env for the README's examples",
    )

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


def _store_url(text: str) -> str:
    if not text.startswith(_POSTGRES_SCHEMES):
        raise argparse.ArgumentTypeError(
            "expected a PostgreSQL URL, postgresql://user@host:port/db (for a SQLite file, --db)"
        )
    return text


def _positive(kind: Callable[[str], float], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _slug(text: str, what: str) -> str:
    if not (3 <= len(text) <= 100 and _SLUG.fullmatch(text)):
        raise UsageError(f"{what} {text!r}: use 3-100 lowercase letters, digits and single hyphens")
    return text


def _serve(args: argparse.Namespace) -> int:
    account = _slug(args.account, "--account")
    admin_token = args.admin_token or new_token()
    if args.admin_token is not None and (problem := validate_token_text(args.admin_token)):
        raise UsageError(f"--admin-token: {problem}")
    if args.store is not None and args.synchronous is not None:
        raise UsageError(
            "--synchronous is SQLite's setting; with --store, PostgreSQL's synchronous_commit"
            " decides when a create is durable"
        )
    # Listen first: a start that cannot listen must not set up the database (and show its
    # admin token, which would then never be shown again) before it fails.
    listener = _listen(args.host, args.port)
    try:
        box, account = _set_up(args, account, admin_token)
    except BaseException:
        listener.close()
        raise

    host, port = listener.getsockname()[:2]
    announce = f"Listening on http://{host}:{port} (rate limit {args.rate_limit or 'off'}"
    workers = int(args.workers)
    if workers == 1:
        return _serve_one(args, box, account, listener, announce + ")")
    return _serve_workers(args, box, account, listener, f"{announce}, {workers} workers)")


def _serve_one(
    args: argparse.Namespace,
    box: SecretBox,
    account: str,
    listener: socket.socket,
    announce: str | None,
) -> int:
    """One server process on ``listener``: the only one, or one of ``--workers``; it
    prints ``announce`` once ready to serve."""
    import uvicorn  # the management commands do without it

    store, limiter = _open_store(args)
    pool = ValidationPool(int(args.validation_workers))
    settings = AppSettings(account=account, rate_limit=args.rate_limit)
    app = create_app(store, box, settings, validation_pool=pool, rate_limiter=limiter)
    limits = ConnectionLimits(args.max_header_bytes, args.request_timeout, args.idle_timeout)
    config = uvicorn.Config(
        app,
        http=bounded_protocol(limits),
        ws="none",  # an Upgrade is refused by the app, never acted on
        log_level="warning" if args.quiet else "info",
        access_log=not args.quiet,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    logging.getLogger("uvicorn.access").addFilter(_redact_query_secrets)

    class AnnouncingServer(uvicorn.Server):
        """Says it listens once uvicorn has started, with its own signal handlers in place:
        a stop requested by whoever read the line always reaches them."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and announce is not None:
                print(announce, flush=True)

    server = AnnouncingServer(config)
    _STARTING.append(server)
    if announce is not None:  # the only process: its stops are noted as a worker's are
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, _note_stop)
    if _STOP_REQUESTED.is_set():  # told to stop while it was starting
        server.should_exit = True
    _settle_garbage()
    try:
        _run_server(server, listener, store)
    finally:
        pool.close()
        if isinstance(limiter, SqliteRateLimiter):
            limiter.close()
    return 0


def _settle_garbage() -> None:
    """Move everything made at start-up (modules, models, the app) out of the collector's
    reach, so a full collection under load walks only what requests made since."""
    gc.collect()
    gc.freeze()


def _serve_workers(
    args: argparse.Namespace,
    box: SecretBox,
    account: str,
    listener: socket.socket,
    announce: str,
) -> int:
    """``--workers`` forked server processes accepting on one listening socket, sharing the store.

    Forked before any thread or store connection exists. Each worker ends when this
    process does, however it ends (Linux: the parent-death signal; elsewhere it polls its
    parent); SIGINT or SIGTERM here stops them all gracefully. A worker that exits on its
    own stops the rest, and ``serve`` exits 1.
    """
    if threading.active_count() != 1:
        raise UsageError("--workers: the server has threads already; cannot fork workers")
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[int] = []
    for _ in range(int(args.workers)):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                for stop in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(stop, _note_stop)
                _follow_parent(parent)
                status = _serve_one(args, box, account, listener, None)
            except SystemExit as leaving:
                status = leaving.code if isinstance(leaving.code, int) else 1
            except BaseException:  # a worker must never return into the parent's code
                logging.getLogger("sandbox").exception("worker %d failed", os.getpid())
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children.append(pid)
    listener.close()
    try:
        return _supervise(children, announce)
    finally:
        if args.store is None:  # every worker has ended: nobody holds the lock file
            writer_lock_path(args.db).unlink(missing_ok=True)


_STOP_REQUESTED: Final = threading.Event()
_STARTING: Final[list[uvicorn.Server]] = []


def _note_stop(signum: int, frame: FrameType | None) -> None:
    """A server's handler until uvicorn installs its own, and again once uvicorn has
    restored it and raises the signal it caught: it may be anywhere in its start (or in
    the event loop, which would swallow an exception raised here), so it only takes
    note; the server stops as soon as it has started, then the store closes and the
    status is 0, with no traceback for SIGINT."""
    _STOP_REQUESTED.set()
    for server in _STARTING:
        server.should_exit = True


def _supervise(children: list[int], announce: str) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    print(announce, flush=True)
    status = 0
    alive = set(children)
    while alive:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid not in alive:
            continue  # not a worker
        alive.discard(pid)
        if not stopping:
            print(f"error: worker {pid} exited; stopping the others", file=sys.stderr, flush=True)
            status = 1
            stop(signal.SIGTERM, None)
        elif os.waitstatus_to_exitcode(wait_status) != 0:
            status = 1
    return status


def _follow_parent(parent: int) -> None:
    """End this worker (gracefully, by SIGTERM) as soon as the serving parent is gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # gone before the signal was armed
        os._exit(0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)


def _set_up(args: argparse.Namespace, account: str, admin_token: str) -> tuple[SecretBox, str]:
    """The secret key and the account, once the store is ready (made on first start)."""
    if args.store is None:
        with _removed_unless_started(args.db):
            admin = SqliteAdminStore(args.db)
            return _bootstrap(
                str(args.db), admin, _key_file(args.db), account, admin_token, args.admin_token
            )
    postgres = _postgres_store()
    with _removed_if_created(POSTGRES_KEY_FILE):
        return _bootstrap(
            postgres.redacted_url(args.store),
            postgres.PostgresAdminStore(args.store, create=True),
            POSTGRES_KEY_FILE,
            account,
            admin_token,
            args.admin_token,
        )


def _open_store(args: argparse.Namespace) -> tuple[Store, RateLimiter | None]:
    """The handlers' store, and the rate limiter that keeps its counts in it when the
    store is shared (``None``: the app counts in memory)."""
    if args.store is None:
        shared = args.workers > 1
        store = SqliteStore(args.db, synchronous=args.synchronous or "full", shared=shared)
        if shared and args.rate_limit is not None:
            return store, SqliteRateLimiter(args.db, args.rate_limit)
        return store, None
    postgres = _postgres_store()
    store = postgres.PostgresStore(args.store)
    limiter = postgres.PostgresRateLimiter(store, args.rate_limit) if args.rate_limit else None
    return store, limiter


def _run_server(server: uvicorn.Server, listener: socket.socket, store: Store) -> None:
    """Serve until stopped, then close the store in the same event loop: a pool of
    asyncio connections belongs to the loop that opened it."""

    async def serve_then_close() -> None:
        try:
            await server.serve(sockets=[listener])
        finally:
            await store.close()

    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(serve_then_close())


_SECRET_PARAMETER: Final = re.compile(r"token|key|secret|password|auth|signature", re.IGNORECASE)


def _redact_query_secrets(record: logging.LogRecord) -> bool:
    """Keep tokens out of the access log: a query parameter whose name says it holds a
    secret (``token``, ``api_token``, ``access_token``, ``key``...) shows as ``REDACTED``.

    The API never reads a token from the query string, but a client may still send one
    there; the 401 it gets should not leave the token in a log file.
    """
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
        path, _, query = args[2].partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        redacted = [(n, "REDACTED" if _SECRET_PARAMETER.search(n) else v) for n, v in pairs]
        record.args = (*args[:2], f"{path}?{urlencode(redacted, quote_via=quote)}", *args[3:])
    return True


@contextmanager
def _removed_unless_started(db: Path) -> Iterator[None]:
    """On a first start, create ``db`` (saying so) and remove all of it again if the start fails.

    A refused start must leave nothing behind: no database, no WAL, no key file, no folder.
    """
    if db.exists():
        yield
        return
    print(f"{db} does not exist yet; creating a new sandbox database.", file=sys.stderr)
    folders = [folder for folder in (db.parent, *db.parent.parents) if not folder.exists()]
    created = [db.with_name(db.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    key_file = _key_file(db)
    if not key_file.exists():
        created.append(key_file)
    try:
        yield
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        for folder in folders:  # innermost first
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise


@contextmanager
def _removed_if_created(key_file: Path) -> Iterator[None]:
    """A key file made by a start that then fails is removed: a refused start leaves nothing."""
    if key_file.exists():
        yield
        return
    try:
        yield
    except BaseException:
        key_file.unlink(missing_ok=True)
        raise


def _bootstrap(
    db: str, admin: AdminStore, key_file: Path, account: str, admin_token: str, chosen: str | None
) -> tuple[SecretBox, str]:
    """Open the secret key and, on an empty database, create the default project and token.

    ``db`` names the database in messages (a PostgreSQL URL without its password)."""
    try:
        box = _secret_box(db, key_file, admin)
        if admin.bootstrap(
            project_id=DEFAULT_PROJECT, token_hash=hash_token(admin_token), account=account
        ):
            print(f"Created project {DEFAULT_PROJECT!r} and an admin token in {db}.")
            if chosen is None:
                print(f"Admin token (shown only this once):\n  {admin_token}")
        elif chosen is not None:
            print(f"{db} is already set up; --admin-token is ignored.", file=sys.stderr)
        if resealed := admin.reseal_services(_resealer(box)):
            print(f"Sealed the build arguments of {resealed} stored service(s).", file=sys.stderr)
        return box, admin.account()
    finally:
        admin.close()


def _resealer(box: SecretBox) -> Callable[[StoredService], StoredService]:
    return lambda row: reseal(row, box)


def _key_file(db: Path) -> Path:
    return db.with_name(db.name + ".key")


def _secret_box(db: str, key_file: Path, admin: AdminStore) -> SecretBox:
    # A database that has a key on record needs that key: a new one would not open its
    # secrets, so it is not created (and then refused, left behind).
    box = SecretBox.load(key_file, create=admin.recorded_key_fingerprint() is None)
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


def _admin_store(args: argparse.Namespace) -> AdminStore:
    """The store a management command works on; it never makes one."""
    if args.store is None:
        return _existing_database(args.db)
    admin: AdminStore = _postgres_store().PostgresAdminStore(args.store)
    return admin


POSTGRES_PACKAGES: Final = "psycopg==3.3.9 psycopg-binary==3.3.9 psycopg-pool==3.3.3"
"""The `postgres` dependency group of pyproject.toml, for the message that names it."""


def _postgres_store() -> ModuleType:
    """sandbox.postgres_store, imported only for `--store`: SQLite users need no driver."""
    try:
        import sandbox.postgres_store as postgres
    except ModuleNotFoundError as missing:
        if missing.name is None or not missing.name.startswith("psycopg"):
            raise
        raise UsageError(
            f"--store postgresql://... needs the PostgreSQL driver: pip install {POSTGRES_PACKAGES}"
        ) from None
    return postgres


def _existing_database(db: Path) -> SqliteAdminStore:
    """The database of a management command, which never creates one: a mistyped ``--db``
    would make a new database, and a token no server accepts."""
    if not db.exists():
        raise UsageError(
            f"{db} does not exist; check --db (or ${DB_ENV_VAR}), or create it by starting"
            f" `python -m sandbox serve --db {db}` once"
        )
    if db.is_dir():
        raise UsageError(f"{db} is a directory, not a sandbox database")
    return SqliteAdminStore(db)


def _create_project(args: argparse.Namespace) -> int:
    project_id = _slug(args.project_id, "project id")
    admin = _admin_store(args)
    try:
        admin.create_project(project_id)
    finally:
        admin.close()
    print(f"Created project {project_id!r}.")
    return 0


def _list_projects(args: argparse.Namespace) -> int:
    admin = _admin_store(args)
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
    admin = _admin_store(args)
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
    admin = _admin_store(args)
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
    admin = _admin_store(args)
    try:
        admin.revoke_token(args.token_id)
    finally:
        admin.close()
    print(f"Revoked token {args.token_id}.")
    return 0
