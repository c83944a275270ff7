"""A hostile HTTP server on 127.0.0.1: every misbehaviour a client must survive.

Use it in-process::

    with HostileServer() as server:
        client = Client(base_url=server.url_for("trickle"), api_token="t")

or as a subprocess: `python -m tests.hostile_server` prints `Listening on URL` and
serves until its stdin closes.

Every method on every path is answered. The behaviour is picked, first match wins, by

- a path segment `_hostile/<behaviour>` anywhere in the path, so a base URL
  `http://127.0.0.1:PORT/_hostile/trickle` sends every operation there; the
  segments after it that look like `key=value` are parameters
  (`/_hostile/huge/mb=300/v1/projects/p/services`);
- the query parameter `hostile=<behaviour>` (other query parameters are parameters);
- the header `X-Hostile: <behaviour>`.

A path with no behaviour gets `echo-auth`. The behaviours:

- `trickle`: 200 with headers (Content-Length 1 MB), then one body byte a second, forever.
- `trickle-headers`: the status line and headers themselves, one byte a second, forever.
- `endless`: 200, chunked, endless JSON-looking chunks as fast as the client reads.
- `huge` (`mb`, default 300): 200 with an `mb` MiB JSON object body, Content-Length set.
- `deep` (`depth`, default 100000; `status`, default 400; `shape`, default `error`): a
  JSON body nested `depth` deep. `shape=error` is `{"error": {"status": .., "message":
  "deep", "details": {"nested": [[[...]]]}}}`; `shape=list` is `[[[...]]]`;
  `shape=object` is `{"a": {"a": ... null}}`.
- `escapes` (`status`, default 400): an error envelope whose message, id and field
  paths hold terminal escapes: ESC[2J, an OSC title `ESC]0;pwned BEL`, CR, backspace
  and C1 controls (U+009B, U+0085).
- `bad-utf8` (`status`, default 200): a JSON body with bytes that are not UTF-8.
- `escapes-list`: 200, a one-item page of services (as listServices answers) whose
  description, tag, cursor and a key the spec does not know hold `ESCAPES`.
- `many-fields` (`count`, default 1000; `status`, default 400): an error envelope
  with `count` failing fields in its details.
- `echo-auth`: 200 with `{}`; each request's headers are kept in `server.requests`
  (in-process) so a test can check what Authorization arrived.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["ESCAPES", "HostileServer", "ReceivedRequest"]

ESCAPES = "\x1b[2J\x1b]0;pwned\x07\r\x08\x9b\x85"
"""Every terminal-hostile sequence the `escapes` route puts in its strings."""

_MAX_REQUEST_HEAD = 64 * 1024
_MAX_REQUEST_BODY = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_TRICKLE_CONTENT_LENGTH = 1024 * 1024


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it arrived: method, target and headers (names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    behaviour: str
    parameters: dict[str, str]


@dataclass
class HostileServer:
    """A threaded socket server; each connection gets one answer, then is closed."""

    host: str = "127.0.0.1"
    requests: list[ReceivedRequest] = field(default_factory=list)
    _listener: socket.socket | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The server's root URL, `http://127.0.0.1:PORT`."""
        if self._listener is None:
            raise RuntimeError("the hostile server is not started")
        port = self._listener.getsockname()[1]
        return f"http://{self.host}:{port}"

    def url_for(self, behaviour: str, **parameters: object) -> str:
        """A base URL whose every request path starts with `behaviour` and its parameters."""
        extra = "".join(f"/{key}={value}" for key, value in parameters.items())
        return f"{self.url}/_hostile/{behaviour}{extra}"

    def start(self) -> HostileServer:
        listener = socket.create_server((self.host, 0))
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        """Answer one request; a client that hangs up is the expected ending."""
        with connection:
            connection.settimeout(30)
            try:
                request = _read_request(connection)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(
                        ReceivedRequest(request.method, request.target, request.headers)
                    )
                connection.settimeout(None)
                _BEHAVIOURS.get(request.behaviour, _echo_auth)(connection, request, self._stopping)
            except OSError:
                return


def _read_request(connection: socket.socket) -> _Request | None:
    """Read the request head and drain its body (bounded), so the client sees no reset."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = connection.recv(_CHUNK)
        if not data:
            return None
        buffer += data
        if len(buffer) > _MAX_REQUEST_HEAD:
            return None
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, *_ = [*lines[0].split(" "), "", ""]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    remaining = min(int(headers.get("content-length", "0") or 0), _MAX_REQUEST_BODY) - len(body)
    while remaining > 0:
        data = connection.recv(min(remaining, _CHUNK))
        if not data:
            break
        remaining -= len(data)
    behaviour, parameters = _behaviour_of(target, headers)
    return _Request(method, target, headers, behaviour, parameters)


def _behaviour_of(target: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The behaviour and its parameters: from the path, then the query, then a header."""
    parts = urlsplit(target)
    parameters = dict(parse_qsl(parts.query))
    segments = [unquote(segment) for segment in parts.path.split("/")]
    if "_hostile" in segments:
        index = segments.index("_hostile")
        behaviour = segments[index + 1] if index + 1 < len(segments) else ""
        for segment in segments[index + 2 :]:
            key, equals, value = segment.partition("=")
            if not equals:
                break
            parameters[key] = value
        return behaviour, parameters
    if "hostile" in parameters:
        return parameters["hostile"], parameters
    return headers.get("x-hostile", "echo-auth"), parameters


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Hostile')}"]
    lines += [f"{name}: {value}" for name, value in {**headers, "Connection": "close"}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send_json(connection: socket.socket, status: int, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    connection.sendall(_head(status, headers) + body)


def _trickle_bytes(connection: socket.socket, data: bytes, stopping: threading.Event) -> None:
    """Send one byte a second until the client leaves or the server stops."""
    for index in range(len(data)):
        if stopping.wait(1.0 if index else 0.0):
            return
        connection.sendall(data[index : index + 1])


def _trickle(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(_TRICKLE_CONTENT_LENGTH)}
    connection.sendall(_head(200, headers))
    _trickle_bytes(connection, b"[" + b" " * (_TRICKLE_CONTENT_LENGTH - 1), stopping)


def _trickle_headers(
    connection: socket.socket, request: _Request, stopping: threading.Event
) -> None:
    endless_header = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000_000
    _trickle_bytes(connection, endless_header, stopping)


def _endless(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    connection.sendall(_head(200, headers))
    piece = b'{"data": "' + b"x" * (_CHUNK - 20) + b'"}, '
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    connection.sendall(b"1\r\n[\r\n")
    while not stopping.is_set():
        connection.sendall(chunk)


def _huge(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    total = int(request.parameters.get("mb", "300")) * 1024 * 1024
    prefix, suffix = b'{"pad": "', b'"}'
    headers = {"Content-Type": "application/json", "Content-Length": str(total)}
    connection.sendall(_head(200, headers) + prefix)
    remaining = total - len(prefix) - len(suffix)
    block = b"a" * _CHUNK
    while remaining > 0 and not stopping.is_set():
        piece = block[: min(remaining, _CHUNK)]
        connection.sendall(piece)
        remaining -= len(piece)
    connection.sendall(suffix)


def _deep(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    depth = int(request.parameters.get("depth", "100000"))
    status = int(request.parameters.get("status", "400"))
    shape = request.parameters.get("shape", "error")
    if shape == "list":
        body = b"[" * depth + b"]" * depth
    elif shape == "object":
        body = b'{"a": ' * depth + b"null" + b"}" * depth
    else:
        nested = b"[" * depth + b"]" * depth
        envelope = b'{"error": {"status": %d, "message": "deep", "details": {"nested": ' % status
        body = envelope + nested + b"}}}"
    _send_json(connection, status, body)


def _escapes(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    status = int(request.parameters.get("status", "400"))
    field_row = {"path": f"$.name{ESCAPES}", "rule": f"pattern{ESCAPES}", "message": ESCAPES}
    error = {
        "status": status,
        "message": f"bad{ESCAPES}request",
        "id": f"req{ESCAPES}",
        "details": {"fields": [field_row], "serviceId": f"svc{ESCAPES}"},
    }
    _send_json(connection, status, json.dumps({"error": error}).encode())


def _bad_utf8(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    status = int(request.parameters.get("status", "200"))
    body = b'{"id": "\xff\xfe", "name": "\xc3("}'
    if status >= 400:
        body = b'{"error": {"status": %d, "message": "bad \xff\xfe utf-8"}}' % status
    _send_json(connection, status, body)


def _escapes_list(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    service = {
        "id": "example-service",
        "appId": "/example-user/default-project/example-service",
        "projectId": "default-project",
        "name": "Example Service",
        "tags": [f"tag{ESCAPES}"],
        "description": f"about{ESCAPES}it",
        "serviceType": "build",
        "disabledCI": False,
        "disabledCD": False,
        "status": {"build": {"status": "SUCCESS", "lastTransitionTime": "2021-11-29T11:47:16Z"}},
        f"extra{ESCAPES}": f"value{ESCAPES}",
    }
    page = {"data": {"services": [service]}, "pagination": {"hasNextPage": False, "count": 1}}
    _send_json(connection, 200, json.dumps(page).encode())


def _many_fields(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    status = int(request.parameters.get("status", "400"))
    count = int(request.parameters.get("count", "1000"))
    fields = [
        {"path": f"$.buildArguments.K{i}", "rule": "pattern", "message": "bad key"}
        for i in range(count)
    ]
    error = {"status": status, "message": "invalid", "details": {"fields": fields}}
    _send_json(connection, status, json.dumps({"error": error}).encode())


def _echo_auth(connection: socket.socket, request: _Request, stopping: threading.Event) -> None:
    _send_json(connection, 200, b"{}")


_BEHAVIOURS = {
    "trickle": _trickle,
    "trickle-headers": _trickle_headers,
    "endless": _endless,
    "huge": _huge,
    "deep": _deep,
    "escapes": _escapes,
    "bad-utf8": _bad_utf8,
    "escapes-list": _escapes_list,
    "many-fields": _many_fields,
    "echo-auth": _echo_auth,
}

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


def main() -> None:
    """Serve until stdin closes; the URL goes to stdout first."""
    with HostileServer() as server:
        print(f"Listening on {server.url}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
