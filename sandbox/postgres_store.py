"""The `Store`, `AdminStore` and a shared `RateLimiter` on one PostgreSQL database.

Several sandbox processes, on one machine or many, can share one database:
every promise the handlers rely on is kept by the database, not by a
process. The primary key (project_id, id) makes a duplicate create a 409
whichever replica the requests reach; a put or a patch holds the row's lock
(``SELECT ... FOR UPDATE``) from its read to its write; a token's requests
are counted in one row per (caller, window), so the rate limit is one limit
however many replicas answer. Commits are durable when they return
(PostgreSQL's ``synchronous_commit``, on by default).

Only ``serve --store postgresql://...`` and the admin commands given that
option import this module, so the default SQLite sandbox needs neither a
database server nor the driver. Errors name the URL without its password.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from sandbox.rate_limit import Decision, RateLimit, decide
from sandbox.store import (
    NewService,
    Principal,
    ServiceChange,
    ServiceExistsError,
    StoredService,
    StoreError,
    StoreUnavailableError,
    TokenInfo,
    now_iso,
)

__all__ = [
    "SCHEMA_VERSION",
    "PostgresAdminStore",
    "PostgresRateLimiter",
    "PostgresStore",
    "is_postgres_url",
    "redacted_url",
]

SCHEMA_VERSION: Final = 1
_SCHEMES: Final = ("postgresql://", "postgres://")
_CONNECT_SECONDS: Final = 10
_POOL_SIZE: Final = 10
_POOL_WAIT_SECONDS: Final = 10.0
_MIGRATION_LOCK: Final = 0x6E665F73616E64  # any constant; one per application using the database
_SERVICE_COLUMNS: Final = "project_id, id, record, sealed_secrets, created_at"

_SCHEMA: Final = (
    "CREATE TABLE schema_version (version integer NOT NULL)",
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
    'CREATE TABLE projects (id text COLLATE "C" PRIMARY KEY, created_at text NOT NULL)',
    """CREATE TABLE tokens (
        id text COLLATE "C" PRIMARY KEY,
        hash text NOT NULL UNIQUE,
        label text NOT NULL,
        permissions text NOT NULL,
        created_at text NOT NULL,
        revoked_at text,
        projects text NOT NULL
    )""",
    """CREATE TABLE services (
        project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
        id text COLLATE "C" NOT NULL,
        record text NOT NULL,
        sealed_secrets bytea,
        created_at text NOT NULL,
        PRIMARY KEY (project_id, id)
    )""",
    """CREATE TABLE rate_limits (
        caller text NOT NULL,
        window_end bigint NOT NULL,
        used integer NOT NULL,
        PRIMARY KEY (caller, window_end)
    )""",
)
"""Version 1. Ids sort by code point (``COLLATE "C"``), as SQLite sorts them, so both stores
list in the same order and a cursor means the same thing on either."""
_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {}
"""From each older schema version to the next, as SQL statements; none yet."""


def is_postgres_url(text: str) -> bool:
    return text.startswith(_SCHEMES)


def redacted_url(url: str) -> str:
    """``url`` without its password (in the user part or as a ``password`` parameter)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}@{host}"
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"
        ]
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/")))
    except ValueError:
        return "the PostgreSQL URL"


def _without_password(text: str, url: str) -> str:
    """``text`` (a driver's message about ``url``) with the URL's password blotted out."""
    try:
        parts = urlsplit(url)
        passwords = {parts.password or ""}
        raw_login = parts.netloc.rpartition("@")[0]
        passwords.add(raw_login.partition(":")[2])
        passwords |= {v for k, v in parse_qsl(parts.query) if k == "password"}
    except ValueError:
        return "(details withheld: they may hold the password)"
    for password in filter(None, passwords):
        text = text.replace(password, "***")
    return text


def _conninfo(url: str) -> str:
    """The URL, checked, with a connect timeout unless it sets one: an unreachable host
    should fail a start in seconds, not hang it."""
    if not is_postgres_url(url):
        raise StoreError(f"{redacted_url(url)}: expected a postgresql://user@host:port/db URL")
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        problem = _without_password(str(error).strip(), url)
        raise StoreError(f"{redacted_url(url)}: not a valid PostgreSQL URL ({problem})") from None
    if "connect_timeout" in given:
        return url
    return f"{url}{'&' if '?' in url else '?'}connect_timeout={_CONNECT_SECONDS}"


def _connection_problem(url: str, error: psycopg.Error) -> StoreError:
    """What went wrong reaching the database, in words a user can act on."""
    where = redacted_url(url)
    message = _without_password(str(error).strip(), url)
    detail = message.splitlines()[0] if message else type(error).__name__
    reason = detail.rpartition(" failed: ")[2].removeprefix("FATAL:").strip() or detail
    if "database" in reason and "does not exist" in reason:
        database = urlsplit(url).path.lstrip("/") or "(the user's name)"
        return StoreError(
            f"{where}: the database {database!r} does not exist; create it first"
            f" (`createdb {database}`)"
        )
    if any(word in reason for word in ("authentication", "role", "pg_hba.conf", "password")):
        return StoreError(f"{where}: PostgreSQL refused the login ({reason})")
    if any(word in detail.lower() for word in ("connect", "host", "server", "timeout")):
        return StoreError(f"{where}: cannot reach PostgreSQL ({reason})")
    return StoreError(f"{where}: PostgreSQL failed ({reason})")


@contextmanager
def _as_store_errors(url: str) -> Iterator[None]:
    """Driver errors become `StoreError` naming the (redacted) URL: no traceback reaches a user."""
    try:
        yield
    except psycopg.OperationalError as error:
        raise _connection_problem(url, error) from None
    except psycopg.Error as error:
        message = _without_password(str(error).strip(), url) or type(error).__name__
        raise StoreError(f"{redacted_url(url)}: {message}") from None


def _connect(url: str) -> psycopg.Connection[Any]:
    with _as_store_errors(url):
        return psycopg.connect(_conninfo(url), autocommit=True)


def _migrate(db: psycopg.Connection[Any], url: str, *, create: bool) -> None:
    """Create or upgrade the schema, one process at a time.

    Replicas started together would otherwise both find no schema and both create
    it; the advisory lock makes the second wait, then find the first one's work.
    """
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        if db.execute("SELECT to_regclass('schema_version')").fetchone() == (None,):
            _create_schema(db, url, create=create)
            return
        row = db.execute("SELECT version FROM schema_version").fetchone()
        version = 0 if row is None else int(row[0])
        if version > SCHEMA_VERSION or (version < SCHEMA_VERSION and version not in _MIGRATIONS):
            raise StoreError(
                f"{redacted_url(url)}: database schema version {version};"
                f" this sandbox reads {SCHEMA_VERSION}"
            )
        while version < SCHEMA_VERSION:
            for statement in _MIGRATIONS[version]:
                db.execute(statement.encode())
            version += 1
        db.execute("UPDATE schema_version SET version = %s", (version,))


def _create_schema(db: psycopg.Connection[Any], url: str, *, create: bool) -> None:
    where = redacted_url(url)
    if not create:
        raise StoreError(
            f"{where} holds no sandbox yet; check --store, or set it up by starting"
            f" `python -m sandbox serve --store {where}` once"
        )
    tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
    if (row := tables.fetchone()) is not None and row[0]:
        raise StoreError(f"{where}: this database holds other tables; use a new database")
    for statement in _SCHEMA:
        db.execute(statement.encode())
    db.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))


class PostgresAdminStore:
    """The management commands' view of the database: each method one transaction.

    ``create``: set the schema up on an empty database (what `serve` does); the
    other commands only open a database that has it, so a mistyped URL is an error,
    not a new sandbox whose tokens no server accepts.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self._db = _connect(url)
        try:
            with _as_store_errors(url):
                _migrate(self._db, url, create=create)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with _as_store_errors(self.url), self._db.transaction():
            yield self._db

    def _value(self, key: str) -> str | None:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def bootstrap(self, *, project_id: str, token_hash: str, account: str) -> bool:
        with self._transaction() as db:
            db.execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE")  # two first starts: one wins
            if db.execute("SELECT 1 FROM meta WHERE key = 'bootstrapped'").fetchone():
                return False
            created = now_iso()
            db.cursor().executemany(
                "INSERT INTO meta (key, value) VALUES (%s, %s)",
                [("bootstrapped", created), ("account", account)],
            )
            db.execute(
                "INSERT INTO projects (id, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (project_id, created),
            )
            _insert_token(db, token_hash, "admin", ("*",), ("*",), created)
            return True

    def account(self) -> str:
        return self._value("account") or "sandbox-user"

    def recorded_key_fingerprint(self) -> str | None:
        """The fingerprint of the secret key this database was first used with, if any."""
        return self._value("key_fingerprint")

    def key_fingerprint(self, fingerprint: str) -> str | None:
        """Remember the secret key's fingerprint on first use; return the one on record."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('key_fingerprint', %s)"
                " ON CONFLICT (key) DO NOTHING",
                (fingerprint,),
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchone()
        return None if row is None else str(row[0])

    def reseal_services(self, reseal: Callable[[StoredService], StoredService]) -> int:
        """Nothing to reseal: every PostgreSQL schema seals build arguments from the start."""
        return 0

    def create_project(self, project_id: str) -> None:
        with self._transaction() as db:
            created = db.execute(
                "INSERT INTO projects (id, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (project_id, now_iso()),
            )
            if not created.rowcount:
                raise StoreError(f"project {project_id!r} already exists")

    def list_projects(self) -> list[str]:
        with self._transaction() as db:
            return [row[0] for row in db.execute("SELECT id FROM projects ORDER BY id")]

    def create_token(
        self,
        *,
        token_hash: str,
        label: str,
        permissions: tuple[str, ...],
        projects: tuple[str, ...] = ("*",),
    ) -> str:
        with self._transaction() as db:
            for project_id in projects:
                known = db.execute("SELECT 1 FROM projects WHERE id = %s", (project_id,))
                if project_id != "*" and known.fetchone() is None:
                    raise StoreError(f"project {project_id!r} does not exist (see `project list`)")
            return _insert_token(db, token_hash, label, permissions, projects, now_iso())

    def list_tokens(self) -> list[TokenInfo]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, label, permissions, created_at, revoked_at, projects FROM tokens"
                " ORDER BY created_at, id"
            ).fetchall()
        return [
            TokenInfo(
                token_id,
                label,
                tuple(json.loads(permissions)),
                created,
                revoked,
                tuple(json.loads(projects)),
            )
            for token_id, label, permissions, created, revoked, projects in rows
        ]

    def revoke_token(self, token_id: str) -> None:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (now_iso(), token_id),
            ).rowcount
        if not changed:
            raise StoreError(f"no active token with id {token_id!r} (see `token list`)")

    def count_services(self, project_id: str) -> int:
        with self._transaction() as db:
            row = db.execute(
                "SELECT count(*) FROM services WHERE project_id = %s", (project_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])


def _insert_token(
    db: psycopg.Connection[Any],
    token_hash: str,
    label: str,
    permissions: tuple[str, ...],
    projects: tuple[str, ...],
    created: str,
) -> str:
    token_id = f"tok_{secrets.token_hex(6)}"
    db.execute(
        "INSERT INTO tokens (id, hash, label, permissions, created_at, projects)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (
            token_id,
            token_hash,
            label,
            json.dumps(sorted(permissions)),
            created,
            json.dumps(sorted(projects)),
        ),
    )
    return token_id


def _service(row: tuple[Any, ...]) -> StoredService:
    project_id, service_id, record, sealed, created_at = row
    return StoredService(
        project_id, service_id, record, None if sealed is None else bytes(sealed), created_at
    )


class PostgresStore:
    """The request handlers' view of the database, through a pool of connections.

    The pool opens on first use, inside the event loop that serves: an asyncio pool
    belongs to the loop it was opened in, and `close` must run in that loop too.
    """

    def __init__(self, url: str, *, pool_size: int = _POOL_SIZE) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(
            _conninfo(url),
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            timeout=_POOL_WAIT_SECONDS,
            open=False,
        )
        self._opened = False
        self._projects: set[str] = set()
        """Projects seen to exist: no command deletes a project, so a yes is for good."""

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection in autocommit mode. A lost or unreachable server (or no
        free connection within the pool's wait) is `StoreUnavailableError`: a 503."""
        if not self._opened:
            self._opened = True
            await self._pool.open()
        try:
            async with self._pool.connection() as db:
                yield db
        except psycopg.OperationalError as error:  # the pool's time-out is one too
            raise StoreUnavailableError(str(_connection_problem(self.url, error))) from None

    async def principal(self, token_hash: str) -> Principal | None:
        async with self.connection() as db:
            cursor = await db.execute(
                "SELECT id, permissions, projects FROM tokens"
                " WHERE hash = %s AND revoked_at IS NULL",
                (token_hash,),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        return Principal(row[0], frozenset(json.loads(row[1])), frozenset(json.loads(row[2])))

    async def project_exists(self, project_id: str) -> bool:
        if project_id in self._projects:
            return True
        async with self.connection() as db:
            cursor = await db.execute("SELECT 1 FROM projects WHERE id = %s", (project_id,))
            if await cursor.fetchone() is None:
                return False
        self._projects.add(project_id)
        return True

    async def insert_service(self, service: NewService) -> None:
        try:
            async with self.connection() as db:
                await db.execute(
                    f"INSERT INTO services ({_SERVICE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
                    _values(service),
                )
        except errors.UniqueViolation:
            # The primary key is the table's only unique constraint: the id is taken.
            raise ServiceExistsError(service.service_id) from None

    async def get_service(self, project_id: str, service_id: str) -> StoredService | None:
        async with self.connection() as db:
            cursor = await db.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE project_id = %s AND id = %s",  # noqa: S608
                (project_id, service_id),
            )
            row = await cursor.fetchone()
        return None if row is None else _service(row)

    async def list_services(
        self, project_id: str, *, after: str | None, offset: int, limit: int
    ) -> list[StoredService]:
        async with self.connection() as db:
            cursor = await db.execute(
                f"SELECT {_SERVICE_COLUMNS} FROM services"  # noqa: S608
                " WHERE project_id = %s AND (%s::text IS NULL OR id > %s)"
                " ORDER BY id LIMIT %s OFFSET %s",
                (project_id, after, after, limit, offset),
            )
            return [_service(row) for row in await cursor.fetchall()]

    async def change_service(
        self, project_id: str, service_id: str, change: ServiceChange
    ) -> StoredService:
        """Read the row locked (``FOR UPDATE``), apply ``change``, write, commit.

        With no row to lock, two changes (or a change and a create) can both see none;
        the second insert then finds the first one's row and the change runs again on
        it, so each still sees the result of the one before.
        """
        async with self.connection() as db:
            while True:
                async with db.transaction():
                    cursor = await db.execute(
                        f"SELECT {_SERVICE_COLUMNS} FROM services"  # noqa: S608
                        " WHERE project_id = %s AND id = %s FOR UPDATE",
                        (project_id, service_id),
                    )
                    row = await cursor.fetchone()
                    current = None if row is None else _service(row)
                    changed = change(current)
                    if changed is current:
                        return changed
                    if current is not None:
                        await db.execute(
                            "UPDATE services SET record = %s, sealed_secrets = %s, created_at = %s"
                            " WHERE project_id = %s AND id = %s",
                            (
                                changed.record_json,
                                changed.sealed_secrets,
                                changed.created_at,
                                project_id,
                                service_id,
                            ),
                        )
                        return changed
                    inserted = await db.execute(
                        f"INSERT INTO services ({_SERVICE_COLUMNS})"  # noqa: S608
                        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        _values(changed),
                    )
                    if inserted.rowcount:
                        return changed

    async def delete_service(self, project_id: str, service_id: str) -> bool:
        async with self.connection() as db:
            deleted = await db.execute(
                "DELETE FROM services WHERE project_id = %s AND id = %s", (project_id, service_id)
            )
            return deleted.rowcount > 0

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()


def _values(service: StoredService) -> tuple[str, str, str, bytes | None, str]:
    return (
        service.project_id,
        service.service_id,
        service.record_json,
        service.sealed_secrets,
        service.created_at,
    )


class PostgresRateLimiter:
    """One fixed-window count per caller in the database, so replicas share one limit.

    One statement a request: an upsert of the (caller, window) row that returns the
    count. The window is the database's clock's, so replicas on machines whose clocks
    differ still agree on it. A refused request is counted too (up to one past the
    limit, so the count cannot grow without bound); the headers are the in-memory
    limiter's. Ended windows are deleted once per window by each replica.
    """

    def __init__(self, store: PostgresStore, limit: RateLimit) -> None:
        self.limit = limit
        self._store = store
        self._pruned_until = 0

    async def admit(self, caller: str) -> Decision:
        async with self._store.connection() as db:
            cursor = await db.execute(
                "WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now)"
                " INSERT INTO rate_limits (caller, window_end, used)"
                " SELECT %(caller)s, (floor(now / %(window)s) * %(window)s)::bigint + %(window)s, 1"
                " FROM clock ON CONFLICT (caller, window_end)"
                " DO UPDATE SET used = least(rate_limits.used + 1, %(cap)s)"
                " RETURNING window_end, used, (SELECT now FROM clock)",
                {
                    "caller": caller,
                    "window": self.limit.window_seconds,
                    "cap": self.limit.requests + 1,
                },
            )
            row = await cursor.fetchone()
            if row is None:  # an upsert with RETURNING always returns its row
                raise StoreError(f"{redacted_url(self._store.url)}: the rate limit was not counted")
            window_end, count, now = int(row[0]), int(row[1]), float(row[2])
            if window_end > self._pruned_until:
                self._pruned_until = window_end
                await db.execute("DELETE FROM rate_limits WHERE window_end <= %s", (int(now),))
        return decide(self.limit, count=count, reset_at=window_end, now=now)
