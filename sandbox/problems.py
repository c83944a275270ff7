"""Error responses: every one in the spec's envelope, with the request's id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

__all__ = ["HttpError", "envelope_response"]


class HttpError(Exception):
    """A request the API answers with an error status; raised by handlers, never logged."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def envelope_body(
    status: int, message: str, request_id: str, details: dict[str, Any] | None = None
) -> bytes:
    """``{"error": {"status", "message", "id", "details"?}}`` as UTF-8 JSON."""
    error: dict[str, Any] = {"status": status, "message": message, "id": request_id}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":")).encode()


def envelope_response(problem: HttpError, request_id: str) -> Response:
    return Response(
        envelope_body(problem.status, problem.message, request_id, problem.details),
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/json",
    )
