"""Per-caller request limits in fixed windows, as the real API reports them.

Each caller (a token, or the client address when there is no valid token)
gets ``requests`` per window; windows start at multiples of their length
since the Unix epoch, so ``x-ratelimit-reset`` is the same instant for
everyone. `FixedWindowLimiter` keeps the counts in memory: one sandbox
process, one count. Replicas that share a store need the counts in it (the
PostgreSQL store's limiter); both are a `RateLimiter` and decide alike.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Decision", "FixedWindowLimiter", "RateLimit", "RateLimiter", "decide"]

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SPEC = re.compile(r"(\d+)\s*/\s*(second|minute|hour|day)")
_PRUNE_AT = 10_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``"1000/hour"`` (also second, minute, day), or ``"off"`` for no limit."""
        if text.strip().lower() == "off":
            return None
        match = _SPEC.fullmatch(text.strip().lower())
        if match is None or int(match[1]) < 1:
            raise ValueError(f"rate limit {text!r}: expected N/second|minute|hour|day, or off")
        return cls(int(match[1]), _UNITS[match[2]])

    def __str__(self) -> str:
        unit = next(name for name, seconds in _UNITS.items() if seconds == self.window_seconds)
        return f"{self.requests}/{unit}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    """Seconds since the epoch when the window ends."""
    retry_after: int
    """Seconds until a request would be allowed again (0 when allowed)."""

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_at).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


def decide(limit: RateLimit, *, count: int, reset_at: int, now: float) -> Decision:
    """The verdict on the ``count``-th request of a caller in the window ending at ``reset_at``.

    Every limiter decides here, so the x-ratelimit-* headers do not depend on where the
    counts are kept.
    """
    allowed = count <= limit.requests
    return Decision(
        allowed=allowed,
        limit=limit.requests,
        remaining=limit.requests - min(count, limit.requests),
        reset_at=reset_at,
        retry_after=0 if allowed else max(1, math.ceil(reset_at - now)),
    )


class RateLimiter(Protocol):
    """Counts a caller's requests, wherever the counts are kept."""

    limit: RateLimit

    async def admit(self, caller: str) -> Decision:
        """Count one request by ``caller`` and say whether it is within the limit."""


class FixedWindowLimiter:
    """Counts in this process's memory: right for one sandbox process."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, caller: str) -> Decision:
        """Count one request by ``caller`` and say whether it is within the limit."""
        now = self._clock()
        window = self.limit.window_seconds
        window_start = int(now // window) * window
        reset_at = window_start + window
        started, used = self._counts.get(caller, (window_start, 0))
        if started != window_start:
            used = 0
        decision = decide(self.limit, count=used + 1, reset_at=reset_at, now=now)
        if decision.allowed:
            if len(self._counts) >= _PRUNE_AT:
                self._prune(window_start)
            self._counts[caller] = (window_start, used + 1)
        return decision

    async def admit(self, caller: str) -> Decision:
        return self.hit(caller)

    def _prune(self, window_start: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == window_start}
