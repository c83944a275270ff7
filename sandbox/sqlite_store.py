"""The `Store` and `AdminStore` on one SQLite file, in WAL mode.

Reads (token and project look-ups) run on the event loop's thread: on a WAL
database they take microseconds and never wait for a writer. Inserts go to
one writer thread that commits them in groups: every insert that arrives
while a commit is in flight joins the next transaction, each under its own
savepoint, so a conflict rolls back only its own row. ``synchronous=FULL``
(the default) makes each commit durable before any of its callers hears
back, and one fsync serves the whole group; ``normal`` trades the fsync for
durability against crashes of the sandbox only (see `Synchronous`).

The primary key (project_id, id) is what makes a duplicate a 409: two
concurrent creates of one name, from one process or several, cannot both
commit.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from sandbox.store import (
    NewService,
    Principal,
    ServiceExistsError,
    StoreError,
    TokenInfo,
    now_iso,
)

__all__ = ["SCHEMA_VERSION", "SqliteAdminStore", "SqliteStore", "connect"]

SCHEMA_VERSION: Final = 1
_BUSY_TIMEOUT_MS: Final = 10_000
_MAX_GROUP: Final = 512
_SYNCHRONOUS: Final = {"full": "FULL", "normal": "NORMAL"}

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE TABLE services (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    sealed_secrets BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT, WITHOUT ROWID;
"""


Synchronous = Literal["full", "normal"]
"""SQLite's ``synchronous`` setting for service inserts.

``full`` (the default): a commit is on disk (fsync) before any caller hears
back, so an acknowledged create survives a power cut. ``normal``: the commit
is in the WAL file, in the operating system's hands; it survives a crash or
SIGKILL of the sandbox, not of the machine, and spares one fsync per commit.
"""


def connect(path: Path, synchronous: Synchronous = "full") -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path``, with its schema in place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
        )
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"{path}: cannot open the database ({error})") from None
    try:
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[synchronous]}")
        connection.execute("PRAGMA foreign_keys = ON")
        _migrate(connection, path)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(f"{path}: not a sandbox database ({error})") from None
    return connection


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    with _transaction(connection):
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if tables:
                raise StoreError(f"{path}: this SQLite file holds other tables; use a new file")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: database schema version {version}; this sandbox reads {SCHEMA_VERSION}"
            )


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    try:
        connection.execute("COMMIT")
    except sqlite3.Error:
        # A failed COMMIT (I/O error, disk full, deferred constraint) can leave the
        # transaction open, and every later BEGIN on this connection would fail.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


class SqliteAdminStore:
    """The management commands' view of the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path)

    def close(self) -> None:
        self._db.close()

    def bootstrap(self, *, project_id: str, token_hash: str, account: str) -> bool:
        with _transaction(self._db):
            if self._db.execute("SELECT 1 FROM meta WHERE key = 'bootstrapped'").fetchone():
                return False
            created = now_iso()
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("bootstrapped", created), ("account", account)],
            )
            self._db.execute(
                "INSERT OR IGNORE INTO projects (id, created_at) VALUES (?, ?)",
                (project_id, created),
            )
            self._insert_token(token_hash, "admin", ("*",), created)
            return True

    def account(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'account'").fetchone()
        return str(row[0]) if row else "sandbox-user"

    def key_fingerprint(self, fingerprint: str) -> str | None:
        """Remember the secret key's fingerprint on first use; return the one on record."""
        with _transaction(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_fingerprint', ?)",
                (fingerprint,),
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'")
            return str(row.fetchone()[0])

    def create_project(self, project_id: str) -> None:
        try:
            with _transaction(self._db):
                self._db.execute(
                    "INSERT INTO projects (id, created_at) VALUES (?, ?)", (project_id, now_iso())
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"project {project_id!r} already exists") from None

    def list_projects(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT id FROM projects ORDER BY id")]

    def create_token(self, *, token_hash: str, label: str, permissions: tuple[str, ...]) -> str:
        with _transaction(self._db):
            return self._insert_token(token_hash, label, permissions, now_iso())

    def _insert_token(
        self, token_hash: str, label: str, permissions: tuple[str, ...], created: str
    ) -> str:
        token_id = f"tok_{secrets.token_hex(6)}"
        self._db.execute(
            "INSERT INTO tokens (id, hash, label, permissions, created_at) VALUES (?, ?, ?, ?, ?)",
            (token_id, token_hash, label, json.dumps(sorted(permissions)), created),
        )
        return token_id

    def list_tokens(self) -> list[TokenInfo]:
        rows = self._db.execute(
            "SELECT id, label, permissions, created_at, revoked_at FROM tokens"
            " ORDER BY created_at, id"
        )
        return [
            TokenInfo(token_id, label, tuple(json.loads(permissions)), created, revoked)
            for token_id, label, permissions, created, revoked in rows
        ]

    def revoke_token(self, token_id: str) -> None:
        with _transaction(self._db):
            changed = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now_iso(), token_id),
            ).rowcount
        if not changed:
            raise StoreError(f"no active token with id {token_id!r} (see `token list`)")

    def count_services(self, project_id: str) -> int:
        row = self._db.execute("SELECT count(*) FROM services WHERE project_id = ?", (project_id,))
        return int(row.fetchone()[0])


@dataclass(slots=True)
class _PendingInsert:
    service: NewService
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[bool]
    """Resolves to ``True`` once committed, ``False`` if the id was taken."""


@dataclass(slots=True)
class _Writer:
    """The one thread that writes services, committing whatever has queued up as one group."""

    db: sqlite3.Connection
    inbox: queue.SimpleQueue[_PendingInsert | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="sandbox-writer", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.inbox.put(None)
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        while True:
            first = self.inbox.get()
            if first is None:
                return
            group = [first]
            while len(group) < _MAX_GROUP:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.inbox.put(None)
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_PendingInsert]) -> None:
        outcomes: list[bool | BaseException] = []
        try:
            with _transaction(self.db):
                for pending in group:
                    outcomes.append(self._insert(pending.service))
        except Exception as error:  # noqa: BLE001 - every caller must hear back
            outcomes = [error] * len(group)
        for pending, outcome in zip(group, outcomes, strict=True):
            pending.loop.call_soon_threadsafe(_settle, pending.done, outcome)

    def _insert(self, service: NewService) -> bool | sqlite3.IntegrityError:
        """``True`` if inserted, ``False`` if the id is taken, else the constraint's error."""
        self.db.execute("SAVEPOINT one")
        try:
            self.db.execute(
                "INSERT INTO services (project_id, id, record, sealed_secrets, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    service.project_id,
                    service.service_id,
                    service.record_json,
                    service.sealed_secrets,
                    service.created_at,
                ),
            )
        except sqlite3.IntegrityError as error:
            self.db.execute("ROLLBACK TO one")
            self.db.execute("RELEASE one")
            # Only the primary key means "taken"; another constraint (an unknown
            # project, say) fails this insert alone, as an error and not a 409.
            return False if error.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY" else error
        self.db.execute("RELEASE one")
        return True


def _settle(done: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if done.done():  # the client went away; the row stays committed either way
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


class SqliteStore:
    """The request handlers' view of the database."""

    def __init__(self, path: Path, *, synchronous: Synchronous = "full") -> None:
        self.path = path
        self._reader = connect(path)
        self._writer = _Writer(connect(path, synchronous))
        self._writer.start()

    async def principal(self, token_hash: str) -> Principal | None:
        row = self._reader.execute(
            "SELECT id, permissions FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        return Principal(row[0], frozenset(json.loads(row[1])))

    async def project_exists(self, project_id: str) -> bool:
        row = self._reader.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,))
        return row.fetchone() is not None

    async def insert_service(self, service: NewService) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._writer.inbox.put(_PendingInsert(service, loop, done))
        if not await asyncio.shield(done):
            raise ServiceExistsError(service.service_id)

    async def close(self) -> None:
        await asyncio.to_thread(self._writer.stop)
        self._writer.db.close()
        self._reader.close()
