"""The sandbox's HTTP surface: the build-service lifecycle under ``/v1/projects/{projectId}``.

Each request passes the `ApiEdge` first, which gives it an id, finds who the
bearer token belongs to, applies the rate limit and adds the ``X-Request-Id``
and ``x-ratelimit-*`` headers to whatever is sent. The handlers then check,
in this order: token (401), permission (403), the token's projects (403),
project (404), query parameters against the generated parameter models (400),
the service (404, for get, patch and delete), media type (415), size (413),
UTF-8 and JSON (400), the body against the generated models (400, the first
failing fields listed and the rest counted), and the derived id (409, create
only). Bodies over 16 KiB are checked in worker processes when the server has a
`ValidationPool` (``serve`` does), so no body can hold up other requests.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from northflank_build.models import (
    CreateBuildServiceRequest,
    DeleteServiceParams,
    ListServicesParams,
    PatchBuildServiceRequest,
)
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.build_service import (
    derive_service_id,
    merge_patch,
    replaced_data,
    request_fields,
    service_data,
    service_summary,
)
from sandbox.pagination import CursorCodec, CursorError
from sandbox.problems import HttpError, envelope_response
from sandbox.rate_limit import Decision, FixedWindowLimiter, RateLimit, RateLimiter
from sandbox.request_body import checked_body, field_row, invalid_error
from sandbox.secrets_at_rest import SecretBox, join_secrets, split_secrets
from sandbox.store import (
    NewService,
    Principal,
    ServiceExistsError,
    Store,
    StoredService,
    StoreUnavailableError,
    now_iso,
)
from sandbox.tokens import (
    CREATE_SERVICE,
    DELETE_SERVICE,
    READ_SERVICE,
    UPDATE_SERVICE,
    hash_token,
    parse_bearer,
)
from sandbox.validation_pool import ValidationPool

__all__ = ["DEFAULT_RATE_LIMIT", "MAX_BODY_BYTES", "AppSettings", "create_app"]

MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_RATE_LIMIT: Final = RateLimit(1000, 3600)
STORE_RETRY_SECONDS: Final = 2
"""Retry-After of a 503 for a store that cannot be reached (a database restarting)."""
_DRAIN_LIMIT: Final = 8 * MAX_BODY_BYTES
"""How much of an oversized body is read and dropped so the client hears the 413."""
_INLINE_BODY_BYTES: Final = 16 * 1024
"""Bodies up to this size are checked on the event loop (tens of microseconds); larger
ones in a worker process (or, without a pool, a thread), so one costly body cannot
stall every other request."""
DEFAULT_PER_PAGE: Final = 50
_MAX_OFFSET: Final = 2**62
_INTEGER: Final = re.compile(r"-?[0-9]{1,4000}")
"""A query value read as a JSON integer (up to 4,000 digits: Python's int() reads at most 4,300);
anything else stays a string for the model to refuse."""
_BOOLEANS: Final = {"true": True, "false": False}
ModelT = TypeVar("ModelT", bound=BaseModel)
_REPO: Final = Path(__file__).resolve().parent.parent
log = logging.getLogger("sandbox")


@dataclass(frozen=True, slots=True)
class AppSettings:
    account: str
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT
    max_body_bytes: int = MAX_BODY_BYTES
    spec_path: Path = _REPO / "spec" / "openapi.yaml"
    docs_path: Path = _REPO / "generated" / "docs" / "index.html"


@dataclass(frozen=True, slots=True)
class Caller:
    """What the edge learnt of a request before any handler ran."""

    request_id: str
    principal: Principal | None
    auth_problem: str | None
    """Why there is no principal: no header, a malformed one, or an unknown token."""


def _caller(request: Request) -> Caller:
    caller: Caller = request.scope["state"]["caller"]
    return caller


class RequestIds:
    """Request ids in UUID version 4 form, from a generator seeded once per process.

    Ids need to be unique, not unpredictable: 122 random bits make a repeat
    as unlikely as with ``uuid.uuid4()``, without reading the kernel's random
    source for each request (which cost more than the rest of the request's
    bookkeeping together).
    """

    def __init__(self) -> None:
        self._random = random.Random(secrets.randbits(256))  # noqa: S311 - ids, not secrets

    def next(self) -> str:
        # uuid.UUID(int=..., version=4) set these bits, through three objects: here, one format.
        bits = (self._random.getrandbits(128) & _UUID_KEEP) | _UUID_VERSION_4
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_UUID_KEEP: Final = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
"""Every bit of a random 128 but the version nibble and the variant's two bits."""
_UUID_VERSION_4: Final = (0x4000 << 64) | (0x8000 << 48)
"""Version 4, variant RFC 4122, as `uuid.UUID` sets them."""


class ApiEdge:
    """Request ids, authentication look-up, rate limits and the last-resort 500.

    A create (``POST /v1/projects/{projectId}/services/build``, the operation clients
    call most) is answered here, on plain ASGI messages: no router, no request or
    response objects. The handlers' checks and their order are the same (`create`
    and `create_raw` share them); anything else goes through Starlette.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        limiter: RateLimiter | None,
        handlers: BuildServiceHandlers | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.limiter = limiter
        self.handlers = handlers
        self.request_ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.request_ids.next()
        added = [(b"x-request-id", request_id.encode())]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            refusal = _refused_headers(scope["headers"])
            if refusal is not None:
                scope.setdefault("state", {})["caller"] = Caller(request_id, None, None)
                await envelope_response(refusal, request_id)(scope, receive, send_with_headers)
                return
            # The token look-up reads the store, so it can fail too: inside the try.
            caller = await self._identify(scope, request_id)
            scope.setdefault("state", {})["caller"] = caller
            decision = await self._limit(scope, caller)
            if decision is not None:
                added.extend(decision.headers())
            if decision is not None and not decision.allowed:
                problem = HttpError(429, "Rate limit exceeded; retry after the time in Retry-After")
                await envelope_response(problem, request_id)(scope, receive, send_with_headers)
                return
            handlers = self.handlers
            if handlers is not None and (project_id := _create_path_project(scope)) is not None:
                try:
                    body = await handlers.create_raw(caller, project_id, scope, receive)
                except HttpError as refused:
                    await envelope_response(refused, request_id)(scope, receive, send_with_headers)
                    return
                started = True
                await _send_json(send, body, added)
                return
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            return  # gone before its body arrived: nobody to answer, nothing done
        except StoreUnavailableError as error:
            log.warning("request %s: %s", request_id, error)
            if started:
                raise
            problem = HttpError(
                503,
                "The sandbox's database cannot be reached just now; retry after Retry-After",
                headers={"Retry-After": str(STORE_RETRY_SECONDS)},
            )
            await envelope_response(problem, request_id)(scope, receive, send_with_headers)
        except Exception:
            log.exception("request %s failed", request_id)
            if started:
                raise
            problem = HttpError(500, "The sandbox failed unexpectedly; its log has the details")
            await envelope_response(problem, request_id)(scope, receive, send_with_headers)

    async def _identify(self, scope: Scope, request_id: str) -> Caller:
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if header is None:
            return Caller(request_id, None, "Missing bearer token (Authorization: Bearer <token>)")
        token = parse_bearer(header)
        if token is None:
            return Caller(request_id, None, "Malformed Authorization header; use Bearer <token>")
        principal = await self.store.principal(hash_token(token))
        if principal is None:
            return Caller(request_id, None, "Unknown or revoked API token")
        return Caller(request_id, principal, None)

    async def _limit(self, scope: Scope, caller: Caller) -> Decision | None:
        if self.limiter is None:
            return None
        if caller.principal is not None:
            return await self.limiter.admit(caller.principal.token_id)
        client = scope.get("client")
        return await self.limiter.admit(f"address:{client[0] if client else 'unknown'}")


class BuildServiceHandlers:
    def __init__(
        self,
        store: Store,
        secret_box: SecretBox,
        settings: AppSettings,
        validation_pool: ValidationPool | None,
    ) -> None:
        self.store = store
        self.secret_box = secret_box
        self.settings = settings
        self.validation_pool = validation_pool
        self.cursors = CursorCodec(secret_box.subkey("list-cursor"))

    async def build_services(self, request: Request) -> Response:
        """``/v1/projects/{projectId}/services/build``: POST creates, PUT creates or replaces."""
        if request.method == "PUT":
            return await self.put(request)
        return await self.create(request)

    async def service(self, request: Request) -> Response:
        """``/v1/projects/{projectId}/services/{serviceId}``: GET and DELETE."""
        if request.method == "DELETE":
            return await self.delete(request)
        return await self.get(request)

    async def create(self, request: Request) -> Response:
        project_id: str = request.path_params["projectId"]
        body = await self.create_raw(_caller(request), project_id, request.scope, request.receive)
        return Response(body, media_type="application/json")

    async def create_raw(
        self, caller: Caller, project_id: str, scope: Scope, receive: Receive
    ) -> bytes:
        """A create, from the edge's plain ASGI: the 200's body, or the `HttpError`."""
        await self._authorize_caller(caller, project_id, CREATE_SERVICE)
        service = await self._checked(
            _Head(scope["headers"]), _stream(receive), CreateBuildServiceRequest
        )
        now = now_iso()
        data = service_data(service, project_id=project_id, account=self.settings.account, now=now)
        try:
            await self.store.insert_service(self._row(project_id, data))
        except ServiceExistsError:
            raise HttpError(
                409,
                "There is already a service with the same derived identifier",
                details={"serviceId": data["id"]},
            ) from None
        return to_json({"data": data})

    async def list(self, request: Request) -> Response:
        project_id = await self._authorize(request, READ_SERVICE)
        query = _parameters(ListServicesParams, request, ("per_page", "page", "cursor"))
        per_page: int = query.get("per_page", DEFAULT_PER_PAGE)
        after, offset = None, 0
        if "cursor" in query:  # `page` is ignored: the official client resends it with cursors
            try:
                after = self.cursors.decode(project_id, query["cursor"])
            except CursorError as error:
                raise HttpError(
                    400,
                    f"The cursor is invalid: {error}",
                    details={"fields": [field_row("$.cursor", "cursor", str(error))]},
                ) from None
        else:
            offset = min((query.get("page", 1) - 1) * per_page, _MAX_OFFSET)
        rows = await self.store.list_services(
            project_id, after=after, offset=offset, limit=per_page + 1
        )
        page, has_next = rows[:per_page], len(rows) > per_page
        pagination: dict[str, Any] = {"hasNextPage": has_next, "count": len(page)}
        if has_next:
            pagination["cursor"] = self.cursors.encode(project_id, page[-1].service_id)
        services = [
            service_summary(json.loads(row.record_json), project_id=project_id) for row in page
        ]
        return _json({"data": {"services": services}, "pagination": pagination})

    async def get(self, request: Request) -> Response:
        project_id = await self._authorize(request, READ_SERVICE)
        service_id: str = request.path_params["serviceId"]
        row = await self.store.get_service(project_id, service_id)
        if row is None:
            raise _no_service(project_id, service_id)
        return _json({"data": self._open(row)})

    async def delete(self, request: Request) -> Response:
        project_id = await self._authorize(request, DELETE_SERVICE)
        _parameters(DeleteServiceParams, request, ("delete_child_objects",))
        service_id: str = request.path_params["serviceId"]
        if not await self.store.delete_service(project_id, service_id):
            raise _no_service(project_id, service_id)
        return _json({"data": {}})

    async def put(self, request: Request) -> Response:
        project_id = await self._authorize(request, CREATE_SERVICE)
        service = await self._body(request, CreateBuildServiceRequest)
        definition = service.model_dump(mode="json")
        now = now_iso()

        def change(current: StoredService | None) -> StoredService:
            if current is None:
                data = service_data(
                    service, project_id=project_id, account=self.settings.account, now=now
                )
                return self._row(project_id, data)
            data = self._open(current)
            if request_fields(data) == definition:
                return current
            return self._row(project_id, replaced_data(data, definition, now=now))

        stored = await self.store.change_service(
            project_id, derive_service_id(service.name), change
        )
        return _json({"data": self._open(stored)})

    async def patch(self, request: Request) -> Response:
        project_id = await self._authorize(request, UPDATE_SERVICE)
        service_id: str = request.path_params["serviceId"]
        if await self.store.get_service(project_id, service_id) is None:
            raise _no_service(project_id, service_id)
        patch = await self._body(request, PatchBuildServiceRequest)
        changes = patch.model_dump(mode="json")
        if not changes:
            raise HttpError(
                400,
                "The request body is invalid (1 failing field)",
                details={"fields": [field_row("$", "minProperties", "Give at least one field")]},
            )
        now = now_iso()

        def change(current: StoredService | None) -> StoredService:
            if current is None:  # deleted since the look-up above
                raise _no_service(project_id, service_id)
            data = self._open(current)
            definition = request_fields(data)
            merged = merge_patch(definition, changes)
            try:
                checked = CreateBuildServiceRequest.model_validate(merged).model_dump(mode="json")
            except ValidationError as error:
                raise invalid_error(
                    "The patched service would be invalid", CreateBuildServiceRequest, error
                ) from None
            if checked == definition:
                return current
            return self._row(project_id, replaced_data(data, checked, now=now))

        stored = await self.store.change_service(project_id, service_id, change)
        return _json({"data": self._open(stored)})

    async def _authorize(self, request: Request, permission: str) -> str:
        """The project of the request, once the caller may act on it with ``permission``."""
        project_id: str = request.path_params["projectId"]
        await self._authorize_caller(_caller(request), project_id, permission)
        return project_id

    async def _authorize_caller(self, caller: Caller, project_id: str, permission: str) -> None:
        if caller.principal is None:
            raise HttpError(401, caller.auth_problem or "Unauthorized")
        if not caller.principal.may(permission):
            raise HttpError(403, f"This token lacks the permission {permission!r}")
        if not caller.principal.belongs_to(project_id):
            raise HttpError(403, f"This token does not belong to the project {project_id!r}")
        if not await self.store.project_exists(project_id):
            raise HttpError(404, f"Project {project_id!r} does not exist")

    async def _body(self, request: Request, model: type[ModelT]) -> ModelT:
        """The request's body checked by ``model``: small ones here, large ones off the loop."""
        return await self._checked(_Head(request.scope["headers"]), _stream(request.receive), model)

    async def _checked(
        self, head: _Head, stream: AsyncIterator[bytes], model: type[ModelT]
    ) -> ModelT:
        _require_json(head.first(b"content-type"))
        _require_identity(head.every(b"content-encoding"))
        body = await _read_body(head, stream, self.settings.max_body_bytes)
        if len(body) <= _INLINE_BODY_BYTES:
            return checked_body(body, model)
        if self.validation_pool is None:
            return await run_in_threadpool(checked_body, body, model)
        return await self.validation_pool.validate(body, model)

    def _row(self, project_id: str, data: dict[str, Any]) -> StoredService:
        """The stored form of a service: its secrets split out and sealed to its row."""
        record, hidden = split_secrets(data)
        sealed = None
        if hidden is not None:
            sealed = self.secret_box.seal(hidden, f"{project_id}/{data['id']}")
        return NewService(
            project_id, data["id"], to_json(record).decode(), sealed, str(data["createdAt"])
        )

    def _open(self, row: StoredService) -> dict[str, Any]:
        """The service's ``data``, its secrets unsealed."""
        hidden = None
        if row.sealed_secrets is not None:
            hidden = self.secret_box.open(row.sealed_secrets, f"{row.project_id}/{row.service_id}")
        data: dict[str, Any] = join_secrets(json.loads(row.record_json), hidden)
        return data


def _json(payload: Any) -> Response:
    return Response(to_json(payload), media_type="application/json")


async def _send_json(send: Send, body: bytes, added: list[tuple[bytes, bytes]]) -> None:
    """A 200 with a JSON ``body``: the headers Starlette's `Response` gives it, then ``added``."""
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        *added,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_CREATE_PREFIX: Final = "/v1/projects/"
_CREATE_SUFFIX: Final = "/services/build"


def _create_path_project(scope: Scope) -> str | None:
    """The project of a create (``POST /v1/projects/{projectId}/services/build``), or ``None``
    for any other request (Starlette routes those, and any request this does not claim)."""
    if scope["method"] != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not (path.startswith(_CREATE_PREFIX) and path.endswith(_CREATE_SUFFIX)):
        return None
    project_id = path[len(_CREATE_PREFIX) : -len(_CREATE_SUFFIX)]
    if not project_id or "/" in project_id:
        return None
    return project_id


class _Head:
    """A request's headers as the ASGI scope lists them (lowercase names), read as Starlette's
    `Headers` reads them: values decoded as Latin-1."""

    __slots__ = ("_headers",)

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._headers = headers

    def first(self, name: bytes) -> str | None:
        for key, value in self._headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def every(self, name: bytes) -> list[str]:
        return [value.decode("latin-1") for key, value in self._headers if key == name]


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks, as Starlette's `Request.stream` gives them (empty ones
    skipped); a disconnect before the last is `ClientDisconnect`."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            body: bytes = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


def _no_service(project_id: str, service_id: str) -> HttpError:
    return HttpError(404, f"Service {service_id!r} does not exist in project {project_id!r}")


def _refused_headers(headers: list[tuple[bytes, bytes]]) -> HttpError | None:
    """A request the API refuses for its headers alone: one header twice, or an Upgrade.

    With two ``Authorization`` or ``Content-Type`` headers, which one counts depends on
    who reads them (a proxy may take the last, the sandbox took the first), so neither
    does. An ``Upgrade`` (websocket or any other) asks for another protocol, which this
    API does not speak; its body is never read.
    """
    seen: set[bytes] = set()
    for name, _ in headers:
        if name in _SINGLE_HEADERS:
            if name in seen:
                header = _SINGLE_HEADERS[name]
                return HttpError(400, f"The {header} header is given more than once; give it once")
            seen.add(name)
        elif name == b"upgrade":
            return HttpError(
                400,
                "The Upgrade header asks for another protocol; this API speaks plain HTTP only",
                headers={"Connection": "close"},
            )
    return None


_SINGLE_HEADERS: Final = {b"authorization": "Authorization", b"content-type": "Content-Type"}


def _parameters(model: type[BaseModel], request: Request, query: tuple[str, ...]) -> dict[str, Any]:
    """The path and query parameters as JSON values, checked by the operation's parameter model.

    Query values are text: one that reads as an integer becomes one, ``true`` and ``false``
    become booleans, and the model (the spec's schema) judges the rest. Query parameters
    the operation does not have are ignored; one given twice is a 400.
    """
    values: dict[str, Any] = dict(request.path_params)
    for name in query:
        given = request.query_params.getlist(name)
        if len(given) > 1:
            raise HttpError(
                400,
                f"The query parameter {name!r} is given more than once",
                details={"fields": [field_row(f"$.{name}", "type", "Give it once")]},
            )
        if given:
            text = given[0]
            value: Any = text
            if _INTEGER.fullmatch(text):
                value = int(text)
            elif text in _BOOLEANS:
                value = _BOOLEANS[text]
            values[name] = value
    try:
        checked = model.model_validate(values)
    except ValidationError as error:
        raise invalid_error("The request's parameters are invalid", model, error) from None
    dumped: dict[str, Any] = checked.model_dump(mode="json")
    return dumped


def _require_identity(encodings: list[str]) -> None:
    """Refuse a body in an encoding the sandbox does not undo (it would read it as JSON)."""
    for header in encodings:
        for coding in header.split(","):
            coding = coding.strip().lower()
            if coding and coding != "identity":
                raise HttpError(
                    415,
                    f"Unsupported Content-Encoding {coding!r}; send the body unencoded (identity)",
                )


def _require_json(content_type: str | None) -> None:
    if content_type is None:
        raise HttpError(415, "Missing Content-Type; send application/json")
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    media_type = media_type.lower()
    if media_type != "application/json":
        raise HttpError(415, f"Unsupported Content-Type {media_type!r}; send application/json")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise HttpError(415, f"Unsupported charset {value.strip()!r}; JSON is UTF-8")


async def _read_body(head: _Head, stream: AsyncIterator[bytes], limit: int) -> bytes:
    declared = head.first(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await _drain(stream)
        raise HttpError(413, f"The request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            await _drain(stream)
            raise HttpError(413, f"The request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(stream: AsyncIterator[bytes]) -> None:
    """Read (and drop) the rest of a body, up to a bound, so the client sees the answer."""
    drained = 0
    async for chunk in stream:
        drained += len(chunk)
        if drained > _DRAIN_LIMIT:
            return


async def _problem(request: Request, exc: Exception) -> Response:
    request_id = _caller(request).request_id
    if isinstance(exc, HttpError):
        return envelope_response(exc, request_id)
    assert isinstance(exc, HTTPException)
    messages = {
        404: f"No such path: {request.url.path}",
        405: f"Method {request.method} not allowed",
    }
    message = messages.get(exc.status_code, exc.detail)
    return envelope_response(HttpError(exc.status_code, message, headers=exc.headers), request_id)


def create_app(
    store: Store,
    secret_box: SecretBox,
    settings: AppSettings,
    *,
    validation_pool: ValidationPool | None = None,
    rate_limiter: RateLimiter | None = None,
) -> Starlette:
    """The ASGI app. The caller owns ``store`` and ``validation_pool`` and closes them;
    without a pool, large bodies are checked in a thread (enough for tests in-process).
    ``rate_limiter`` counts ``settings.rate_limit`` where replicas share it; without one,
    requests are counted in this process's memory."""
    if rate_limiter is None and settings.rate_limit is not None:
        rate_limiter = FixedWindowLimiter(settings.rate_limit)
    handlers = BuildServiceHandlers(store, secret_box, settings, validation_pool)

    async def spec(request: Request) -> Response:
        return FileResponse(settings.spec_path, media_type="application/yaml")

    async def docs(request: Request) -> Response:
        if not settings.docs_path.exists():
            raise HttpError(404, "The reference page has not been generated yet")
        return FileResponse(settings.docs_path, media_type="text/html")

    app = Starlette(
        routes=[
            Route("/v1/projects/{projectId}/services", handlers.list, methods=["GET"]),
            Route(
                "/v1/projects/{projectId}/services/build",
                handlers.build_services,
                methods=["POST", "PUT"],
            ),
            Route(
                "/v1/projects/{projectId}/services/build/{serviceId}",
                handlers.patch,
                methods=["PATCH"],
            ),
            Route(
                "/v1/projects/{projectId}/services/{serviceId}",
                handlers.service,
                methods=["GET", "DELETE"],
            ),
            Route("/openapi.yaml", spec, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
        ],
        middleware=[Middleware(ApiEdge, store=store, limiter=rate_limiter, handlers=handlers)],
        exception_handlers={HttpError: _problem, HTTPException: _problem},
    )
    app.router.redirect_slashes = False  # `.../build/` is an unknown path (404), not a 307
    return app
