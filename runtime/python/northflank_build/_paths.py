"""Paths: request URLs from path templates, and JSON paths (``$.vcsData.projectUrl``).

Standard library only, so the CLI can show a request (``--dry-run``) and name a
place in a document without importing the HTTP client or pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["endpoint_url", "json_path_step", "path_segment"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")
"""RFC 3986's unreserved characters: those ``quote(value, safe="")`` leaves as they are."""


def path_segment(value: str) -> str:
    """``value`` as exactly one path segment: percent-encoded, ``/`` included.

    ``.`` and ``..`` are encoded too (``%2E``): as they are, URL normalisation
    (httpx's included) removes them, and the request goes to another path.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"a path parameter must be a non-empty string, not {value!r}")
    if _UNRESERVED.fullmatch(value) and value not in (".", ".."):
        return value  # what quote() would give back unchanged
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def endpoint_url(base_url: str, path: str, path_params: Mapping[str, str]) -> str:
    """``base_url`` (trailing ``/`` dropped) joined to ``path`` with its parameters filled in."""
    filled = path.format_map({name: path_segment(value) for name, value in path_params.items()})
    return base_url.rstrip("/") + filled


def json_path_step(part: int | str) -> str:
    """One step of a JSON path: ``[0]``, ``.name``, or ``["/dir/file"]`` for other keys."""
    if isinstance(part, int):
        return f"[{part}]"
    if _IDENTIFIER.fullmatch(part):
        return f".{part}"
    escaped = part.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'
