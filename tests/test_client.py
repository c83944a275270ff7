"""The generated clients as users call them: against a live sandbox, and on the wire.

The live tests run each scenario twice, through `Client` and `AsyncClient`,
against one sandbox per module (each test uses its own service names). What a
request looks like on the wire (headers, body bytes, URL) is seen through an
`httpx.MockTransport`. Retries are in test_client_retries.py.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import northflank_build
import pytest
from northflank_build import (
    APIResponseValidationError,
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Billing,
    BuildService,
    BuildStatus,
    Client,
    ConflictError,
    CreateBuildServiceRequest,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RawResponse,
    RequestValidationError,
)

from sandbox.build_service import derive_service_id
from sandbox.sqlite_store import SqliteAdminStore
from sandbox.tokens import hash_token
from tests.live_sandbox import LiveSandbox, run_bounded, start_sandbox
from tests.spec_data import example

PROJECT = "default-project"
MODES = ("sync", "async")
ASYNC_SECONDS = 30.0
USER_AGENT = f"northflank-build-python/{northflank_build.__version__}"

INVALID_PATHS = {
    ("$.name", "minLength"),
    ("$.billing.buildPlan", "type"),
    ("$.vcsData", "required"),
    ("$.buildSettings.dockerfile.useCache", "type"),
    ("$.bogus", "additionalProperties"),
}
"""What `invalid_body` breaks, as (JSON path, JSON Schema keyword)."""


# --- Helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    """One sandbox for the module: each test creates services under its own names."""
    server = start_sandbox(
        tmp_path_factory.mktemp("client") / "sandbox", "--quiet", "--rate-limit", "off"
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads its token and base URL from the environment: start from neither."""
    monkeypatch.delenv("NORTHFLANK_API_TOKEN", raising=False)
    monkeypatch.delenv("NORTHFLANK_BASE_URL", raising=False)


def unique_body() -> dict[str, Any]:
    """The spec's request example under a name no other test uses."""
    return {**example("request", "dockerfileBuild"), "name": f"Svc {secrets.token_hex(6)}"}


def invalid_body() -> dict[str, Any]:
    """A request that breaks the spec at each of `INVALID_PATHS`."""
    body = unique_body()
    body["name"] = "ab"
    body["billing"]["buildPlan"] = 3
    del body["vcsData"]
    body["buildSettings"]["dockerfile"]["useCache"] = "no"
    body["bogus"] = True
    return body


def service_count(server: LiveSandbox) -> int:
    store = SqliteAdminStore(server.db)
    try:
        return store.count_services(PROJECT)
    finally:
        store.close()


def options(server: LiveSandbox, **changes: Any) -> dict[str, Any]:
    """Client arguments for ``server`` with the admin token, and no retries to wait for."""
    return {"token": server.admin_token, "base_url": server.url, "max_retries": 0, **changes}


def create(
    mode: str,
    client_options: dict[str, Any],
    data: Any,
    *,
    project_id: str = PROJECT,
    **call: Any,
) -> BuildService:
    """``client.create.service.build(...)`` through `Client` or `AsyncClient`."""
    if mode == "sync":
        with Client(**client_options) as client:
            return client.create.service.build(project_id=project_id, data=data, **call)

    async def run() -> BuildService:
        async with AsyncClient(**client_options) as client:
            return await client.create.service.build(project_id=project_id, data=data, **call)

    return run_bounded(run, ASYNC_SECONDS)


def create_raw(mode: str, client_options: dict[str, Any], data: Any) -> RawResponse[BuildService]:
    if mode == "sync":
        with Client(**client_options) as client:
            return client.with_raw_response.create.service.build(project_id=PROJECT, data=data)

    async def run() -> RawResponse[BuildService]:
        async with AsyncClient(**client_options) as client:
            raw = client.with_raw_response.create.service
            return await raw.build(project_id=PROJECT, data=data)

    return run_bounded(run, ASYNC_SECONDS)


def recording_http(mode: str, sent: list[httpx.Request], **kwargs: Any) -> Any:
    """An httpx client (sync or async) that appends every request it sends to ``sent``."""
    if mode == "sync":
        return httpx.Client(event_hooks={"request": [sent.append]}, **kwargs)

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    return httpx.AsyncClient(event_hooks={"request": [record]}, **kwargs)


Handler = Callable[[httpx.Request], httpx.Response]


def mock_options(mode: str, handler: Handler, **changes: Any) -> dict[str, Any]:
    """Client arguments whose requests go to ``handler`` instead of the network."""
    transport = httpx.MockTransport(handler)
    http: Any = (
        httpx.Client(transport=transport)
        if mode == "sync"
        else httpx.AsyncClient(transport=transport)
    )
    return {
        "token": "test-token-0123456789",
        "base_url": "https://api.test",
        "max_retries": 0,
        "http_client": http,
        **changes,
    }


def answer_created(sent: list[httpx.Request]) -> Handler:
    """A handler that records each request and answers with the spec's 200 example."""

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=example("200", "dockerfileBuild"))

    return handle


# --- Against the live sandbox -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_create_returns_the_build_service(mode: str, live: LiveSandbox) -> None:
    body = unique_body()
    before = service_count(live)
    service = create(mode, options(live), body)
    assert isinstance(service, BuildService)
    assert service.name == body["name"]
    assert service.id == derive_service_id(body["name"])
    assert service.id == body["name"].lower().replace(" ", "-")
    assert service.service_type == "build"
    assert service.app_id.endswith(f"/{PROJECT}/{service.id}")
    assert isinstance(service.billing, Billing)
    assert service.billing.build_plan == "nf-compute-200-8"
    assert service.vcs_data.project_url == body["vcsData"]["projectUrl"]
    assert service.build_arguments == body["buildArguments"]
    assert isinstance(service.status.build, BuildStatus)
    assert service.status.build.status == "QUEUED"
    assert isinstance(service.created_at, str)
    wire = service.model_dump(mode="json")
    assert {key: wire[key] for key in body} == body
    assert service_count(live) == before + 1


@pytest.mark.parametrize("mode", MODES)
def test_creating_twice_is_a_conflict(mode: str, live: LiveSandbox) -> None:
    body = unique_body()
    first = create(mode, options(live), body)
    with pytest.raises(ConflictError) as caught:
        create(mode, options(live), body)
    error = caught.value
    assert isinstance(error, APIStatusError)
    assert error.status_code == 409
    assert "already" in error.error_message
    assert str(error) == f"409: {error.error_message}"
    assert error.error_id is not None
    assert error.error_id == error.response.headers["x-request-id"]
    assert error.details == {"serviceId": first.id}
    assert error.after_retry is False
    assert error.request is not None
    assert error.request.url.path == f"/v1/projects/{PROJECT}/services/build"


@pytest.mark.parametrize("mode", MODES)
def test_no_token_is_an_authentication_error(mode: str, live: LiveSandbox) -> None:
    sent: list[httpx.Request] = []
    client_options = options(live, token=None, http_client=recording_http(mode, sent))
    with pytest.raises(AuthenticationError) as caught:
        create(mode, client_options, unique_body())
    assert caught.value.status_code == 401
    assert "token" in caught.value.error_message.lower()
    assert caught.value.error_id == caught.value.response.headers["x-request-id"]
    assert [request.headers.get("authorization") for request in sent] == [None]


@pytest.mark.parametrize("mode", MODES)
def test_token_and_base_url_come_from_the_environment(
    mode: str, live: LiveSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", live.admin_token)
    monkeypatch.setenv("NORTHFLANK_BASE_URL", live.url + "/")
    body = unique_body()
    service = create(mode, {"max_retries": 0}, body)
    assert service.name == body["name"]


@pytest.mark.parametrize("mode", MODES)
def test_a_token_without_permission_is_denied(mode: str, live: LiveSandbox) -> None:
    token = f"no-permission-{secrets.token_hex(8)}"
    store = SqliteAdminStore(live.db)
    try:
        store.create_token(token_hash=hash_token(token), label="x", permissions=())
    finally:
        store.close()
    before = service_count(live)
    with pytest.raises(PermissionDeniedError) as caught:
        create(mode, options(live, token=token), unique_body())
    assert caught.value.status_code == 403
    assert "permission" in caught.value.error_message
    assert service_count(live) == before


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_project_is_not_found(mode: str, live: LiveSandbox) -> None:
    with pytest.raises(NotFoundError) as caught:
        create(mode, options(live), unique_body(), project_id="no-such-project")
    assert caught.value.status_code == 404
    assert "no-such-project" in caught.value.error_message
    assert caught.value.error_id == caught.value.response.headers["x-request-id"]


@pytest.mark.parametrize("mode", MODES)
def test_an_invalid_body_is_refused_before_sending(mode: str, live: LiveSandbox) -> None:
    sent: list[httpx.Request] = []
    before = service_count(live)
    client_options = options(live, http_client=recording_http(mode, sent))
    with pytest.raises(RequestValidationError) as caught:
        create(mode, client_options, invalid_body())
    error = caught.value
    assert isinstance(error, ValueError)
    assert {(field.path, field.rule) for field in error.errors} == INVALID_PATHS
    assert all(field.message for field in error.errors)
    assert "nothing was sent" in str(error)
    for path, _ in INVALID_PATHS:
        assert f"{path}:" in str(error)
    assert sent == []
    assert service_count(live) == before


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["call", "client"])
def test_skip_validation_lets_the_server_judge(mode: str, where: str, live: LiveSandbox) -> None:
    """The server names the same failing fields as the client would have."""
    sent: list[httpx.Request] = []
    client_options = options(live, http_client=recording_http(mode, sent))
    call: dict[str, Any] = {}
    if where == "call":
        call["skip_validation"] = True
    else:
        client_options["skip_validation"] = True
    body = invalid_body()
    with pytest.raises(BadRequestError) as caught:
        create(mode, client_options, body, **call)
    error = caught.value
    assert error.status_code == 400
    assert {(field["path"], field["rule"]) for field in error.details["fields"]} == INVALID_PATHS
    assert len(sent) == 1
    assert json.loads(sent[0].content) == body


@pytest.mark.parametrize("mode", MODES)
def test_skip_validation_false_per_call_overrides_the_client(mode: str, live: LiveSandbox) -> None:
    client_options = options(live, skip_validation=True)
    with pytest.raises(RequestValidationError):
        create(mode, client_options, invalid_body(), skip_validation=False)


@pytest.mark.parametrize("mode", MODES)
def test_a_model_instance_is_sent_as_its_json(mode: str, live: LiveSandbox) -> None:
    body = unique_body()
    model = CreateBuildServiceRequest.model_validate(body)
    service = create(mode, options(live), model)
    assert service.name == body["name"]
    assert service.build_files == model.build_files


@pytest.mark.parametrize("mode", MODES)
def test_a_mapping_may_hold_models(mode: str, live: LiveSandbox) -> None:
    body = unique_body()
    body["billing"] = Billing(build_plan="nf-compute-20")
    service = create(mode, options(live), body)
    assert service.billing.model_dump() == {"buildPlan": "nf-compute-20"}


@pytest.mark.parametrize("mode", MODES)
def test_raw_response(mode: str, live: LiveSandbox) -> None:
    body = unique_body()
    raw = create_raw(mode, options(live), body)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-request-id"]
    assert isinstance(raw.http_response, httpx.Response)
    assert raw.content == raw.http_response.content
    data = json.loads(raw.content)["data"]
    service = raw.parse()
    assert isinstance(service, BuildService)
    assert service.id == data["id"] == derive_service_id(body["name"])
    assert service.model_dump(mode="json") == data


def test_with_options_is_a_copy_sharing_the_pool(live: LiveSandbox) -> None:
    sent: list[httpx.Request] = []
    http = recording_http("sync", sent)
    with Client(**options(live, http_client=http)) as client:
        anonymous = client.with_options(token=None, max_retries=1, timeout=7.0)
        assert anonymous is not client
        assert isinstance(anonymous, Client)
        assert anonymous._http is client._http is http
        assert (anonymous.options.token, anonymous.options.max_retries) == (None, 1)
        assert anonymous.options.timeout == httpx.Timeout(7.0)
        assert client.options.token == live.admin_token
        assert client.options.max_retries == 0
        assert client.options.timeout != httpx.Timeout(7.0)
        with pytest.raises(AuthenticationError):
            anonymous.create.service.build(project_id=PROJECT, data=unique_body())
        client.create.service.build(project_id=PROJECT, data=unique_body())
        assert [request.headers.get("authorization") for request in sent] == [
            None,
            f"Bearer {live.admin_token}",
        ]
        with pytest.raises(TypeError, match="unknown client options: colour"):
            client.with_options(colour="blue")
        assert client.with_options(base_url="https://other.test/").options.base_url == (
            "https://other.test"
        )
    assert http.is_closed


def test_async_with_options_is_a_copy_sharing_the_pool(live: LiveSandbox) -> None:
    sent: list[httpx.Request] = []
    http = recording_http("async", sent)

    async def run() -> None:
        async with AsyncClient(**options(live, http_client=http)) as client:
            anonymous = client.with_options(token=None)
            assert isinstance(anonymous, AsyncClient)
            assert anonymous._http is client._http is http
            assert client.options.token == live.admin_token
            with pytest.raises(AuthenticationError):
                await anonymous.create.service.build(project_id=PROJECT, data=unique_body())
            await client.create.service.build(project_id=PROJECT, data=unique_body())

    run_bounded(run, ASYNC_SECONDS)
    assert len(sent) == 2
    assert http.is_closed


def test_the_token_is_never_logged(live: LiveSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="northflank_build")
    url = f"{live.url}/v1/projects/{PROJECT}/services/build"
    with Client(**options(live)) as client:
        client.create.service.build(project_id=PROJECT, data=unique_body())
        body = unique_body()
        client.create.service.build(project_id=PROJECT, data=body)
        with pytest.raises(ConflictError):
            client.create.service.build(project_id=PROJECT, data=body)
        with pytest.raises(RequestValidationError):
            client.create.service.build(project_id=PROJECT, data=invalid_body())
    records = [r for r in caplog.records if r.name.startswith("northflank_build")]
    messages = [record.getMessage() for record in records]
    assert any(m.startswith(f"POST {url} attempt 1") for m in messages), messages
    assert any(m.startswith(f"POST {url} -> 200") for m in messages), messages
    assert any(m.startswith(f"POST {url} -> 409") for m in messages), messages
    assert any("<redacted>" in m for m in messages), messages
    for record in caplog.records:
        assert live.admin_token not in record.getMessage()
        assert live.admin_token not in repr(vars(record))
    assert live.admin_token not in caplog.text


# --- On the wire ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_standard_headers(mode: str) -> None:
    sent: list[httpx.Request] = []
    create(mode, mock_options(mode, answer_created(sent)), unique_body())
    (request,) = sent
    assert request.method == "POST"
    assert str(request.url) == f"https://api.test/v1/projects/{PROJECT}/services/build"
    assert request.headers.get_list("user-agent") == [USER_AGENT]
    assert request.headers.get_list("authorization") == ["Bearer test-token-0123456789"]
    assert request.headers.get_list("content-type") == ["application/json"]
    assert request.headers.get_list("accept") == ["application/json"]


@pytest.mark.parametrize("mode", MODES)
def test_default_and_extra_headers_reach_the_server(mode: str) -> None:
    sent: list[httpx.Request] = []
    client_options = mock_options(
        mode,
        answer_created(sent),
        default_headers={"X-Team": "builds", "X-Layer": "client"},
    )
    create(mode, client_options, unique_body(), extra_headers={"X-Trace": "t-1", "x-layer": "call"})
    (request,) = sent
    assert request.headers.get_list("x-team") == ["builds"]
    assert request.headers.get_list("x-trace") == ["t-1"]
    assert request.headers.get_list("x-layer") == ["call"]
    assert request.headers.get_list("user-agent") == [USER_AGENT]


@pytest.mark.parametrize("mode", MODES)
def test_a_header_is_replaced_whatever_its_case(mode: str) -> None:
    """Header names are case-insensitive: an override replaces, never duplicates."""
    sent: list[httpx.Request] = []
    client_options = mock_options(
        mode, answer_created(sent), default_headers={"user-agent": "my-tool/2"}
    )
    create(
        mode,
        client_options,
        unique_body(),
        extra_headers={"accept": "application/json; q=1", "authorization": "Bearer other-token"},
    )
    (request,) = sent
    assert request.headers.get_list("user-agent") == ["my-tool/2"]
    assert request.headers.get_list("accept") == ["application/json; q=1"]
    assert request.headers.get_list("authorization") == ["Bearer other-token"]
    assert request.headers.get_list("content-type") == ["application/json"]


@pytest.mark.parametrize("mode", MODES)
def test_the_body_is_the_users_json(mode: str) -> None:
    """Keys in the caller's order and spelling, nothing added, no nulls, UTF-8."""
    body = dict(reversed(list(unique_body().items())))
    body["buildArguments"] = {"Z_LAST": "Café ☕", "A_FIRST": "x"}
    sent: list[httpx.Request] = []
    create(mode, mock_options(mode, answer_created(sent)), body)
    (request,) = sent
    expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert request.content == expected
    assert request.headers["content-length"] == str(len(expected))
    assert list(json.loads(request.content)) == list(body)
    assert b"null" not in request.content


@pytest.mark.parametrize("mode", MODES)
def test_a_model_body_has_no_nulls_and_spec_keys(mode: str) -> None:
    body = unique_body()
    model = CreateBuildServiceRequest.model_validate(body)
    sent: list[httpx.Request] = []
    create(mode, mock_options(mode, answer_created(sent)), model)
    (request,) = sent
    assert json.loads(request.content) == body
    assert list(json.loads(request.content)) == list(body)
    assert b"null" not in request.content
    assert b"build_settings" not in request.content


@pytest.mark.parametrize("mode", MODES)
def test_the_project_id_is_one_path_segment(mode: str) -> None:
    sent: list[httpx.Request] = []
    create(mode, mock_options(mode, answer_created(sent)), unique_body(), project_id="a/b c?d")
    (request,) = sent
    assert request.url.raw_path == b"/v1/projects/a%2Fb%20c%3Fd/services/build"


@pytest.mark.parametrize("mode", MODES)
def test_the_wrong_data_type_is_refused(mode: str) -> None:
    sent: list[httpx.Request] = []
    with pytest.raises(TypeError, match="CreateBuildServiceRequest"):
        create(mode, mock_options(mode, answer_created(sent)), [unique_body()])
    with pytest.raises(TypeError, match="CreateBuildServiceRequest"):
        create(mode, mock_options(mode, answer_created(sent)), Billing(build_plan="nf-compute-20"))
    assert sent == []


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, APIStatusError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
def test_each_status_has_its_error(status: int, error_type: type[APIStatusError]) -> None:
    envelope = {
        "error": {"status": status, "message": "It went wrong", "id": "req-1", "details": {"k": 1}}
    }

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=envelope, headers={"X-Request-Id": "req-1"})

    with pytest.raises(error_type) as caught:
        create("sync", mock_options("sync", handle), unique_body())
    error = caught.value
    assert type(error) is error_type
    assert error.status_code == status
    assert error.error_message == "It went wrong"
    assert str(error) == f"{status}: It went wrong"
    assert error.error_id == "req-1"
    assert error.details == {"k": 1}
    assert error.response.status_code == status


def test_an_error_without_the_envelope_keeps_the_reason() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="not here", headers={"content-type": "text/plain"})

    with pytest.raises(NotFoundError) as caught:
        create("sync", mock_options("sync", handle), unique_body())
    assert caught.value.error_message == "Not Found"
    assert caught.value.error_id is None
    assert caught.value.details == {}


def test_an_empty_project_id_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))
    )
    client = Client(token="t", base_url="http://api.invalid", http_client=http)
    with pytest.raises(ValueError, match="non-empty"):
        client.create.service.build(project_id="", data=example("request", "dockerfileBuild"))
    assert sent == []


def test_the_http_clients_own_headers_and_params_apply() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=example("200", "dockerfileBuild"))

    http = httpx.Client(
        transport=httpx.MockTransport(handler), headers={"X-Proxy-Tag": "a"}, params={"trace": "1"}
    )
    client = Client(token="t", base_url="http://api.invalid", http_client=http)
    client.create.service.build(project_id="p", data=example("request", "dockerfileBuild"))
    (request,) = sent
    assert request.headers["x-proxy-tag"] == "a"
    assert request.url.params["trace"] == "1"
    assert request.headers["authorization"] == "Bearer t"


def test_changes_to_the_http_clients_headers_and_cookies_apply_to_the_next_call() -> None:
    """The merged headers are kept between calls only while the HTTP client's stay the
    same; a cookie or a changed option takes its own way through as well."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=example("200", "dockerfileBuild"))

    http = httpx.Client(transport=httpx.MockTransport(handler), headers={"X-Proxy-Tag": "a"})
    client = Client(token="t", base_url="http://api.invalid", http_client=http)
    body = example("request", "dockerfileBuild")
    client.create.service.build(project_id="p", data=body)
    http.headers["X-Proxy-Tag"] = "b"
    client.create.service.build(project_id="p", data=body)
    http.cookies.set("session", "c1")
    client.create.service.build(project_id="p", data=body)
    other = client.with_options(token="u", default_headers={"X-Team": "build"})
    other.create.service.build(project_id="p", data=body)
    client.create.service.build(project_id="p", data=body, extra_headers={"X-Proxy-Tag": "d"})
    tags = [r.headers["x-proxy-tag"] for r in sent]
    assert tags == ["a", "b", "b", "b", "d"]
    assert [r.headers.get("cookie") for r in sent] == [None, None] + ["session=c1"] * 3
    assert [r.headers["authorization"] for r in sent] == ["Bearer t"] * 3 + ["Bearer u", "Bearer t"]
    assert [r.headers.get("x-team") for r in sent] == [None, None, None, "build", None]
    assert {r.headers["content-type"] for r in sent} == {"application/json"}


def test_a_lone_surrogate_in_a_model_is_named() -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))
    )
    client = Client(token="t", base_url="http://api.invalid", http_client=http)
    model = CreateBuildServiceRequest.model_validate(example("request", "dockerfileBuild"))
    model.description = "\ud800"
    with pytest.raises(RequestValidationError) as caught:
        client.create.service.build(project_id="p", data=model)
    assert [e.path for e in caught.value.errors] == ["$.description"]
    assert sent == []


# --- Forward-compatible responses ---------------------------------------------------


def answer_with_unknown_fields(request: httpx.Request) -> httpx.Response:
    """The spec's 200 example with a key the spec does not know at two levels."""
    body = example("200", "dockerfileBuild")
    body["servedBy"] = "edge-1"
    body["data"]["futureField"] = {"any": ["json"]}
    return httpx.Response(200, json=body)


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_response_field_is_kept_not_refused(mode: str) -> None:
    service = create(mode, mock_options(mode, answer_with_unknown_fields), unique_body())
    expected = BuildService.model_validate(example("200", "dockerfileBuild")["data"])
    assert service.id == expected.id
    assert service.model_extra == {"futureField": {"any": ["json"]}}
    assert service.model_dump(mode="json") == expected.model_dump(mode="json")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["client", "with_options"])
def test_strict_response_validation_refuses_unknown_fields(mode: str, where: str) -> None:
    client_options = mock_options(mode, answer_with_unknown_fields)
    if where == "client":
        client_options["strict_response_validation"] = True
        with pytest.raises(APIResponseValidationError, match="futureField"):
            create(mode, client_options, unique_body())
    else:
        with pytest.raises(APIResponseValidationError, match="futureField"):
            create_with_options(
                mode, client_options, unique_body(), strict_response_validation=True
            )


def create_with_options(
    mode: str, client_options: dict[str, Any], data: Any, **changes: Any
) -> BuildService:
    """``client.with_options(**changes).create.service.build(...)``, sync or async."""
    if mode == "sync":
        with Client(**client_options) as client:
            return client.with_options(**changes).create.service.build(
                project_id=PROJECT, data=data
            )

    async def run() -> BuildService:
        async with AsyncClient(**client_options) as client:
            return await client.with_options(**changes).create.service.build(
                project_id=PROJECT, data=data
            )

    return run_bounded(run, ASYNC_SECONDS)


@pytest.mark.parametrize("mode", MODES)
def test_unknown_request_fields_are_still_refused(mode: str) -> None:
    sent: list[httpx.Request] = []
    client_options = mock_options(mode, answer_created(sent), strict_response_validation=False)
    with pytest.raises(RequestValidationError, match="futureField"):
        create(mode, client_options, {**unique_body(), "futureField": 1})
    assert sent == []


@pytest.mark.parametrize("mode", MODES)
def test_request_id_on_results(mode: str, live: LiveSandbox) -> None:
    """A successful call's ``X-Request-Id`` is on its result and on each page, as
    ``_request_id``; it is not a field: dumps and equality ignore it."""
    created = create(mode, options(live), unique_body())
    assert isinstance(created._request_id, str)
    assert created._request_id
    assert "_request_id" not in created.model_dump()
    assert created == BuildService.model_validate(created.model_dump(mode="json"))
    if mode == "sync":
        with Client(**options(live)) as client:
            page = client.list.services(project_id=PROJECT, per_page=1)
            fetched = client.get.service(project_id=PROJECT, service_id=created.id)
    else:

        async def run() -> tuple[Any, Any]:
            async with AsyncClient(**options(live)) as client:
                first = await client.list.services(project_id=PROJECT, per_page=1)
                one = await client.get.service(project_id=PROJECT, service_id=created.id)
                return first, one

        page, fetched = run_bounded(run, ASYNC_SECONDS)
    assert page._request_id
    assert page._request_id != created._request_id
    assert fetched._request_id not in {None, created._request_id, page._request_id}
