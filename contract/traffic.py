"""Every request a run sends goes through one `BoundedSession`: counted against the budget,
paced by a token bucket, slowed when the server says its rate limit runs low, and recorded as
an `Exchange` for the checks over all traffic and for the report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = [
    "BoundedSession",
    "BudgetExhaustedError",
    "Exchange",
    "RequestBudget",
    "TokenBucket",
]

LOW_REMAINING_SHARE = 0.1
"""Below this share of `x-ratelimit-limit` left, requests are spread over the rest of the window."""
MAX_PAUSE_SECONDS = 30.0
"""The longest a single pause for the server's rate limit may last; a run must end."""
RETRIES_AFTER_429 = 2
REQUEST_TIMEOUT_SECONDS = 30.0


class BudgetExhaustedError(Exception):
    """The run (or the current phase) has sent every request it may."""


@dataclass
class RequestBudget:
    """How many requests the run may send, and how many the current phase may."""

    limit: int
    used: int = 0
    phase_limit: int | None = None
    unbounded: bool = False

    def take(self) -> None:
        if self.unbounded:
            self.used += 1
            return
        if self.used >= self.limit or (
            self.phase_limit is not None and self.used >= self.phase_limit
        ):
            raise BudgetExhaustedError(f"{self.used} requests sent, the limit is {self.limit}")
        self.used += 1

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    @contextmanager
    def phase(self, requests_allowed: int) -> Iterator[None]:
        """At most ``requests_allowed`` more requests until the block ends."""
        self.phase_limit = min(self.limit, self.used + max(0, requests_allowed))
        try:
            yield
        finally:
            self.phase_limit = None

    @contextmanager
    def without_limit(self) -> Iterator[None]:
        """For the clean-up only: what the run made must go, whatever the budget says."""
        self.unbounded = True
        try:
            yield
        finally:
            self.unbounded = False


@dataclass
class TokenBucket:
    """At most ``rate`` requests a second on average, in bursts of at most ``burst``."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _not_before: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = self.clock()

    def acquire(self) -> None:
        now = self.clock()
        if now < self._not_before:
            self.sleep(self._not_before - now)
            now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1:
            self.sleep((1 - self._tokens) / self.rate)
            self._tokens, self._stamp = 1.0, self.clock()
        self._tokens -= 1

    def pause(self, seconds: float) -> None:
        """No request before ``seconds`` from now (capped, so that a run always ends)."""
        self._not_before = max(self._not_before, self.clock() + min(seconds, MAX_PAUSE_SECONDS))


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as sent and received (secrets still in: redact to show)."""

    number: int
    source: str
    """What sent it: a behaviour check's name, ``stateless``, ``stateful`` or ``cleanup``."""
    operation: str | None
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int
    response_headers: dict[str, str]
    response_body: str
    seconds: float

    def json(self) -> Any:
        """The answer's JSON body, or None when it has none or it is not JSON."""
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.response_headers.items() if k.lower() == wanted), None)


def _text(body: bytes | str | None) -> str | None:
    if body is None:
        return None
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


class BoundedSession(requests.Session):
    """A requests session (the transport Schemathesis uses) bounded, paced and recorded."""

    def __init__(
        self,
        *,
        budget: RequestBudget,
        bucket: TokenBucket,
        operation_of: Callable[[str, str], str | None],
    ) -> None:
        super().__init__()
        self.budget = budget
        self.bucket = bucket
        self.operation_of = operation_of
        self.exchanges: list[Exchange] = []
        self.source = "setup"
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        for attempt in range(RETRIES_AFTER_429 + 1):
            response = self._send_once(request, **kwargs)
            if response.status_code != 429 or attempt == RETRIES_AFTER_429:
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.budget.take()
        self.bucket.acquire()
        started = time.monotonic()
        response = super().send(request, **kwargs)
        seconds = time.monotonic() - started
        self._record(request, response, seconds)
        self._heed_rate_limit(response)
        return response

    def _record(
        self, request: requests.PreparedRequest, response: requests.Response, seconds: float
    ) -> None:
        method, url = str(request.method), str(request.url)
        with self._lock:
            self.exchanges.append(
                Exchange(
                    number=len(self.exchanges) + 1,
                    source=self.source,
                    operation=self.operation_of(method, url),
                    method=method,
                    url=url,
                    request_headers={str(k): str(v) for k, v in request.headers.items()},
                    request_body=_text(
                        body if isinstance(body := request.body, bytes | str) else None
                    ),
                    status=response.status_code,
                    response_headers=dict(response.headers),
                    response_body=response.text,
                    seconds=seconds,
                )
            )

    def _heed_rate_limit(self, response: requests.Response) -> None:
        """Spread the requests left over the rest of the window once few are left; wait out
        a 429's Retry-After."""
        if response.status_code == 429:
            self.bucket.pause(_number(response.headers.get("Retry-After")) or 1.0)
            return
        limit = _number(response.headers.get("x-ratelimit-limit"))
        remaining = _number(response.headers.get("x-ratelimit-remaining"))
        reset = _number(response.headers.get("x-ratelimit-reset"))
        if limit is None or remaining is None or remaining > limit * LOW_REMAINING_SHARE:
            return
        window_left = max(0.0, reset - time.time()) if reset is not None else 1.0
        self.bucket.pause(window_left / max(remaining, 1.0))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
