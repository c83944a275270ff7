"""Every default of the client and the CLI in one place.

Only the standard library is imported here: the CLI reads these before it
knows whether it will send anything, and must start fast.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "LOG_ENV",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRYABLE_STATUSES",
    "TOKEN_ENV",
]

DEFAULT_BASE_URL: Final = "https://api.northflank.com"
BASE_URL_ENV: Final = "NORTHFLANK_BASE_URL"
TOKEN_ENV: Final = "NORTHFLANK_API_TOKEN"  # noqa: S105 - the variable's name, not a token
LOG_ENV: Final = "NORTHFLANK_LOG"
"""``debug`` or ``info``: log each request (token redacted) to the ``northflank_build`` logger."""

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds one attempt of a call may take in all, and wait on the network for any one step."""
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
"""Seconds to open a connection."""
DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
"""Seconds before the first retry; each further retry doubles it, with jitter."""
MAX_RETRY_DELAY: Final = 8.0
"""The longest backoff between two retries, in seconds."""
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
"""The largest response body read; a longer one is refused, not buffered."""
MAX_RETRY_AFTER: Final = 60.0
"""The longest ``Retry-After`` honoured; a longer one is cut to this."""
RETRYABLE_STATUSES: Final = frozenset({408, 429, *range(500, 600)})
