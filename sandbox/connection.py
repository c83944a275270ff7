"""Bounds on each HTTP connection: header size (431), slow requests (408), idle connections.

uvicorn's httptools protocol has no header limit and no deadline for a
request to arrive: a 64 MiB header was read in full, and 5,000 idle
connections were held until open files ran out. Its h11 protocol has a limit
(``h11_max_incomplete_event_size``), but answers it with a plain 400, and h11
parses in Python, which costs more on every request than the sandbox's whole
request bookkeeping. So this subclass of the httptools protocol keeps the fast
parser and adds the bounds, at a few attribute updates per read:

- **Header size.** The bytes of a request's head (request line and headers)
  are counted as they arrive, so a huge header is refused once the limit is
  passed, not after it has been read; the exact size is checked again once the
  head is complete. Too large: ``431`` and the connection closes.
- **Request deadline.** From a request's first byte, its head and body must
  all arrive within ``request_seconds``; otherwise ``408`` (when no answer has
  started) and the connection closes.
- **Idle deadline.** A connection that sends nothing, before its first
  request or between requests, is closed after ``idle_seconds`` (uvicorn's
  keep-alive timeout, armed at connect as well).
- **One write per answer.** uvicorn writes an answer's head (status line and
  headers) and its body with two ``transport.write`` calls, so two ``send``
  system calls, and the client often wakes for each. Each request's cycle here
  writes through `_OneWrite`, which holds the head until the first body write
  (or the end of the answer) and sends both at once.
- **Half-closed requests.** A client may send a whole request and shut its
  writing side (``shutdown(SHUT_WR)``). uvicorn closed the connection on that
  end of input, so the request ran (a create committed) and its answer was
  dropped, with no access-log line. Here a request in progress keeps the
  connection open for its answer, which then closes it.

Refusals here are written to the access log like any answer, with the request
line as far as it was read (its query string left out: it may hold a token).
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass
from typing import Any, Final

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_REQUEST_SECONDS",
    "ConnectionLimits",
    "bounded_protocol",
]

DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024
"""The request line and headers together; Node's and h11's default, far above any client's."""
DEFAULT_REQUEST_SECONDS: Final = 30.0
DEFAULT_IDLE_SECONDS: Final = 5.0
"""uvicorn's own keep-alive timeout."""
_LINGER_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    request_seconds: float = DEFAULT_REQUEST_SECONDS
    idle_seconds: float = DEFAULT_IDLE_SECONDS


def bounded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The httptools protocol class with ``limits``, for ``uvicorn.Config(http=...)``."""
    return type("BoundedHttpToolsProtocol", (_BoundedProtocol,), {"limits": limits})


class _HeadTooLargeError(Exception):
    """Raised in a parser callback; the parser wraps it, `data_received` answers 431."""


class _BoundedProtocol(HttpToolsProtocol):
    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.idle_seconds  # type: ignore[assignment]
        self._head_bytes = 0
        self._parsed_head_bytes = 0
        self._in_head = True
        self._head_too_large = False
        self._request_deadline: asyncio.TimerHandle | None = None
        self._discarding = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_request_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the head counted and an Upgrade left to the app to refuse."""
        if self._discarding:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            return  # the app refuses it; what follows the head is not read
        except httptools.HttpParserError:
            if self._head_too_large:
                self._refuse(431, "The request's headers are too large")
            else:
                self._refuse(400, "Invalid HTTP request received")
            return
        # A head still incomplete after this read: everything read so far belongs to it.
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, "The request's headers are too large")

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """Keep the connection open for the answer to a whole request sent before the EOF."""
        cycle = self.cycle
        if self._in_head or cycle is None or cycle.more_body or cycle.response_complete:
            return None  # no whole request waiting for its answer: close
        cycle.keep_alive = False  # the answer closes the connection
        return True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._parsed_head_bytes = 0
        self._cancel_request_deadline()
        self._request_deadline = self.loop.call_later(
            self.limits.request_seconds, self._request_too_slow
        )

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            one_write = _OneWrite(self.transport, cycle)
            cycle.transport = one_write  # type: ignore[assignment]
            one_write.on_response = cycle.on_response
            cycle.on_response = one_write.complete

    def on_message_complete(self) -> None:
        self._cancel_request_deadline()
        super().on_message_complete()

    def _count_head(self, size: int) -> None:
        """The exact size of the head so far: the request line and the headers parsed."""
        self._parsed_head_bytes += size
        if self._parsed_head_bytes > self.limits.max_header_bytes:
            self._head_too_large = True
            raise _HeadTooLargeError

    def _cancel_request_deadline(self) -> None:
        if self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None

    def _request_too_slow(self) -> None:
        self._request_deadline = None
        cycle = self.cycle
        if cycle is not None and not self._in_head and cycle.response_started:
            self.transport.close()  # an answer is under way; it cannot become a 408
            return
        self._refuse(408, "The request did not arrive in time")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with a plain-text ``message`` and close the connection."""
        if self.transport.is_closing():
            return
        self._cancel_request_deadline()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app, if running, sees a disconnect
            cycle.message_event.set()
        body = message.encode("ascii")
        phrase = http.HTTPStatus(status).phrase
        self.transport.write(
            b"".join(
                [
                    f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii"),
                    b"content-type: text/plain; charset=utf-8\r\n",
                    f"content-length: {len(body)}\r\n".encode("ascii"),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self._linger()
        self._log_refusal(status)

    def _linger(self) -> None:
        """Close the writing side, drop what still arrives, and close a moment later.

        Closing at once with unread input makes the kernel send a reset, and the
        client (still sending its huge header, say) loses the answer before reading it.
        """
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _log_refusal(self, status: int) -> None:
        if not self.access_log:
            return
        client = "%s:%d" % self.client if self.client else "-"  # noqa: UP031 - uvicorn's form
        method, path = "-", "-"
        if self.parser is not None:
            try:
                method = self.parser.get_method().decode("ascii", "replace")
            except httptools.HttpParserError:
                method = "-"
        url = getattr(self, "url", b"")
        if url:
            path = url.split(b"?", 1)[0][:200].decode("ascii", "replace")
        self.access_logger.info('%s - "%s %s HTTP/%s" %d', client, method, path, "1.1", status)


class _OneWrite:
    """A request cycle's view of the connection's transport that sends an answer's head
    together with the first write after it, in one system call.

    The first write once the cycle's answer has started is its head: it is held, and
    joined to the next write (the body, or its first chunk). The answer's end (an empty
    body writes nothing for ``HEAD``) and ``close`` send what is still held. Writes
    before the answer starts (``100 Continue``) go out at once.
    """

    __slots__ = ("_cycle", "_head_seen", "_held", "_transport", "on_response")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._held: bytes | None = None
        self._head_seen = False
        self.on_response: Any = None

    def write(self, data: bytes) -> None:
        if not self._head_seen and self._cycle.response_started:
            self._head_seen = True
            self._held = data
            return
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def complete(self) -> None:
        """The cycle's ``on_response``: the answer is whole."""
        self.flush()
        self.on_response()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
