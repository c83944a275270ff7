"""The `Store` and `AdminStore` on one SQLite file, in WAL mode.

Reads (tokens, projects, services) run on the event loop's thread: on a WAL
database they take microseconds and never wait for a writer. Every write
(insert, change, delete) goes to one writer thread that commits them in
groups: every write that arrives while a commit is in flight joins the next
transaction, each under its own savepoint, so a conflict or a refused change
rolls back only its own row. One writer also makes each put or patch a
read-modify-write that no other write can interleave with. ``synchronous=FULL``
(the default) makes each commit durable before any of its callers hears
back, and one fsync serves the whole group; ``normal`` trades the fsync for
durability against crashes of the sandbox only (see `Synchronous`).

The primary key (project_id, id) is what makes a duplicate a 409: two
concurrent creates of one name, from one process or several, cannot both
commit. ``secure_delete`` is on, so a deleted service's sealed secrets are
overwritten in the file, not merely unlinked.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from sandbox.rate_limit import Decision, RateLimit, decide
from sandbox.store import (
    NewService,
    Principal,
    ServiceChange,
    ServiceExistsError,
    StoredService,
    StoreError,
    TokenInfo,
    now_iso,
)

__all__ = [
    "SCHEMA_VERSION",
    "SqliteAdminStore",
    "SqliteRateLimiter",
    "SqliteStore",
    "WriterLock",
    "connect",
    "writer_lock_path",
]

SCHEMA_VERSION: Final = 4
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
    revoked_at TEXT,
    projects TEXT NOT NULL DEFAULT '["*"]'
) STRICT;
CREATE TABLE services (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    sealed_secrets BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT, WITHOUT ROWID;
CREATE TABLE rate_limits (
    caller TEXT NOT NULL,
    window_end INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (caller, window_end)
) STRICT, WITHOUT ROWID;
"""
_MIGRATIONS: Final = {
    1: "ALTER TABLE tokens ADD COLUMN projects TEXT NOT NULL DEFAULT '[\"*\"]'",
    2: "INSERT OR REPLACE INTO meta (key, value) VALUES ('reseal_services', 'pending')",
    3: "CREATE TABLE IF NOT EXISTS rate_limits (caller TEXT NOT NULL, window_end INTEGER NOT NULL,"
    " used INTEGER NOT NULL, PRIMARY KEY (caller, window_end)) STRICT, WITHOUT ROWID",
}
"""From each older schema version to the next; a version-1 token belongs to every project.
Version 3 seals ``buildArguments``: sealing needs the secret key, which the schema step does
not have, so it leaves a note and `SqliteAdminStore.reseal_services` does the sealing.
Version 4 adds the rate limit counts that `serve --workers N` shares between its processes."""
_SERVICE_COLUMNS: Final = "project_id, id, record, sealed_secrets, created_at"


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
        if not path.exists():
            create_private_file(path)
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
        connection.execute("PRAGMA secure_delete = ON")
        _migrate(connection, path)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(f"{path}: not a sandbox database ({error})") from None
    return connection


def create_private_file(path: Path) -> None:
    """An empty database file only its owner can read, in folders only its owner can enter.

    It holds token hashes and sealed secrets. SQLite gives the ``-wal`` and ``-shm``
    files the database file's mode, so they are private too.
    """
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
        elif version in _MIGRATIONS:
            while version < SCHEMA_VERSION:
                connection.execute(_MIGRATIONS[version])
                version += 1
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
            self._insert_token(token_hash, "admin", ("*",), ("*",), created)
            return True

    def account(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'account'").fetchone()
        return str(row[0]) if row else "sandbox-user"

    def recorded_key_fingerprint(self) -> str | None:
        """The fingerprint of the secret key this database was first used with, if any."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchone()
        return None if row is None else str(row[0])

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

    def create_token(
        self,
        *,
        token_hash: str,
        label: str,
        permissions: tuple[str, ...],
        projects: tuple[str, ...] = ("*",),
    ) -> str:
        with _transaction(self._db):
            for project_id in projects:
                known = self._db.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,))
                if project_id != "*" and known.fetchone() is None:
                    raise StoreError(f"project {project_id!r} does not exist (see `project list`)")
            return self._insert_token(token_hash, label, permissions, projects, now_iso())

    def _insert_token(
        self,
        token_hash: str,
        label: str,
        permissions: tuple[str, ...],
        projects: tuple[str, ...],
        created: str,
    ) -> str:
        token_id = f"tok_{secrets.token_hex(6)}"
        self._db.execute(
            "INSERT INTO tokens (id, hash, label, permissions, created_at, projects)"
            " VALUES (?, ?, ?, ?, ?, ?)",
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

    def list_tokens(self) -> list[TokenInfo]:
        rows = self._db.execute(
            "SELECT id, label, permissions, created_at, revoked_at, projects FROM tokens"
            " ORDER BY created_at, id"
        )
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
        with _transaction(self._db):
            changed = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now_iso(), token_id),
            ).rowcount
        if not changed:
            raise StoreError(f"no active token with id {token_id!r} (see `token list`)")

    def reseal_services(self, reseal: Callable[[StoredService], StoredService]) -> int:
        """After the migration to schema version 3, store every service as ``reseal``
        gives it back (its build arguments sealed); the number of services resealed."""
        with _transaction(self._db):
            if not self._db.execute("SELECT 1 FROM meta WHERE key = 'reseal_services'").fetchone():
                return 0
            rows = self._db.execute(f"SELECT {_SERVICE_COLUMNS} FROM services").fetchall()  # noqa: S608
            for row in rows:
                _write_row(self._db, reseal(StoredService(*row)), replace=True)
            self._db.execute("DELETE FROM meta WHERE key = 'reseal_services'")
        return len(rows)

    def count_services(self, project_id: str) -> int:
        row = self._db.execute("SELECT count(*) FROM services WHERE project_id = ?", (project_id,))
        return int(row.fetchone()[0])


Work = Callable[[sqlite3.Connection], Any]
"""One write, run by the writer thread inside the group's transaction, under its own savepoint."""


@dataclass(slots=True)
class _PendingWrite:
    work: Work
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]
    """Resolves to what ``work`` returned once committed, or to what it raised."""
    one_statement: bool = False
    """``work`` runs one statement: SQLite undoes a failed statement by itself (its ABORT
    conflict resolution), so it needs no savepoint of its own."""


@dataclass(slots=True)
class _Writer:
    """The one thread that writes services, committing whatever has queued up as one group."""

    db: sqlite3.Connection
    lock: WriterLock | None = None
    inbox: queue.SimpleQueue[_PendingWrite | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="sandbox-writer", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.inbox.put(None)
        if self.thread is not None:
            self.thread.join()

    async def submit(self, work: Work, *, one_statement: bool = False) -> Any:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self.inbox.put(_PendingWrite(work, loop, done, one_statement))
        return await asyncio.shield(done)

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

    def _commit(self, group: list[_PendingWrite]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with _held(self.lock), _transaction(self.db):
                for pending in group:
                    outcomes.append(self._one(pending.work, pending.one_statement))
        except Exception as error:  # noqa: BLE001 - every caller must hear back
            outcomes = [(False, error)] * len(group)
        # One hand-back per event loop, not per write: each call_soon_threadsafe wakes the
        # loop through its self-pipe (a system call on both sides).
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for pending, (ok, outcome) in zip(group, outcomes, strict=True):
            settled.setdefault(pending.loop, []).append((pending.done, ok, outcome))
        for loop, results in settled.items():
            loop.call_soon_threadsafe(_settle_all, results)

    def _one(self, work: Work, one_statement: bool) -> tuple[bool, Any]:
        """``(True, result)``, or ``(False, exception)`` with the work's writes rolled back.

        Each statement's call into SQLite lets go of the GIL and must win it back from a
        busy event loop; sparing a single insert its ``SAVEPOINT`` and ``RELEASE`` spares
        two of those waits per row, which the whole group (and its callers) sat through.
        """
        if one_statement:
            try:
                return True, work(self.db)
            except Exception as error:
                if not self.db.in_transaction:
                    raise  # SQLite ended the whole transaction (I/O error, disk full): all fail
                return False, error
        self.db.execute("SAVEPOINT one")
        try:
            result = work(self.db)
        except Exception as error:  # noqa: BLE001 - it belongs to its caller
            self.db.execute("ROLLBACK TO one")
            self.db.execute("RELEASE one")
            return False, error
        self.db.execute("RELEASE one")
        return True, result


class WriterLock:
    """A lock file that the writers of several processes on one database take around each
    transaction (``serve --workers N``).

    SQLite's own wait for its write lock sleeps in growing steps (1, 2, 5, 10 ... 100 ms)
    and retries; two busy writers then keep each other waiting for tens to hundreds of
    milliseconds (the p99 of two workers rose to 400 ms). ``flock`` waits in the kernel,
    which wakes the next writer as soon as the lock is released, and releases the GIL
    meanwhile. Threads of one process share the file description, so a thread lock
    comes first.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._thread_lock = threading.Lock()

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        os.close(self._fd)


@contextmanager
def _held(lock: WriterLock | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def writer_lock_path(path: Path) -> Path:
    """The lock file beside the database that ``serve --workers N`` writers share."""
    return path.with_name(path.name + "-writer-lock")


def _settle_all(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for done, ok, outcome in results:
        if done.done():  # the client went away; the row stays committed either way
            continue
        if ok:
            done.set_result(outcome)
        else:
            done.set_exception(outcome)


def _insert(service: NewService) -> Work:
    def work(db: sqlite3.Connection) -> bool:
        """``True`` if inserted, ``False`` if the id is taken."""
        try:
            _write_row(db, service, replace=False)
        except sqlite3.IntegrityError as error:
            # Only the primary key means "taken"; another constraint (an unknown
            # project, say) fails this insert alone, as an error and not a 409.
            if error.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY":
                return False
            raise
        return True

    return work


def _write_row(db: sqlite3.Connection, service: StoredService, *, replace: bool) -> None:
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    db.execute(
        f"{verb} INTO services ({_SERVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (
            service.project_id,
            service.service_id,
            service.record_json,
            service.sealed_secrets,
            service.created_at,
        ),
    )


def _row(db: sqlite3.Connection, project_id: str, service_id: str) -> StoredService | None:
    row = db.execute(
        f"SELECT {_SERVICE_COLUMNS} FROM services WHERE project_id = ? AND id = ?",  # noqa: S608
        (project_id, service_id),
    ).fetchone()
    return None if row is None else StoredService(*row)


class SqliteStore:
    """The request handlers' view of the database."""

    def __init__(
        self, path: Path, *, synchronous: Synchronous = "full", shared: bool = False
    ) -> None:
        """``shared``: other processes (``serve --workers N``) write to ``path`` too."""
        self.path = path
        self._reader = connect(path)
        self._lock = WriterLock(writer_lock_path(path)) if shared else None
        self._writer = _Writer(connect(path, synchronous), self._lock)
        self._writer.start()
        self._projects: set[str] = set()
        """Projects seen to exist: no command deletes a project, so a yes is for good."""

    async def principal(self, token_hash: str) -> Principal | None:
        row = self._reader.execute(
            "SELECT id, permissions, projects FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (token_hash,),
        ).fetchone()
        if row is None:
            return None
        return Principal(row[0], frozenset(json.loads(row[1])), frozenset(json.loads(row[2])))

    async def project_exists(self, project_id: str) -> bool:
        if project_id in self._projects:
            return True
        row = self._reader.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,))
        if row.fetchone() is None:
            return False
        self._projects.add(project_id)
        return True

    async def insert_service(self, service: NewService) -> None:
        if not await self._writer.submit(_insert(service), one_statement=True):
            raise ServiceExistsError(service.service_id)

    async def get_service(self, project_id: str, service_id: str) -> StoredService | None:
        return _row(self._reader, project_id, service_id)

    async def list_services(
        self, project_id: str, *, after: str | None, offset: int, limit: int
    ) -> list[StoredService]:
        rows = self._reader.execute(
            f"SELECT {_SERVICE_COLUMNS} FROM services"  # noqa: S608
            " WHERE project_id = ? AND (? IS NULL OR id > ?) ORDER BY id LIMIT ? OFFSET ?",
            (project_id, after, after, limit, offset),
        )
        return [StoredService(*row) for row in rows]

    async def change_service(
        self, project_id: str, service_id: str, change: ServiceChange
    ) -> StoredService:
        def work(db: sqlite3.Connection) -> StoredService:
            current = _row(db, project_id, service_id)
            changed = change(current)
            if changed is not current:
                _write_row(db, changed, replace=True)
            return changed

        result: StoredService = await self._writer.submit(work)
        return result

    async def delete_service(self, project_id: str, service_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            deleted = db.execute(
                "DELETE FROM services WHERE project_id = ? AND id = ?", (project_id, service_id)
            )
            return deleted.rowcount > 0

        result: bool = await self._writer.submit(work)
        return result

    async def close(self) -> None:
        await asyncio.to_thread(self._writer.stop)
        self._writer.db.close()
        self._reader.close()
        if self._lock is not None:
            self._lock.close()


class SqliteRateLimiter:
    """Fixed-window counts in the database file, so the processes of ``serve --workers N``
    share one limit, as replicas on a PostgreSQL store do.

    One upsert a request, on a connection and thread of its own (it waits for the write
    lock, never on the event loop). Counts are not worth an fsync: the connection commits
    with ``synchronous = NORMAL`` and leaves checkpoints to the services' writer, whose
    ``FULL`` commits sync the log for both. A refused request is counted up to one past the
    limit; ended windows are deleted once per window by each process.
    """

    def __init__(self, path: Path, limit: RateLimit, clock: Callable[[], float] = time.time):
        self.limit = limit
        self._clock = clock
        self._db = connect(path, "normal")
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        self._lock = WriterLock(writer_lock_path(path))
        self._pruned_until = 0

    async def admit(self, caller: str) -> Decision:
        return await asyncio.to_thread(self.hit, caller)

    def hit(self, caller: str) -> Decision:
        """Count one request by ``caller`` and say whether it is within the limit."""
        window = self.limit.window_seconds
        with _held(self._lock):
            now = self._clock()
            window_end = int(now // window) * window + window
            with _transaction(self._db):
                row = self._db.execute(
                    "INSERT INTO rate_limits (caller, window_end, used) VALUES (?, ?, 1)"
                    " ON CONFLICT (caller, window_end) DO UPDATE SET used = min(used + 1, ?)"
                    " RETURNING used",
                    (caller, window_end, self.limit.requests + 1),
                ).fetchone()
                if window_end > self._pruned_until:
                    self._pruned_until = window_end
                    self._db.execute("DELETE FROM rate_limits WHERE window_end < ?", (window_end,))
        return decide(self.limit, count=int(row[0]), reset_at=window_end, now=now)

    def close(self) -> None:
        with _held(self._lock):
            self._db.close()
        self._lock.close()
