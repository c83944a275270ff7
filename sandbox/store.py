"""What the handlers need from storage, and nothing about how it is kept.

The HTTP layer talks to a `Store`; the management commands talk to an
`AdminStore`. `sqlite_store.py` implements both on one SQLite file;
`postgres_store.py` on one PostgreSQL database, which several sandbox
replicas behind one load balancer can share. The handlers are the same for
both: the only promises they rely on are listed on each method.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

__all__ = [
    "AdminStore",
    "NewService",
    "Principal",
    "ServiceChange",
    "ServiceExistsError",
    "Store",
    "StoreError",
    "StoredService",
    "TokenInfo",
    "now_iso",
]


def now_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds: ``2021-11-29T11:47:16.624Z``.

    The date and time to the second are formatted once per second (a fifth of the cost
    of `datetime.isoformat` on every call); the milliseconds are truncated, as there.
    """
    global _second  # one tuple, swapped whole: threads see one whole second or another
    seconds, milliseconds = divmod(time.time_ns() // 1_000_000, 1000)
    second = _second
    if second[0] != seconds:
        second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
        _second = second
    return f"{second[1]}.{milliseconds:03d}Z"


_second: tuple[int, str] = (0, "1970-01-01T00:00:00")
"""The last second `now_iso` formatted, and its text."""


class StoreError(Exception):
    """A storage problem a user can act on; the message says what and where."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached just now (its database server down or restarting):
    a request that meets this is answered 503 with Retry-After, and may be retried."""


class ServiceExistsError(Exception):
    """The project already has a service with this id."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid bearer token belongs to, what it may do, and in which projects."""

    token_id: str
    permissions: frozenset[str]
    projects: frozenset[str] = frozenset({"*"})
    """The projects the token belongs to; ``*`` is every project."""

    def may(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def belongs_to(self, project_id: str) -> bool:
        return "*" in self.projects or project_id in self.projects


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `token list` shows it: never the secret, never its hash."""

    token_id: str
    label: str
    permissions: tuple[str, ...]
    created_at: str
    revoked_at: str | None
    projects: tuple[str, ...] = ("*",)


@dataclass(frozen=True, slots=True)
class NewService:
    """One service to insert, already validated and shaped for the response.

    ``record`` is the response's ``data`` without the secret file contents;
    ``sealed_secrets`` holds those, encrypted (or ``None`` when there are none).
    """

    project_id: str
    service_id: str
    record_json: str
    sealed_secrets: bytes | None
    created_at: str


StoredService: TypeAlias = NewService
"""A service as stored: the same fields as one to insert."""

ServiceChange: TypeAlias = Callable[[StoredService | None], StoredService]
"""What a put or a patch does to one service: given the stored row (``None`` when there is
none), the row to store, or the given row itself to change nothing. It may raise to refuse;
the exception reaches the caller and nothing is written. It runs where the store writes, with
the row locked, so it must be quick and must not touch the store."""


class Store(Protocol):
    """Storage as the request handlers see it."""

    async def principal(self, token_hash: str) -> Principal | None:
        """The holder of the token with this hash, or ``None`` if unknown or revoked."""

    async def project_exists(self, project_id: str) -> bool:
        """Whether the project exists. Projects are never deleted, so a store may remember
        a ``True`` (not a ``False``: another process may create the project)."""

    async def insert_service(self, service: NewService) -> None:
        """Insert the service; durable when this returns.

        Raises `ServiceExistsError` when (project, id) is taken. Of concurrent
        inserts of one (project, id), across every process sharing the
        storage, exactly one returns.
        """

    async def get_service(self, project_id: str, service_id: str) -> StoredService | None:
        """The service, or ``None``."""

    async def list_services(
        self, project_id: str, *, after: str | None, offset: int, limit: int
    ) -> list[StoredService]:
        """Up to ``limit`` of the project's services in ``id`` order: those whose id is
        greater than ``after`` (when given), skipping the first ``offset`` of them.

        Keyset pagination on ``id``: a walk that passes each page's last id as the next
        ``after`` never repeats a service and never skips one that existed throughout.
        """

    async def change_service(
        self, project_id: str, service_id: str, change: ServiceChange
    ) -> StoredService:
        """Apply ``change`` to the service atomically and durably; returns the stored row.

        Between reading the row and writing ``change``'s result no other write of that
        (project, id) can happen, across every process sharing the storage: of concurrent
        changes each sees the result of the one before, and none is lost.
        """

    async def delete_service(self, project_id: str, service_id: str) -> bool:
        """Delete the service and its sealed secrets, durably; ``False`` if there was none."""

    async def close(self) -> None:
        """Finish pending writes and release the storage."""


class AdminStore(Protocol):
    """Storage as the management commands see it. Every method is one transaction."""

    def bootstrap(self, *, project_id: str, token_hash: str, account: str) -> bool:
        """On an empty store, create the project and an admin token; ``False`` if not empty."""

    def account(self) -> str:
        """The account name that prefixes every ``appId``."""

    def create_project(self, project_id: str) -> None:
        """Create a project; `StoreError` if it exists."""

    def list_projects(self) -> list[str]:
        """Every project id, sorted."""

    def create_token(
        self,
        *,
        token_hash: str,
        label: str,
        permissions: tuple[str, ...],
        projects: tuple[str, ...] = ("*",),
    ) -> str:
        """Store a token by its hash; returns the token's public id. `StoreError` if one of
        ``projects`` (other than ``*``) does not exist."""

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first."""

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token; `StoreError` if there is no such token."""

    def count_services(self, project_id: str) -> int:
        """How many services the project has."""

    def recorded_key_fingerprint(self) -> str | None:
        """The fingerprint of the secret key the store was first used with, if any."""

    def key_fingerprint(self, fingerprint: str) -> str | None:
        """Remember the secret key's fingerprint on first use; return the one on record."""

    def reseal_services(self, reseal: Callable[[StoredService], StoredService]) -> int:
        """Store every service that an older schema left unsealed as ``reseal`` gives it
        back; the number resealed (0 when there is nothing to do)."""

    def close(self) -> None:
        """Release the storage."""
