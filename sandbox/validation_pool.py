"""Large request bodies checked in worker processes, off the server's interpreter.

A 1 MB body whose 200,000 array items each break a rule costs seconds of CPU
to validate and to build its capped 400, and all that time it holds the
interpreter lock: in a thread, it stalled every other request just as long (an
unrelated GET waited up to 13.6 s while 4 such bodies were in flight). In a
worker process the server only hands over the bytes and reads back a small
answer: the validated model, or the refusal's status, message and details.

- **Bounded.** At most ``workers * PENDING_PER_WORKER`` bodies are admitted at
  once, running or waiting; one more is a 503 with ``Retry-After``, not a
  longer queue. A worker's memory is bounded by the body limit.
- **Started on first use**, by spawning (never forking a server that has
  threads): a sandbox that never sees a large body starts no worker.
- **Workers die with the server.** Each ignores SIGINT (Ctrl-C reaches the
  whole process group; the server shuts down, then ends its workers), and
  watches its parent: once the server is gone, even by SIGKILL, it exits.
- **A worker that dies** (killed, out of memory) breaks the pool: the bodies it
  held are answered 503, and a new pool takes the next ones.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from sandbox.problems import HttpError
from sandbox.request_body import checked_body

__all__ = ["DEFAULT_WORKERS", "PENDING_PER_WORKER", "ValidationPool"]

DEFAULT_WORKERS: Final = 1
"""One worker leaves the other core of a small machine to the event loop."""
PENDING_PER_WORKER: Final = 32
"""Bodies admitted per worker, running or waiting; more is a 503.

A large valid body takes milliseconds, so ordinary bursts (16 clients sending
big maps at once) must fit; 32 worst-case bodies of at most 1 MB each hold
about 32 MB and a second each, which the event loop never waits on.
"""
RETRY_AFTER_SECONDS: Final = 1
_PARENT_CHECK_SECONDS: Final = 0.2
ModelT = TypeVar("ModelT", bound=BaseModel)
log = logging.getLogger("sandbox")


@dataclass(frozen=True, slots=True)
class _Refusal:
    """An `HttpError` as data, so it crosses back from a worker."""

    status: int
    message: str
    details: dict[str, Any] | None


def _check(body: bytes, model: type[ModelT]) -> ModelT | _Refusal:
    """In a worker: the validated model, or why the body is refused."""
    try:
        return checked_body(body, model)
    except HttpError as refused:
        return _Refusal(refused.status, refused.message, refused.details)


class ValidationPool:
    """Worker processes that check large bodies; `close` ends them (the server's last step)."""

    def __init__(
        self, workers: int = DEFAULT_WORKERS, *, pending_per_worker: int = PENDING_PER_WORKER
    ) -> None:
        if workers < 1 or pending_per_worker < 1:
            raise ValueError("a validation pool needs at least one worker and one place each")
        self._workers = workers
        self._limit = workers * pending_per_worker
        self._admitted = 0  # only the event loop's thread counts, so no lock
        self._executor: ProcessPoolExecutor | None = None

    async def validate(self, body: bytes, model: type[ModelT]) -> ModelT:
        """``checked_body(body, model)``, in a worker; a 503 when too many are under way."""
        if self._admitted >= self._limit:
            raise _busy("The sandbox is checking as many large bodies as it takes at once")
        self._admitted += 1
        try:
            outcome = await self._run(body, model)
        finally:
            self._admitted -= 1
        if isinstance(outcome, _Refusal):
            raise HttpError(outcome.status, outcome.message, details=outcome.details)
        return outcome

    async def _run(self, body: bytes, model: type[ModelT]) -> ModelT | _Refusal:
        executor = self._running_executor()
        try:
            future = executor.submit(_check, body, model)
        except BrokenProcessPool:  # a worker died between bodies: this one goes to a new pool
            self._discard(executor)
            executor = self._running_executor()
            future = executor.submit(_check, body, model)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            log.warning("a worker checking large bodies died; the next body starts a new one")
            self._discard(executor)
            raise _busy("A worker checking large bodies stopped unexpectedly") from None

    def _running_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return self._executor

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is broken:
            self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """End the workers. The server has answered every request by now, so none is busy."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _busy(reason: str) -> HttpError:
    return HttpError(
        503,
        f"{reason}; retry after the time in Retry-After",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _start_worker(server_pid: int) -> None:
    """In each worker, first: leave Ctrl-C to the server, and end with the server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watcher = threading.Thread(
        target=_exit_when_orphaned, args=(server_pid,), name="parent-watch", daemon=True
    )
    watcher.start()


def _exit_when_orphaned(server_pid: int) -> None:
    """A server killed outright (SIGKILL) cannot end its workers; each notices it is gone."""
    while os.getppid() == server_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)
