"""Retries, timeouts and broken answers, through `httpx.MockTransport` and tiny real sockets.

The runtime sleeps with ``time.sleep`` (sync) and ``asyncio.sleep`` (async);
the `delays` fixture replaces both with a recorder, so no test waits except
the one that measures a real ``Retry-After: 1``.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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
    BuildService,
    Client,
    ConflictError,
    InternalServerError,
    RateLimitError,
)

from tests.live_sandbox import run_bounded
from tests.spec_data import example

PROJECT = "default-project"
ASYNC_SECONDS = 30.0
MODES = ("sync", "async")
Step = httpx.Response | Exception
"""What the server does for one attempt: answer, or fail the way httpx would."""


# --- Helpers ----------------------------------------------------------------------


class Script:
    """A mock server: one step per attempt, in order, the last one repeated; records requests."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    @property
    def attempts(self) -> int:
        return len(self.requests)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)


def created() -> httpx.Response:
    return httpx.Response(200, json=example("200", "dockerfileBuild"))


def status(code: int, **headers: str) -> httpx.Response:
    envelope = {"error": {"status": code, "message": f"status {code}", "id": f"req-{code}"}}
    return httpx.Response(code, json=envelope, headers={"X-Request-Id": f"req-{code}", **headers})


def body() -> dict[str, Any]:
    request: dict[str, Any] = example("request", "dockerfileBuild")
    return request


class Delays(list[float]):
    """Every delay slept between attempts, in order; ``blocking`` holds the ``time.sleep`` ones."""

    def __init__(self) -> None:
        super().__init__()
        self.blocking: list[float] = []


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> Delays:
    """Record the runtime's sleeps (sync and async) instead of waiting."""
    recorded = Delays()

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        recorded.blocking.append(seconds)

    async def async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr("northflank_build._client_base.time.sleep", sleep)
    monkeypatch.setattr("northflank_build._client_base.asyncio.sleep", async_sleep)
    return recorded


def call(
    script: Callable[[httpx.Request], httpx.Response],
    *,
    mode: str = "sync",
    max_retries: int = 2,
    **client: Any,
) -> BuildService:
    """One create through a client whose transport is ``script``."""
    transport = httpx.MockTransport(script)
    settings: dict[str, Any] = {
        "token": "test-token-0123456789",
        "base_url": "https://api.test",
        "max_retries": max_retries,
        **client,
    }
    if mode == "sync":
        with Client(http_client=httpx.Client(transport=transport), **settings) as sync_client:
            return sync_client.create.service.build(project_id=PROJECT, data=body())

    async def run() -> BuildService:
        http = httpx.AsyncClient(transport=transport)
        async with AsyncClient(http_client=http, **settings) as async_client:
            return await async_client.create.service.build(project_id=PROJECT, data=body())

    return run_bounded(run, ASYNC_SECONDS)


def call_url(mode: str, base_url: str, *, max_retries: int, **per_call: Any) -> BuildService:
    """One create over real sockets to ``base_url``."""
    settings: dict[str, Any] = {
        "token": "test-token-0123456789",
        "base_url": base_url,
        "max_retries": max_retries,
    }
    if mode == "sync":
        with Client(**settings) as sync_client:
            return sync_client.create.service.build(project_id=PROJECT, data=body(), **per_call)

    async def run() -> BuildService:
        async with AsyncClient(**settings) as async_client:
            service = async_client.create.service
            return await service.build(project_id=PROJECT, data=body(), **per_call)

    return run_bounded(run, ASYNC_SECONDS)


def backoff_bounds(attempt: int) -> tuple[float, float]:
    """The jittered backoff before retry ``attempt + 1``: 0.5 s doubling to 8 s, minus 0-25 %."""
    ceiling = min(0.5 * 2**attempt, 8.0)
    return 0.75 * ceiling, ceiling


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    server = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


# --- Retried, then successful -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_two_503s_then_success(mode: str, delays: Delays) -> None:
    script = Script(status(503), status(503), created())
    service = call(script, mode=mode)
    assert service.id == "example-service"
    assert script.attempts == 3
    assert len(delays) == 2
    for attempt, delay in enumerate(delays):
        low, high = backoff_bounds(attempt)
        assert low <= delay <= high
    first = script.requests[0]
    assert all(r.content == first.content for r in script.requests)
    assert all(r.headers == first.headers for r in script.requests)


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_each_retryable_status_is_retried(code: int, delays: Delays) -> None:
    script = Script(status(code), created())
    call(script)
    assert script.attempts == 2


@pytest.mark.parametrize("mode", MODES)
def test_connection_errors_are_retried(mode: str, delays: Delays) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.RemoteProtocolError("reset"), created())
    call(script, mode=mode)
    assert script.attempts == 3
    assert len(delays) == 2


def test_retry_after_seconds_is_waited_for() -> None:
    """The one real wait of these tests: ``Retry-After: 1`` between two attempts."""
    script = Script(status(429, **{"Retry-After": "1"}), created())
    started = time.monotonic()
    call(script)
    elapsed = time.monotonic() - started
    assert script.attempts == 2
    assert 0.9 <= elapsed <= 3.0


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_seconds_replaces_the_backoff(mode: str, delays: Delays) -> None:
    script = Script(
        status(503, **{"Retry-After": "1.5"}), status(429, **{"Retry-After": "0"}), created()
    )
    call(script, mode=mode)
    assert delays == [1.5, 0.0]


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_as_an_http_date(mode: str, delays: Delays) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    earlier = email.utils.format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    script = Script(
        status(503, **{"Retry-After": later}), status(503, **{"Retry-After": earlier}), created()
    )
    call(script, mode=mode)
    assert len(delays) == 2
    assert 28.0 <= delays[0] <= 30.0
    assert delays[1] == 0.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", ["3600", "1e9", "http-date"])
def test_a_huge_retry_after_is_capped(mode: str, value: str, delays: Delays) -> None:
    if value == "http-date":
        value = email.utils.format_datetime(datetime.now(UTC) + timedelta(days=2), usegmt=True)
    script = Script(status(429, **{"Retry-After": value}), created())
    call(script, mode=mode)
    assert delays == [60.0]


def test_a_negative_retry_after_means_at_once(delays: Delays) -> None:
    call(Script(status(503, **{"Retry-After": "-5"}), created()))
    assert delays == [0.0]


@pytest.mark.parametrize("value", ["nan", "inf", "soon", "Mon, 99 Foo 2026"])
def test_an_unusable_retry_after_falls_back_to_backoff(value: str, delays: Delays) -> None:
    script = Script(status(503, **{"Retry-After": value}), created())
    call(script)
    low, high = backoff_bounds(0)
    assert low <= delays[0] <= high


def test_backoff_doubles_up_to_its_cap(delays: Delays) -> None:
    script = Script(status(503))
    with pytest.raises(InternalServerError):
        call(script, max_retries=7)
    assert script.attempts == 8
    assert len(delays) == 7
    for attempt, delay in enumerate(delays):
        low, high = backoff_bounds(attempt)
        assert low <= delay <= high, (attempt, delays)
    assert delays[-1] >= 6.0  # capped at 8 s, jitter takes at most a quarter


def test_backoff_without_jitter(delays: Delays, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("northflank_build._client_base.random.random", lambda: 0.0)
    with pytest.raises(InternalServerError):
        call(Script(status(500)), max_retries=6)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# --- Not retried, or retried and failed ----------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_other_errors_are_not_retried(mode: str, code: int, delays: Delays) -> None:
    script = Script(status(code), created())
    with pytest.raises(APIStatusError) as caught:
        call(script, mode=mode)
    assert caught.value.status_code == code
    assert caught.value.after_retry is False
    assert script.attempts == 1
    assert delays == []


def test_a_400_is_a_bad_request_at_once(delays: Delays) -> None:
    script = Script(status(400))
    with pytest.raises(BadRequestError):
        call(script)
    assert script.attempts == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_conflict_after_a_retry_says_so(mode: str, delays: Delays) -> None:
    script = Script(status(503), status(409))
    with pytest.raises(ConflictError) as caught:
        call(script, mode=mode)
    assert caught.value.after_retry is True
    assert caught.value.error_id == "req-409"
    assert script.attempts == 2


@pytest.mark.parametrize("mode", MODES)
def test_too_many_requests_after_every_retry(mode: str, delays: Delays) -> None:
    script = Script(status(429, **{"Retry-After": "2"}))
    with pytest.raises(RateLimitError) as caught:
        call(script, mode=mode)
    assert caught.value.after_retry is True
    assert script.attempts == 3
    assert delays == [2.0, 2.0]


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_error_after_every_retry(mode: str, delays: Delays) -> None:
    cause = httpx.ConnectError("connection refused")
    script = Script(cause)
    with pytest.raises(APIConnectionError) as caught:
        call(script, mode=mode)
    assert type(caught.value) is APIConnectionError
    assert caught.value.__cause__ is cause
    assert "connection refused" in str(caught.value)
    assert caught.value.request is not None
    assert script.attempts == 3
    assert len(delays) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_connection_for_real(mode: str, closed_port: int, delays: Delays) -> None:
    with pytest.raises(APIConnectionError) as caught:
        call_url(mode, f"http://127.0.0.1:{closed_port}", max_retries=1)
    assert not isinstance(caught.value, APITimeoutError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(delays) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_timeout_after_every_retry(mode: str, delays: Delays) -> None:
    cause = httpx.ReadTimeout("timed out")
    script = Script(cause)
    with pytest.raises(APITimeoutError) as caught:
        call(script, mode=mode)
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.__cause__ is cause
    assert script.attempts == 3
    assert len(delays) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_silent_server_times_out(mode: str, silent_port: int, delays: Delays) -> None:
    """A real socket that never answers: the per-call timeout ends each attempt."""
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        call_url(mode, f"http://127.0.0.1:{silent_port}", max_retries=1, timeout=0.2)
    elapsed = time.monotonic() - started
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(delays) == 1
    assert 0.35 <= elapsed <= 5.0


@pytest.mark.parametrize("mode", MODES)
def test_no_retries_means_one_attempt(mode: str, delays: Delays) -> None:
    script = Script(status(503), created())
    with pytest.raises(InternalServerError) as caught:
        call(script, mode=mode, max_retries=0)
    assert caught.value.after_retry is False
    assert script.attempts == 1
    assert delays == []


def test_with_options_turns_retries_off(delays: Delays) -> None:
    script = Script(status(503), created())
    http = httpx.Client(transport=httpx.MockTransport(script))
    with Client(token="test-token-0123456789", base_url="https://api.test", http_client=http) as c:
        with pytest.raises(InternalServerError):
            c.with_options(max_retries=0).create.service.build(project_id=PROJECT, data=body())
        assert script.attempts == 1
        c.create.service.build(project_id=PROJECT, data=body())
        assert script.attempts == 2


def test_a_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Client(token="test-token-0123456789", max_retries=-1)


# --- Broken answers ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "content",
    [
        b'{"data": {"name": "Example Service"}}',
        b'{"data": null}',
        b"[]",
        b"<html>ok</html>",
        b"",
    ],
)
def test_a_success_that_breaks_the_spec(mode: str, content: bytes, delays: Delays) -> None:
    script = Script(httpx.Response(200, content=content))
    with pytest.raises(APIResponseValidationError) as caught:
        call(script, mode=mode)
    assert caught.value.response.status_code == 200
    assert caught.value.response.content == content
    assert caught.value.request is not None
    assert "does not match the spec" in str(caught.value)
    assert script.attempts == 1


@pytest.mark.parametrize("mode", MODES)
def test_an_html_502_is_an_internal_server_error(mode: str, delays: Delays) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    script = Script(httpx.Response(502, content=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(InternalServerError) as caught:
        call(script, mode=mode)
    error = caught.value
    assert error.status_code == 502
    assert error.error_message == "Bad Gateway"
    assert str(error) == "502: Bad Gateway"
    assert error.error_id is None
    assert error.details == {}
    assert error.after_retry is True
    assert error.response.content == page
    assert script.attempts == 3


@pytest.mark.parametrize("mode", MODES)
def test_the_async_client_never_blocks_the_loop(mode: str, delays: Delays) -> None:
    """Between attempts the sync client sleeps with ``time.sleep``, the async one awaits."""
    script = Script(status(503), httpx.ConnectError("refused"), created())
    call(script, mode=mode)
    assert script.attempts == 3
    assert len(delays) == 2
    assert delays.blocking == (list(delays) if mode == "sync" else [])
