"""What a call can raise.

APIError
├── APIConnectionError          no response: refused, reset, DNS...
│   └── APITimeoutError
├── APIResponseValidationError  a 2xx whose body breaks the spec
│   └── ResponseTooLargeError   a body longer than ``max_response_bytes``; not read further
└── APIStatusError              an error status, with the envelope's message, id, details
    ├── BadRequestError         400
    ├── AuthenticationError     401
    ├── PermissionDeniedError   403
    ├── NotFoundError           404
    ├── ConflictError           409
    ├── RateLimitError          429
    └── InternalServerError     5xx
RequestValidationError          a parameter or the body breaks the spec; nothing was sent
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from northflank_build._errors import FieldError

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ResponseTooLargeError",
    "status_error",
]


class APIError(Exception):
    """Any failure of a call to the API."""

    def __init__(self, message: str, *, request: httpx.Request | None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """No response arrived (after every retry)."""


class APITimeoutError(APIConnectionError):
    """The request timed out (after every retry)."""


class APIResponseValidationError(APIError):
    """A success response whose body does not match the spec (with
    ``strict_response_validation``, also one with a field the spec does not know)."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request=response.request)
        self.response = response


class ResponseTooLargeError(APIResponseValidationError):
    """A response body longer than the client's ``max_response_bytes``.

    Reading stopped at the limit, so memory stays bounded; ``response`` has the
    status and headers but no body. ``limit`` is the setting that was exceeded.
    """

    def __init__(self, message: str, *, response: httpx.Response, limit: int) -> None:
        super().__init__(message, response=response)
        self.limit = limit


class APIStatusError(APIError):
    """The API answered with an error status.

    ``after_retry`` is true when this answer came to a retry: an earlier
    attempt may have reached the server before its answer was lost.
    """

    status_code: int

    def __init__(self, response: httpx.Response, *, after_retry: bool = False) -> None:
        error = _envelope(response)
        message = error.get("message")
        if not isinstance(message, str):
            message = response.reason_phrase or f"HTTP {response.status_code}"
        super().__init__(f"{response.status_code}: {message}", request=response.request)
        self.status_code = response.status_code
        self.response = response
        self.after_retry = after_retry
        self.error_message = message
        self.error_id: str | None = error.get("id") if isinstance(error.get("id"), str) else None
        details = error.get("details")
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}


class BadRequestError(APIStatusError):
    """400: ``details["fields"]`` lists each failing field (path, rule, message)."""

    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    """409: the project already has a service with this id.

    Creating is not idempotent. When ``after_retry`` is true, an earlier
    attempt of this same call may have created the service and only its
    answer was lost: look the service up before treating this as someone
    else's.
    """

    status_code = 409


class RateLimitError(APIStatusError):
    status_code = 429


class InternalServerError(APIStatusError):
    """5xx."""


class RequestValidationError(ValueError):
    """A parameter or the body breaks the spec, so nothing was sent. ``errors`` names each
    (``$.per_page``, ``$.vcsData.projectUrl``)."""

    def __init__(self, model: str, errors: list[FieldError]) -> None:
        lines = [f"  {error.path}: {error.message} ({error.rule})" for error in errors]
        count = f"{len(errors)} failing field{'s' if len(errors) != 1 else ''}"
        super().__init__(f"invalid {model} ({count}); nothing was sent:\n" + "\n".join(lines))
        self.errors = errors


_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        RateLimitError,
    )
}


def status_error(response: httpx.Response, *, after_retry: bool) -> APIStatusError:
    """The exception for an error response, by its status."""
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    error = cls(response, after_retry=after_retry)
    error.status_code = response.status_code
    return error


def _envelope(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of the spec's envelope, or ``{}`` for any other body."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond the stack
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
