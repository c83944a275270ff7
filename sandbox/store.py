"""What the handlers need from storage, and nothing about how it is kept.

The HTTP layer talks to a `Store`; the management commands talk to an
`AdminStore`. `sqlite_store.py` implements both on one SQLite file. A
PostgreSQL backend (several sandbox replicas behind one load balancer)
implements the same two protocols and leaves the handlers alone: the only
promises the handlers rely on are listed on each method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "AdminStore",
    "NewService",
    "Principal",
    "ServiceExistsError",
    "Store",
    "StoreError",
    "TokenInfo",
    "now_iso",
]


def now_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds: ``2021-11-29T11:47:16.624Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StoreError(Exception):
    """A storage problem a user can act on; the message says what and where."""


class ServiceExistsError(Exception):
    """The project already has a service with this id."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid bearer token belongs to, and what it may do."""

    token_id: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `token list` shows it: never the secret, never its hash."""

    token_id: str
    label: str
    permissions: tuple[str, ...]
    created_at: str
    revoked_at: str | None


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


class Store(Protocol):
    """Storage as the request handlers see it."""

    async def principal(self, token_hash: str) -> Principal | None:
        """The holder of the token with this hash, or ``None`` if unknown or revoked."""

    async def project_exists(self, project_id: str) -> bool:
        """Whether the project exists."""

    async def insert_service(self, service: NewService) -> None:
        """Insert the service; durable when this returns.

        Raises `ServiceExistsError` when (project, id) is taken. Of concurrent
        inserts of one (project, id), across every process sharing the
        storage, exactly one returns.
        """

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

    def create_token(self, *, token_hash: str, label: str, permissions: tuple[str, ...]) -> str:
        """Store a token by its hash; returns the token's public id."""

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first."""

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token; `StoreError` if there is no such token."""

    def count_services(self, project_id: str) -> int:
        """How many services the project has."""
