"""The clients against a hostile server over real HTTP: each misbehaviour ends in a clear
error, in bounded time and memory, and the token is never shown.

Wall-clock and memory figures here are generous sanity bounds, not measurements.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from northflank_build import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    Client,
    RequestValidationError,
    ResponseTooLargeError,
)

from tests.hostile_server import ESCAPES, HostileServer
from tests.live_sandbox import run_bounded
from tests.spec_data import example

MODES = ("sync", "async")
TOKEN = "nfsb_hardening0123456789abcdef"
ASYNC_SECONDS = 60.0


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NORTHFLANK_API_TOKEN", "NORTHFLANK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def get_service(mode: str, base_url: str, **settings: Any) -> Any:
    """One `get.service` through a fresh client of ``mode``; no retries unless asked."""
    options: dict[str, Any] = {"token": TOKEN, "base_url": base_url, "max_retries": 0, **settings}
    if mode == "sync":
        with Client(**options) as client:
            return client.get.service(project_id="p", service_id="s")

    async def run() -> Any:
        async with AsyncClient(**options) as client:
            return await client.get.service(project_id="p", service_id="s")

    return run_bounded(run, ASYNC_SECONDS)


def create(mode: str, base_url: str, data: Any, **settings: Any) -> Any:
    options: dict[str, Any] = {"token": TOKEN, "base_url": base_url, "max_retries": 0, **settings}
    if mode == "sync":
        with Client(**options) as client:
            return client.create.service.build(project_id="p", data=data)

    async def run() -> Any:
        async with AsyncClient(**options) as client:
            return await client.create.service.build(project_id="p", data=data)

    return run_bounded(run, ASYNC_SECONDS)


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[BaseException, float]:
    """The exception ``function`` raises and the seconds it took to raise it."""
    started = time.monotonic()
    try:
        function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the caller judges which
        return error, time.monotonic() - started
    raise AssertionError("no exception was raised")


def every_message(error: BaseException) -> str:
    """The error's text, its repr and those of every exception it was chained to."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(getattr(seen, "request", None))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


# --- The token --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\r", "\n", " ", "\x00", "é", "\u202e"])
def test_token_with_a_bad_character_is_refused_when_set(bad: str) -> None:
    token = TOKEN + bad
    for build in (
        lambda: Client(token=token),
        lambda: AsyncClient(token=token),
        lambda: Client(token=TOKEN).with_options(token=token),
    ):
        with pytest.raises(ValueError, match=r"token has .* at position 31 of 31") as caught:
            build()
        assert TOKEN not in every_message(caught.value)


def test_token_from_the_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", TOKEN + "\r")
    with pytest.raises(ValueError, match="NORTHFLANK_API_TOKEN has a carriage return") as caught:
        Client()
    assert TOKEN not in every_message(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_token_never_in_a_message(mode: str, hostile: HostileServer) -> None:
    client = Client(token=TOKEN, base_url=hostile.url)
    assert TOKEN not in repr(client) + repr(client.options) + repr(client.with_options())
    with pytest.raises(ValueError, match="header authorization has a carriage return") as caught:
        get_service(mode, hostile.url, default_headers={"Authorization": f"Bearer {TOKEN}\r"})
    assert TOKEN not in every_message(caught.value)
    raw = client.with_raw_response.get.service(project_id="p", service_id="s")
    assert TOKEN not in repr(raw.http_response.request.headers)
    with pytest.raises(APIConnectionError) as refused:
        get_service(mode, "http://127.0.0.1:9")
    assert TOKEN not in every_message(refused.value)


@pytest.mark.parametrize("mode", MODES)
def test_token_arrives_as_bearer(mode: str, hostile: HostileServer) -> None:
    hostile.requests.clear()
    with pytest.raises(APIResponseValidationError):
        get_service(mode, hostile.url_for("echo-auth"))
    assert hostile.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


# --- Settings ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com", "no scheme"])
def test_base_url_that_cannot_be_parsed_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client(base_url=url)
    with pytest.raises(ValueError, match="base_url"):
        AsyncClient(base_url=url)
    with pytest.raises(ValueError, match="base_url"):
        Client().with_options(base_url=url)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_response_bytes", 0),
        ("max_response_bytes", 1.5),
        ("retry_initial_delay", -1),
        ("retry_max_delay", float("inf")),
        ("retry_initial_delay", "1"),
    ],
)
def test_bad_settings_are_refused_by_name(setting: str, value: object) -> None:
    with pytest.raises(ValueError, match=setting):
        Client(**{setting: value})
    with pytest.raises(ValueError, match=setting):
        Client().with_options(**{setting: value})


def test_retry_initial_delay_above_max_is_refused() -> None:
    with pytest.raises(ValueError, match=r"retry_initial_delay .* retry_max_delay"):
        Client(retry_initial_delay=5, retry_max_delay=1)


@pytest.mark.parametrize("mode", MODES)
def test_retry_delays_can_be_set(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("northflank_build._client_base.time.sleep", slept.append)
    monkeypatch.setattr("northflank_build._client_base.asyncio.sleep", async_sleep)
    monkeypatch.setattr("northflank_build._client_base.random.random", lambda: 0.0)

    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"status": 503, "message": "busy"}})

    transport = httpx.MockTransport(unavailable)
    settings: dict[str, Any] = {"base_url": "https://api.test", "max_retries": 4}
    if mode == "sync":
        client = Client(http_client=httpx.Client(transport=transport), **settings)
        client = client.with_options(retry_initial_delay=0.1, retry_max_delay=0.3)
        with pytest.raises(APIStatusError):
            client.get.service(project_id="p", service_id="s")
    else:

        async def run() -> None:
            http = httpx.AsyncClient(transport=transport)
            async with AsyncClient(
                http_client=http, retry_initial_delay=0.1, retry_max_delay=0.3, **settings
            ) as client:
                await client.get.service(project_id="p", service_id="s")

        with pytest.raises(APIStatusError):
            run_bounded(run, ASYNC_SECONDS)
    assert slept == pytest.approx([0.1, 0.2, 0.3, 0.3])


@pytest.mark.parametrize("mode", MODES)
def test_with_options_http_client(mode: str, hostile: HostileServer) -> None:
    hostile.requests.clear()
    marker = {"X-From-Own-Client": "yes"}
    if mode == "sync":
        with Client(token=TOKEN, base_url=hostile.url, max_retries=0) as client:
            own = client.with_options(http_client=httpx.Client(headers=marker))
            with pytest.raises(APIResponseValidationError):
                own.get.service(project_id="p", service_id="s")
            with pytest.raises(TypeError, match=r"http_client must be an httpx\.Client"):
                client.with_options(http_client=httpx.AsyncClient())
    else:

        async def run() -> None:
            async with AsyncClient(token=TOKEN, base_url=hostile.url, max_retries=0) as client:
                own = client.with_options(http_client=httpx.AsyncClient(headers=marker))
                with pytest.raises(APIResponseValidationError):
                    await own.get.service(project_id="p", service_id="s")
                with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
                    client.with_options(http_client=httpx.Client())

        run_bounded(run, ASYNC_SECONDS)
    assert hostile.requests[-1].headers["x-from-own-client"] == "yes"


# --- Bounded reads ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_max_response_bytes_stops_an_endless_body(mode: str, hostile: HostileServer) -> None:
    tracemalloc.start()
    try:
        error, seconds = timed(get_service, mode, hostile.url_for("endless"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLargeError)
    assert "max_response_bytes (33554432 bytes)" in str(error)
    assert error.limit == 32 * 1024 * 1024
    assert peak < 200 * 1024 * 1024
    assert seconds < 30


@pytest.mark.parametrize("mode", MODES)
def test_max_response_bytes_refuses_a_huge_body_by_its_length(
    mode: str, hostile: HostileServer
) -> None:
    error, seconds = timed(get_service, mode, hostile.url_for("huge", mb=300))
    assert isinstance(error, ResponseTooLargeError)
    assert error.response.status_code == 200
    assert error.response.content == b""
    assert seconds < 10


@pytest.mark.parametrize("mode", MODES)
def test_max_response_bytes_can_be_lowered(mode: str, hostile: HostileServer) -> None:
    error, _ = timed(get_service, mode, hostile.url_for("huge", mb=1), max_response_bytes=1000)
    assert isinstance(error, ResponseTooLargeError)
    assert "(1000 bytes)" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_max_response_bytes_admits_a_body_within_it(mode: str, hostile: HostileServer) -> None:
    # 1 MiB is read whole and parsed: the error is the spec's, not the size's.
    error, _ = timed(get_service, mode, hostile.url_for("huge", mb=1))
    assert type(error) is APIResponseValidationError


# --- Deadlines --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("behaviour", ["trickle", "trickle-headers"])
def test_timeout_is_a_total_deadline(mode: str, behaviour: str, hostile: HostileServer) -> None:
    error, seconds = timed(get_service, mode, hostile.url_for(behaviour), timeout=1)
    assert isinstance(error, APITimeoutError)
    assert "1 s per attempt" in str(error)
    assert seconds < 10


def test_timeout_is_a_total_deadline_with_the_callers_http_client(
    hostile: HostileServer,
) -> None:
    http_client = httpx.Client(event_hooks={"request": [], "response": []})
    error, seconds = timed(
        get_service, "sync", hostile.url_for("trickle-headers"), timeout=1, http_client=http_client
    )
    assert isinstance(error, APITimeoutError)
    assert seconds < 10


# --- Hostile bodies ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", ["error", "list", "object"])
def test_deeply_nested_error_body(mode: str, shape: str, hostile: HostileServer) -> None:
    error, _ = timed(get_service, mode, hostile.url_for("deep", depth=100_000, shape=shape))
    assert isinstance(error, BadRequestError)
    assert error.error_message in {"deep", "Bad Request"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", ["error", "list", "object"])
def test_deeply_nested_success_body(mode: str, shape: str, hostile: HostileServer) -> None:
    url = hostile.url_for("deep", depth=100_000, shape=shape, status=200)
    error, _ = timed(get_service, mode, url)
    assert type(error) is APIResponseValidationError


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400])
def test_invalid_utf8_body(mode: str, status: int, hostile: HostileServer) -> None:
    error, _ = timed(get_service, mode, hostile.url_for("bad-utf8", status=status))
    assert isinstance(error, APIResponseValidationError if status == 200 else BadRequestError)


@pytest.mark.parametrize("mode", MODES)
def test_escapes_are_kept_as_data(mode: str, hostile: HostileServer) -> None:
    error, _ = timed(get_service, mode, hostile.url_for("escapes"))
    assert isinstance(error, BadRequestError)
    assert error.error_message == f"bad{ESCAPES}request"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("skip", [False, True])
def test_lone_surrogate_in_data(mode: str, skip: bool, hostile: HostileServer) -> None:
    data = example("request", "dockerfileBuild")
    data["description"] = "\ud800"
    hostile.requests.clear()
    error, _ = timed(create, mode, hostile.url, data, skip_validation=skip)
    assert isinstance(error, RequestValidationError)
    assert [e.path for e in error.errors] == ["$.description"]
    assert hostile.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_lone_surrogate_in_a_parameter(mode: str, hostile: HostileServer) -> None:
    def call() -> None:
        if mode == "sync":
            Client(base_url=hostile.url, skip_validation=True).get.service(
                project_id="p\udfff", service_id="s"
            )
            return

        async def run() -> None:
            client = AsyncClient(base_url=hostile.url, skip_validation=True)
            await client.get.service(project_id="p\udfff", service_id="s")

        run_bounded(run, ASYNC_SECONDS)

    with pytest.raises(RequestValidationError, match=r"\$\.projectId"):
        call()
