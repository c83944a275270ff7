"""The hand-written core under the generated clients: requests, retries, errors, logging.

The generated ``_client.py`` only names endpoints and arranges them as
``client.create.service.build``; everything a call does happens here:

1. the body is validated by the spec's model (unless skipped) and sent as
   exactly the caller's JSON;
2. connection errors, 408, 429 and 5xx are retried with exponential backoff
   and jitter, honouring ``Retry-After``;
3. an error status becomes an `APIStatusError` subclass, a success is parsed
   by the spec's model.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Self, TypeVar

import httpx
from northflank_build._constants import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    LOG_ENV,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRYABLE_STATUSES,
    TOKEN_ENV,
)
from northflank_build._errors import field_errors
from northflank_build._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    RequestValidationError,
    status_error,
)
from northflank_build._paths import path_segment
from pydantic import BaseModel, ValidationError

__all__ = [
    "NOT_GIVEN",
    "AsyncClientCore",
    "ClientCore",
    "ClientOptions",
    "Endpoint",
    "NotGiven",
    "RawResponse",
]

T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
log = logging.getLogger("northflank_build")


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left out, as opposed to one given as ``None``."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[T]):
    """One operation of the spec, as the generated code describes it."""

    operation_id: str
    method: str
    path: str
    """The path template, such as ``/v1/projects/{projectId}/services/build``."""
    request_model: type[BaseModel]
    response_model: type[BaseModel]
    result_attribute: str | None
    """The response attribute that holds the result (``data``), or ``None`` for the whole."""

    def result(self, content: bytes) -> T:
        parsed: Any = self.response_model.model_validate_json(content)
        if self.result_attribute is not None:
            parsed = getattr(parsed, self.result_attribute)
        return parsed  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """A client's settings; `ClientCore.with_options` returns a copy with some changed."""

    token: str | None
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    default_headers: Mapping[str, str]
    skip_validation: bool


class RawResponse(Generic[T]):
    """The HTTP response of a successful call, with its parsed result on demand."""

    def __init__(self, response: httpx.Response, endpoint: Endpoint[T]) -> None:
        self.http_response = response
        self._endpoint = endpoint

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def content(self) -> bytes:
        return self.http_response.content

    def parse(self) -> T:
        """The typed result, as the call without raw access returns it."""
        return _parse(self._endpoint, self.http_response)


def _options(
    *,
    token: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    default_headers: Mapping[str, str] | None,
    skip_validation: bool,
) -> ClientOptions:
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    return ClientOptions(
        token=token if token is not None else os.environ.get(TOKEN_ENV),
        base_url=(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/"),
        timeout=_timeout(timeout),
        max_retries=max_retries,
        default_headers=dict(default_headers or {}),
        skip_validation=skip_validation,
    )


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return httpx.Timeout(DEFAULT_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class _Core(Generic[HttpT]):
    """What the sync and async clients share: options, request building, retry policy."""

    _user_agent: str
    """``northflank-build-python/<version>``: set by the generated client classes."""

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        skip_validation: bool = False,
        http_client: HttpT | None = None,
    ) -> None:
        self._options = _options(
            token=token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            skip_validation=skip_validation,
        )
        self._http: HttpT = http_client or self._new_http_client()

    def _new_http_client(self) -> HttpT:
        raise NotImplementedError

    def with_options(self, **changes: Any) -> Self:
        """A copy with some options changed (``token``, ``timeout``, ``max_retries``...).

        The copy shares the connection pool with the original.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._options = _changed(self._options, changes)
        return copy

    @property
    def options(self) -> ClientOptions:
        return self._options

    def _request(
        self,
        endpoint: Endpoint[Any],
        path_params: Mapping[str, str],
        data: BaseModel | Mapping[str, Any],
        *,
        skip_validation: bool | NotGiven,
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven,
    ) -> httpx.Request:
        options = self._options
        skip = options.skip_validation if isinstance(skip_validation, NotGiven) else skip_validation
        path = endpoint.path.format_map({k: path_segment(v) for k, v in path_params.items()})
        # Header names are case-insensitive, so they are merged by their lower-case
        # form: a caller's ``accept`` replaces the default ``Accept`` instead of
        # joining it. Later wins: defaults, token, `default_headers`, `extra_headers`.
        headers = {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": self._user_agent,
        }
        if options.token:
            headers["authorization"] = f"Bearer {options.token}"
        for given in (options.default_headers, extra_headers or {}):
            for name, value in given.items():
                headers[name.lower()] = value
        call_timeout = options.timeout if isinstance(timeout, NotGiven) else _timeout(timeout)
        # The httpx client's own headers, cookies and query parameters apply too.
        return self._http.build_request(
            endpoint.method,
            options.base_url + path,
            content=_body(endpoint, data, skip=skip),
            headers=headers,
            timeout=call_timeout,
        )

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = _retry_after(response.headers.get("retry-after"))
            if after is not None:
                return after
        backoff: float = min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY)
        return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not a secret

    def _retry_or_raise(
        self, error: httpx.TransportError, request: httpx.Request, attempt: int
    ) -> float:
        """The delay before retrying after ``error``; past the last retry, the error to raise."""
        if attempt < self._options.max_retries:
            return self._retry_delay(attempt, None)
        if isinstance(error, httpx.TimeoutException):
            raise APITimeoutError("the request timed out", request=request) from error
        raise APIConnectionError(f"connection failed: {error}", request=request) from error

    def _finish(self, response: httpx.Response, attempt: int) -> httpx.Response:
        _log_response(response, attempt)
        if response.is_success:
            return response
        raise status_error(response, after_retry=attempt > 0)


def _body(endpoint: Endpoint[Any], data: BaseModel | Mapping[str, Any], *, skip: bool) -> bytes:
    """The JSON to send: a model's own JSON, or the caller's mapping as it is, once valid."""
    model = endpoint.request_model
    if isinstance(data, BaseModel):
        if not isinstance(data, model):
            raise TypeError(f"data must be a {model.__name__} or a mapping, not {type(data)}")
        return data.model_dump_json().encode()
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a {model.__name__} or a mapping, not {type(data)}")
    if not skip:
        try:
            model.model_validate(data)
        except ValidationError as error:
            raise RequestValidationError(model.__name__, field_errors(model, error)) from error
    return json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_model_json
    ).encode()


def _model_json(value: object) -> Any:
    """A model nested in a mapping (``{"billing": Billing(...)}``) as its own JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _parse(endpoint: Endpoint[T], response: httpx.Response) -> T:
    try:
        return endpoint.result(response.content)
    except ValidationError as error:
        raise APIResponseValidationError(
            f"the {response.status_code} response of {endpoint.operation_id} does not match"
            f" the spec: {error}",
            response=response,
        ) from error


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date), capped; ``None`` if unusable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        moment = email.utils.parsedate_tz(value)
        if moment is None:
            return None
        seconds = float(email.utils.mktime_tz(moment)) - time.time()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _log_request(request: httpx.Request, attempt: int) -> None:
    if log.isEnabledFor(logging.DEBUG):
        headers = {
            k: ("<redacted>" if k.lower() == "authorization" else v)
            for k, v in request.headers.items()
        }
        log.debug("%s %s attempt %d headers %s", request.method, request.url, attempt + 1, headers)


def _log_response(response: httpx.Response, attempt: int) -> None:
    if not log.isEnabledFor(logging.INFO):  # spare the arguments' look-ups on every call
        return
    log.info(
        "%s %s -> %d (attempt %d, request id %s)",
        response.request.method,
        response.request.url,
        response.status_code,
        attempt + 1,
        response.headers.get("x-request-id", "-"),
    )


def _configure_logging() -> None:
    """Send the package's log to stderr when ``NORTHFLANK_LOG`` is ``debug`` or ``info``."""
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get(LOG_ENV, "").strip().lower()
    )
    if level is not None and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(level)


_configure_logging()


class ClientCore(_Core[httpx.Client]):
    """The synchronous core: one `httpx.Client`, shared by every copy from `with_options`."""

    def _new_http_client(self) -> httpx.Client:
        return httpx.Client()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        endpoint: Endpoint[T],
        path_params: Mapping[str, str],
        data: BaseModel | Mapping[str, Any],
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[T]:
        request = self._request(
            endpoint,
            path_params,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        retries = self._options.max_retries
        for attempt in range(retries + 1):
            _log_request(request, attempt)
            try:
                response = self._http.send(request)
            except httpx.TransportError as error:
                time.sleep(self._retry_or_raise(error, request, attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < retries:
                _log_response(response, attempt)
                time.sleep(self._retry_delay(attempt, response))
                continue
            return RawResponse(self._finish(response, attempt), endpoint)
        raise AssertionError("unreachable")  # pragma: no cover


class AsyncClientCore(_Core[httpx.AsyncClient]):
    """The asynchronous core: one `httpx.AsyncClient`, shared by every copy."""

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(
        self,
        endpoint: Endpoint[T],
        path_params: Mapping[str, str],
        data: BaseModel | Mapping[str, Any],
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[T]:
        request = self._request(
            endpoint,
            path_params,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        retries = self._options.max_retries
        for attempt in range(retries + 1):
            _log_request(request, attempt)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                await asyncio.sleep(self._retry_or_raise(error, request, attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < retries:
                _log_response(response, attempt)
                await asyncio.sleep(self._retry_delay(attempt, response))
                continue
            return RawResponse(self._finish(response, attempt), endpoint)
        raise AssertionError("unreachable")  # pragma: no cover


def _changed(options: ClientOptions, changes: Mapping[str, Any]) -> ClientOptions:
    unknown = set(changes) - set(ClientOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown client options: {', '.join(sorted(unknown))}")
    if "timeout" in changes:
        changes = {**changes, "timeout": _timeout(changes["timeout"])}
    if "base_url" in changes:
        changes = {**changes, "base_url": str(changes["base_url"]).rstrip("/")}
    return replace(options, **changes)
