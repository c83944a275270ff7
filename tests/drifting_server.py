"""A server that drifts from the spec, one way per route prefix, in front of a live sandbox.

``DriftingServer(upstream_url)`` listens on 127.0.0.1 and forwards ``/<drift>/<path>`` to the
sandbox's ``/<path>``, changing the request or the answer in that one way; everything else is
the sandbox's own behaviour, so a contract run against ``<url>/<drift>`` should fail naming
that drift and nothing it does not cause:

- ``extra-field``: every 2xx ``data`` object carries a field the spec does not know;
- ``created-201``: a create that succeeds is 201, not the spec's 200;
- ``no-request-id``: no answer carries ``X-Request-Id``;
- ``accepts-invalid``: top-level fields the spec does not know are dropped from a create or
  put body before the sandbox sees it, so such a body is accepted instead of a 400;
- ``repeating-pages``: each page reached by a cursor starts with the last service of the page
  before it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["DRIFTS", "DriftingServer"]

DRIFTS = ("extra-field", "created-201", "no-request-id", "accepts-invalid", "repeating-pages")
_HOP_BY_HOP = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "content-encoding"}
)
_CREATE_FIELDS = frozenset(
    {
        "name", "description", "tags", "billing", "buildSource", "vcsData", "buildSettings",
        "buildConfiguration", "buildArguments", "buildFiles", "dockerSecretMounts", "disabledCI",
    }
)  # fmt: skip


class DriftingServer:
    """The proxy, in a thread of the test process; a context manager."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream = httpx.Client(base_url=upstream_url, timeout=30.0)
        self.last_item_by_cursor: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> DriftingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.upstream.close()

    # --- one function per drift ------------------------------------------------------------

    def request_body(self, drift: str, method: str, path: str, body: bytes) -> bytes:
        if drift != "accepts-invalid" or method not in ("POST", "PUT") or "/build" not in path:
            return body
        try:
            document = json.loads(body)
        except ValueError:
            return body
        if isinstance(document, dict):
            document = {k: v for k, v in document.items() if k in _CREATE_FIELDS}
        return json.dumps(document).encode()

    def answer(
        self, drift: str, method: str, path: str, query: str, response: httpx.Response
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, body = response.status_code, response.content
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
        if drift == "no-request-id":
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
        if drift == "created-201" and method == "POST" and status == 200:
            status = 201
        if drift == "extra-field" and 200 <= status < 300:
            body = self._with_extra_field(body)
        if drift == "repeating-pages" and method == "GET" and status == 200:
            body = self._repeating(query, body)
        return status, headers, body

    @staticmethod
    def _with_extra_field(body: bytes) -> bytes:
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get("data"), dict):
            document["data"]["driftField"] = "not in the spec"
        return json.dumps(document).encode()

    def _repeating(self, query: str, body: bytes) -> bytes:
        document = json.loads(body)
        if not isinstance(document, dict) or "pagination" not in document:
            return body
        services = document["data"]["services"]
        cursor = httpx.QueryParams(query).get("cursor")
        with self.lock:
            before = self.last_item_by_cursor.get(cursor) if cursor else None
            if services and document["pagination"].get("cursor"):
                self.last_item_by_cursor[document["pagination"]["cursor"]] = services[-1]
        if before is not None:
            services.insert(0, before)
            document["pagination"]["count"] = len(services)
        return json.dumps(document).encode()


def _handler_for(server: DriftingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            drift, _, rest = self.path.lstrip("/").partition("/")
            if drift not in DRIFTS:
                self.send_error(404, f"no drift {drift!r}; one of {', '.join(DRIFTS)}")
                return
            path, _, query = f"/{rest}".partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            body = server.request_body(drift, self.command, path, body)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.pop("Host", None)
            response = server.upstream.request(
                self.command, f"{path}?{query}" if query else path, content=body, headers=headers
            )
            status, out_headers, out = server.answer(drift, self.command, path, query, response)
            self.send_response(status)
            for name, value in out_headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward  # noqa: N815

    return Handler
