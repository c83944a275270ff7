"""Secrets out of everything a run prints or writes: the token must never reach a report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})


@dataclass(frozen=True)
class Redactor:
    """Replaces each secret wherever it appears, and whole values of credential headers."""

    secrets: tuple[str, ...]

    @classmethod
    def of(cls, secrets: Iterable[str | None]) -> Redactor:
        # Longest first, so a secret that contains another is replaced whole.
        kept = sorted({s for s in secrets if s}, key=len, reverse=True)
        return cls(tuple(kept))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: self._header(name, value) for name, value in headers.items()}

    def _header(self, name: str, value: str) -> str:
        if name.lower() not in _SECRET_HEADERS:
            return self.text(value)
        scheme, _, credential = value.partition(" ")
        return f"{scheme} {REDACTED}" if credential else REDACTED
