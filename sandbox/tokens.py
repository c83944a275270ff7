"""API tokens: made here, shown once, stored only as SHA-256 hashes.

A token is 32 random bytes in base64url behind the ``nfsb_`` prefix, so a
leaked one is easy to recognise (and to grep for). SHA-256 suits tokens of
that strength: no salt or slow hash is needed where nothing can be guessed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

__all__ = [
    "ADMIN_PERMISSION",
    "ALL_PROJECTS",
    "CREATE_BUILD_SERVICE",
    "CREATE_SERVICE",
    "DELETE_SERVICE",
    "KNOWN_PERMISSIONS",
    "READ_SERVICE",
    "UPDATE_SERVICE",
    "hash_token",
    "new_token",
    "parse_bearer",
    "validate_token_text",
]

CREATE_SERVICE: Final = "Project > Services > General > Create"
"""The spec's ``x-required-permission`` of createBuildService and putBuildService."""
CREATE_BUILD_SERVICE: Final = CREATE_SERVICE
READ_SERVICE: Final = "Project > Services > General > Read"
"""Of listServices and getService."""
UPDATE_SERVICE: Final = "Project > Services > General > Update"
"""Of patchBuildService."""
DELETE_SERVICE: Final = "Project > Services > General > Delete"
"""Of deleteService."""
ADMIN_PERMISSION: Final = "*"
"""Every permission; the bootstrap token has it."""
KNOWN_PERMISSIONS: Final = (
    CREATE_SERVICE,
    READ_SERVICE,
    UPDATE_SERVICE,
    DELETE_SERVICE,
    ADMIN_PERMISSION,
)
ALL_PROJECTS: Final = "*"
"""A token's project list holding this belongs to every project, present and future."""

_PREFIX: Final = "nfsb_"
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MIN_LENGTH: Final = 16


def new_token() -> str:
    return _PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def validate_token_text(token: str) -> str | None:
    """Why ``token`` cannot be a bearer token, or ``None`` if it can."""
    if len(token) < _MIN_LENGTH:
        return f"a token needs at least {_MIN_LENGTH} characters"
    if not _TOKEN68.fullmatch(token):
        return "a token may hold only letters, digits and - . _ ~ + / (then = padding)"
    return None


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` if malformed."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not _TOKEN68.fullmatch(token):
        return None
    return token
