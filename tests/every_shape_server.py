"""A small stateful server for the fixture spec `tests/fixtures/every_shape.yaml`.

It records every request it receives (method, path, query, headers, body) and
answers as the fixture spec says, so the surfaces generated from that spec can
be called for real over HTTP on 127.0.0.1:

    with EveryShapeServer() as server:
        ...  # call server.url; then look at server.requests

or, for a test in another language, ``python -m tests.every_shape_server``
prints ``Listening on http://127.0.0.1:PORT`` and serves until stdin closes
or it is killed.

For tests that run it as a subprocess, three control routes (no auth, not
recorded): ``GET /_test/requests`` returns the recorded requests as JSON,
``POST /_test/widgets?team=T&count=N`` adds N widgets, and
``POST /_test/extra?on=1`` turns the unknown response field on (``on=0``: off).

Behaviour: lists are paginated by cursor (``per_page`` defaults to 2); a
create of an existing id is 409; an unknown widget is 404; every response
carries ``X-Request-Id``. ``server.extra_response_field = True`` adds a field
the spec does not know (``"surprise"``) to every object it returns, for the
forward-compatibility tests. ``server.later_pages_gate = threading.Event()``
holds each request for a later page of a list (one with a ``cursor``) until
the event is set, for tests that watch a page printed before the next arrives.
Bearer auth is checked only for presence
(``Authorization: Bearer <anything>``), else 401.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["DEFAULT_PER_PAGE", "EveryShapeServer", "RecordedRequest"]

DEFAULT_PER_PAGE = 2

_WIDGETS = re.compile(r"^/v1/teams/(?P<team>[^/]+)/widgets$")
_WIDGET = re.compile(
    r"^/v1/teams/(?P<team>[^/]+)/widgets/(?P<widget>[^/]+)(?P<rest>/status|/rebuild)?$"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    """The raw path, percent-encoding kept."""
    query: tuple[tuple[str, str], ...]
    """Each query pair in order, decoded."""
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class EveryShapeServer:
    """The fixture API on an ephemeral port of 127.0.0.1, in a thread."""

    extra_response_field: bool = False
    later_pages_gate: threading.Event | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    widgets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EveryShapeServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EveryShapeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_widgets(self, team: str, count: int, *, size: int = 1) -> list[str]:
        """Put ``count`` widgets in ``team`` directly; returns their ids, in list order."""
        ids = []
        with self._lock:
            for _ in range(count):
                widget_id = f"widget-{next(self._ids)}"
                self.widgets[(team, widget_id)] = {"id": widget_id, "name": widget_id, "size": size}
                ids.append(widget_id)
        return ids

    # --- The API -------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> tuple[int, Any]:
        if urlsplit(request.path).path.startswith("/_test/"):
            return self._control(request)
        gate = self.later_pages_gate
        if gate is not None and request.method == "GET" and "cursor" in dict(request.query):
            gate.wait(timeout=60)
        with self._lock:
            self.requests.append(request)
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return 401, _error(401, "missing or malformed bearer token")
            path = urlsplit(request.path).path
            if match := _WIDGETS.match(path):
                return self._widgets(request, match["team"])
            if match := _WIDGET.match(path):
                return self._widget(request, match["team"], match["widget"], match["rest"] or "")
            return 404, _error(404, f"no route {request.method} {path}")

    def _control(self, request: RecordedRequest) -> tuple[int, Any]:
        path, query = urlsplit(request.path).path, dict(request.query)
        if path == "/_test/requests":
            with self._lock:
                return 200, [
                    {
                        "method": r.method,
                        "path": r.path,
                        "query": [list(pair) for pair in r.query],
                        "headers": r.headers,
                        "body": r.body.decode("utf-8", "replace"),
                    }
                    for r in self.requests
                ]
        if path == "/_test/widgets":
            return 200, self.add_widgets(query["team"], int(query["count"]))
        if path == "/_test/extra":
            self.extra_response_field = query.get("on") == "1"
            return 200, {"extra": self.extra_response_field}
        return 404, _error(404, f"no control route {path}")

    def _widgets(self, request: RecordedRequest, team: str) -> tuple[int, Any]:
        if request.method == "POST":
            body = request.json() or {}
            widget = {"id": body["name"], "name": body["name"], "size": body.get("size", 1)}
            if "tags" in body:
                widget["tags"] = body["tags"]
            if (team, widget["id"]) in self.widgets:
                return 409, _error(409, f"widget {widget['id']} exists")
            self.widgets[(team, widget["id"])] = widget
            return 201, {"data": self._out(widget)}
        if request.method != "GET":
            return 405, _error(405, "method not allowed")
        query = dict(request.query)
        per_page = int(query.get("per_page", DEFAULT_PER_PAGE))
        mine = sorted(
            (w for (t, _), w in self.widgets.items() if t == team), key=lambda w: str(w["id"])
        )
        if "size" in query:
            mine = [w for w in mine if str(w["size"]) == query["size"]]
        start = 0
        if "cursor" in query:
            start = next(
                (i for i, w in enumerate(mine) if str(w["id"]) > query["cursor"]), len(mine)
            )
        page = mine[start : start + per_page]
        more = start + per_page < len(mine)
        pagination: dict[str, Any] = {"hasNextPage": more, "count": len(page)}
        if more:
            pagination["cursor"] = str(page[-1]["id"])
        return 200, {"data": {"widgets": [self._out(w) for w in page]}, "pagination": pagination}

    def _widget(
        self, request: RecordedRequest, team: str, widget_id: str, rest: str
    ) -> tuple[int, Any]:
        key = (team, widget_id)
        if request.method == "PUT" and not rest:
            body = request.json() or {}
            widget = {"id": widget_id, "name": body["name"], "size": body.get("size", 1)}
            if "tags" in body:
                widget["tags"] = body["tags"]
            self.widgets[key] = widget
            return 200, {"data": self._out(widget)}
        if key not in self.widgets:
            return 404, _error(404, f"no widget {widget_id}")
        widget = self.widgets[key]
        if rest == "/status" and request.method == "GET":
            return 200, {"data": self._out({"id": widget_id, "state": "on"})}
        if rest == "/rebuild" and request.method == "POST":
            return 202, {"data": self._out({"id": widget_id, "state": "yes"})}
        if rest:
            return 405, _error(405, "method not allowed")
        if request.method == "GET":
            return 200, {"data": self._out(widget)}
        if request.method == "PATCH":
            widget.update(request.json() or {})
            return 200, {"data": self._out(widget)}
        if request.method == "DELETE":
            del self.widgets[key]
            return 204, None
        return 405, _error(405, "method not allowed")

    def _out(self, value: dict[str, Any]) -> dict[str, Any]:
        return {**value, "surprise": True} if self.extra_response_field else dict(value)


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def _handler_for(server: EveryShapeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                query=tuple(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            status, payload = server.handle(request)
            content = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("X-Request-Id", f"req-{len(server.requests)}")
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    """Serve until stdin closes: ``Listening on URL`` on stdout first."""
    with EveryShapeServer() as server:
        print(f"Listening on {server.url}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
