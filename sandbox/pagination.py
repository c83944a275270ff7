"""Cursors for listing services: opaque to clients, signed, bound to one project.

A cursor names the last service of the page it came with; the next page is
the services after it in ``id`` order (keyset pagination). That is what makes
a walk stable under concurrent creates and deletes: ids never move, so no
service is shown twice, and none that existed for the whole walk is skipped.
The cursor carries an HMAC, so one the sandbox did not issue (or issued for
another project) is refused rather than read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Final

__all__ = ["CursorCodec", "CursorError"]

_MAC_BYTES: Final = 16
_MAX_CURSOR: Final = 1024


class CursorError(ValueError):
    """A cursor that this sandbox did not issue for this project."""


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, project_id: str, after_id: str) -> str:
        payload = json.dumps({"p": project_id, "a": after_id}, separators=(",", ":"))
        body = _b64(payload.encode())
        return f"{body}.{_b64(self._mac(body))}"

    def decode(self, project_id: str, cursor: str) -> str:
        """The id the cursor's page ended with."""
        body, dot, mac = cursor.partition(".")
        if not dot or len(cursor) > _MAX_CURSOR:
            raise CursorError("not a cursor this API issued")
        try:
            given = _unb64(mac)
            payload = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            raise CursorError("not a cursor this API issued") from None
        if not hmac.compare_digest(given, self._mac(body)):
            raise CursorError("not a cursor this API issued")
        if not isinstance(payload, dict) or payload.get("p") != project_id:
            raise CursorError("the cursor belongs to another project's list")
        after = payload.get("a")
        if not isinstance(after, str):
            raise CursorError("not a cursor this API issued")
        return after

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), "sha256").digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError(text)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
