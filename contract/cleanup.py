"""Whatever a run makes goes at the end, even when it fails or is interrupted.

What the run made is read off its own traffic (every 2xx create or put, and the id it
reports), so nothing can be made without being known; a sweep of the list then deletes any
service named with the run's prefix that is still there (one made by a request whose answer
was lost, say). Only services of ours are deleted: those whose id or name starts with the
prefix. One the server says it made from our request under another name is reported, never
deleted: it may be somebody else's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from contract.client import ApiClient
from contract.traffic import BudgetExhaustedError, Exchange

__all__ = ["Interrupted", "Sweeper", "signals_interrupt"]

MAKERS = frozenset({"createBuildService", "putBuildService"})
SWEEP_PAGES = 20


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop the run, clean up, report."""


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` in the main thread until the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """The clean-up runs to its end: a further Ctrl-C is ignored while it does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _made(x: Exchange) -> tuple[str, str] | None:
    """The id and name of the service a 2xx create or put reports."""
    if x.operation not in MAKERS or not 200 <= x.status < 300:
        return None
    body = x.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    return data["id"], str(data.get("name", ""))


@dataclass
class Sweeper:
    client: ApiClient
    prefix: str
    left_behind: list[str] = field(default_factory=list)
    _scanned: int = 0
    _pending: dict[str, str] = field(default_factory=dict)

    def ours(self, service_id: str, name: str) -> bool:
        return service_id.startswith(self.prefix) or name.lower().startswith(self.prefix)

    def _take_new_traffic(self) -> None:
        """Add what the exchanges since the last look say the run made."""
        exchanges = self.client.session.exchanges
        for x in exchanges[self._scanned :]:
            if (found := _made(x)) is not None:
                self._pending[found[0]] = found[1]
        self._scanned = len(exchanges)

    def delete_made(self) -> None:
        """Delete what the run made since the last call (between stateful scenarios, and at
        the end)."""
        self._take_new_traffic()
        pending, self._pending = self._pending, {}
        for service_id, name in pending.items():
            if not self.ours(service_id, name):
                note = f"{service_id} (named {name!r}, without the prefix {self.prefix!r})"
                if note not in self.left_behind:
                    self.left_behind.append(note)
                continue
            self.client.delete(service_id)

    def sweep(self) -> None:
        """Delete every service of ours the list still shows."""
        cursor: str | None = None
        for _ in range(SWEEP_PAGES):
            page = self.client.list_page(per_page=100, cursor=cursor)
            body = page.json()
            try:
                services = body["data"]["services"]
                pagination = body["pagination"]
            except (KeyError, TypeError):
                return
            for service in services:
                service_id, name = str(service.get("id")), str(service.get("name", ""))
                if (
                    self.ours(service_id, name)
                    and not 200 <= self.client.delete(service_id).status < 300
                ):
                    self.left_behind.append(f"{service_id} (its delete failed)")
            cursor = pagination.get("cursor")
            if not pagination.get("hasNextPage") or not isinstance(cursor, str):
                return

    def clean_up(self) -> None:
        """Everything of ours goes, whatever the budget: the run's traffic, then the list."""
        session = self.client.session
        session.source = "cleanup"
        with signals_held(), session.budget.without_limit():
            try:
                self.delete_made()
                self.sweep()
            except (OSError, BudgetExhaustedError) as error:
                self.left_behind.append(f"the clean-up stopped: {error}")
