"""The hand-written core under the generated clients: requests, retries, errors, logging.

The generated ``_client.py`` only names endpoints and arranges them as
``client.create.service.build``; everything a call does happens here:

1. the parameters and the body are validated by the spec's models (unless
   skipped); path parameters go into the path, query parameters into the query
   string, header parameters into the headers, and the body is sent as exactly
   the caller's JSON;
2. connection errors, 408, 429 and 5xx are retried with exponential backoff
   and jitter, honouring ``Retry-After``; each attempt has a total deadline (the
   timeout), and a response body is read only up to ``max_response_bytes``;
3. an error status becomes an `APIStatusError` subclass, a success is parsed
   by the spec's model: leniently by default (fields the spec does not know are
   kept in each model's ``model_extra``), or strictly with
   ``strict_response_validation=True``; a paginated list becomes a page
   (`_pagination`).
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Self, TypeVar

import httpx
from northflank_build._constants import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    LOG_ENV,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRYABLE_STATUSES,
    TOKEN_ENV,
)
from northflank_build._errors import FieldError, field_errors
from northflank_build._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    RequestValidationError,
    ResponseTooLargeError,
    status_error,
)
from northflank_build._pagination import (
    CURSOR_PARAMETER,
    AsyncPage,
    AsyncPaginator,
    SyncPage,
    page_parts,
)
from northflank_build._paths import path_segment
from northflank_build._validity import valid
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
    """One operation of the spec as data, as the generated code describes it.

    ``T`` is what a call gives: the result model, ``None`` for an answer
    without a body, or, for a paginated list, the model of one item.
    """

    operation_id: str
    method: str
    path: str
    """The path template, such as ``/v1/projects/{projectId}/services/build``."""
    path_parameters: tuple[str, ...]
    """The wire names of the parameters that go into the path, as do the next two."""
    query_parameters: tuple[str, ...]
    header_parameters: tuple[str, ...]
    parameters_model: type[BaseModel] | None
    """Validates the parameters, keyed by wire name; ``None`` when there are none."""
    request_model: type[BaseModel] | None
    """The JSON body's model; ``None`` when the operation takes no body."""
    response_model: type[BaseModel] | None
    """The success response's model; ``None`` when it has no body (204)."""
    result_attribute: str | None
    """The response attribute that holds the result (``data``), or ``None`` for the whole."""
    items_attribute: str | None
    """For a paginated list, the attribute of the result that holds the page's items."""


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """A client's settings; `ClientCore.with_options` returns a copy with some changed."""

    token: str | None = field(repr=False)
    """Sent as ``Authorization: Bearer <token>``; never shown in a repr or an error."""
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    default_headers: Mapping[str, str]
    skip_validation: bool
    strict_response_validation: bool
    """Refuse a success response with fields the spec does not know (by default they
    are kept in ``model_extra``)."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    """The longest response body read; a longer one raises `ResponseTooLargeError`."""
    retry_initial_delay: float = INITIAL_RETRY_DELAY
    """Seconds before the first retry; each further retry doubles it, with jitter."""
    retry_max_delay: float = MAX_RETRY_DELAY
    """The longest backoff between two retries, in seconds (``Retry-After`` has its own cap)."""


class RawResponse(Generic[T]):
    """The HTTP response of a successful call, with its parsed result on demand."""

    def __init__(self, response: httpx.Response, parse: Callable[[httpx.Response], T]) -> None:
        self.http_response = response
        self._parse = parse

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def request_id(self) -> str | None:
        """The response's ``X-Request-Id``: quote it when reporting a problem."""
        request_id: str | None = self.http_response.headers.get("x-request-id")
        return request_id

    def parse(self) -> T:
        """The typed result, as the call without raw access returns it."""
        return self._parse(self.http_response)


def _options(
    *,
    token: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    default_headers: Mapping[str, str] | None,
    skip_validation: bool,
    strict_response_validation: bool,
    max_response_bytes: int,
    retry_initial_delay: float,
    retry_max_delay: float,
) -> ClientOptions:
    if token is None:
        token = os.environ.get(TOKEN_ENV)
        _check_token(token, TOKEN_ENV)
    options = ClientOptions(
        token=token,
        base_url=(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/"),
        timeout=_timeout(timeout),
        max_retries=max_retries,
        default_headers=dict(default_headers or {}),
        skip_validation=skip_validation,
        strict_response_validation=strict_response_validation,
        max_response_bytes=max_response_bytes,
        retry_initial_delay=retry_initial_delay,
        retry_max_delay=retry_max_delay,
    )
    _check_options(options)
    return options


def _check_options(options: ClientOptions) -> None:
    """Refuse a setting that could only fail later, naming it; a token is never shown."""
    _check_token(options.token, "token")
    _check_base_url(options.base_url)
    if isinstance(options.max_retries, bool) or not isinstance(options.max_retries, int):
        raise ValueError(f"max_retries must be a whole number, not {options.max_retries!r}")
    if options.max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    limit = options.max_response_bytes
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(
            f"max_response_bytes must be a whole number of bytes, 1 or more: {limit!r}"
        )
    initial, longest = options.retry_initial_delay, options.retry_max_delay
    for name, delay in (("retry_initial_delay", initial), ("retry_max_delay", longest)):
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise ValueError(f"{name} must be a number of seconds, not {delay!r}")
        if not math.isfinite(delay) or delay < 0:
            raise ValueError(f"{name} must be a finite number of seconds, 0 or more: {delay!r}")
    if initial > longest:
        raise ValueError(
            f"retry_initial_delay ({initial}) must not be more than retry_max_delay ({longest})"
        )


def _check_token(token: object, setting: str) -> None:
    """A token must be printable ASCII without spaces: a header can carry nothing else.

    A trailing ``\\r`` or ``\\n`` (``$(cat token.txt)`` of a file with CRLF line
    endings) is the usual culprit. The message names the setting and the position,
    never the token.
    """
    if token is None:
        return
    if not isinstance(token, str):
        raise TypeError(f"{setting} must be a string, not {type(token).__name__}")
    for index, character in enumerate(token):
        if not "!" <= character <= "~":
            raise ValueError(
                f"{setting} has {_character_name(character)} at position {index + 1} of"
                f" {len(token)}; a token is printable ASCII without spaces (the token is"
                " not shown)"
            )


def _character_name(character: str) -> str:
    """How a refused character is named without showing the text around it."""
    names = {"\r": "a carriage return", "\n": "a line feed", "\t": "a tab", " ": "a space"}
    if character in names:
        return f"{names[character]} (U+{ord(character):04X})"
    kind = "a control character" if character.isascii() else "a non-ASCII character"
    return f"{kind} (U+{ord(character):04X})"


def _check_base_url(base_url: str) -> None:
    """An http(s) URL with a host, or a clear error naming ``base_url``."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise ValueError(f"base_url {base_url!r} is not a valid URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url {base_url!r} must be an http:// or https:// URL with a host")


def _check_headers(headers: Mapping[str, str]) -> None:
    """Every header value as HTTP sends it: printable ASCII (a value is never shown,
    as it may be a secret)."""
    for name, value in headers.items():
        if not isinstance(value, str):
            raise TypeError(f"the header {name} must be a string, not {type(value).__name__}")
        # The common case in two C calls: ASCII, and printable once tabs are set aside.
        if value.isascii() and (value.isprintable() or value.replace("\t", "").isprintable()):
            continue
        for index, character in enumerate(value):
            if not (" " <= character <= "~" or character == "\t"):
                raise ValueError(
                    f"the header {name} has {_character_name(character)} at position"
                    f" {index + 1}; a header value is printable ASCII (the value is not shown)"
                )


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return httpx.Timeout(DEFAULT_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


@dataclass(frozen=True, slots=True)
class _MergedHeaders:
    """An HTTP client's headers (as they were) with a core's own merged in, both ways."""

    http: object
    client_headers: list[tuple[bytes, bytes]]
    without_body: httpx.Headers
    with_body: httpx.Headers


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
        strict_response_validation: bool = False,
        http_client: HttpT | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry_initial_delay: float = INITIAL_RETRY_DELAY,
        retry_max_delay: float = MAX_RETRY_DELAY,
    ) -> None:
        self._options = _options(
            token=token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            skip_validation=skip_validation,
            strict_response_validation=strict_response_validation,
            max_response_bytes=max_response_bytes,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
        )
        self._http: HttpT = self._adopted(http_client) if http_client else self._new_http_client()
        self._forget_prepared()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self._options.base_url!r}>"

    def _new_http_client(self) -> HttpT:
        raise NotImplementedError

    def _adopted(self, http_client: object) -> HttpT:
        """A caller's HTTP client, once it is of the right kind."""
        raise NotImplementedError

    def with_options(self, **changes: Any) -> Self:
        """A copy with some options changed (``token``, ``timeout``, ``max_retries``,
        ``http_client``...).

        The copy shares the connection pool with the original, unless given its own
        ``http_client``.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        http_client = changes.pop("http_client", None)
        copy._options = _changed(self._options, changes)
        if http_client is not None:
            copy._http = self._adopted(http_client)
        copy._forget_prepared()
        return copy

    def _forget_prepared(self) -> None:
        """Drop what was worked out once from the options and the HTTP client: they changed."""
        self._own_headers: tuple[dict[str, str], dict[str, str]] | None = None
        self._merged_headers: _MergedHeaders | None = None

    def _headers_of_options(self, with_body: bool) -> dict[str, str]:
        """The headers every call sends, from the options alone, checked once; a copy must
        be taken before adding to it.

        Header names are case-insensitive, so they are merged by their lower-case form:
        a caller's ``accept`` replaces the default ``Accept`` instead of joining it.
        Later wins: defaults, token, `default_headers`, then (per call) header
        parameters and `extra_headers`.
        """
        own = self._own_headers
        if own is None:
            options = self._options
            pair: list[dict[str, str]] = []
            for body in (False, True):
                headers = {"accept": "application/json", "user-agent": self._user_agent}
                if body:
                    headers["content-type"] = "application/json"
                if options.token:
                    headers["authorization"] = f"Bearer {options.token}"
                for name, value in options.default_headers.items():
                    headers[name.lower()] = value
                _check_headers(headers)
                pair.append(headers)
            own = self._own_headers = (pair[0], pair[1])
        return own[with_body]

    def _http_headers(self, with_body: bool) -> httpx.Headers | None:
        """The HTTP client's own headers with the options' headers merged in, as
        ``build_request`` would merge them; ``None`` when the HTTP client has cookies or
        query parameters of its own (then ``build_request`` does the merging).

        Worked out once and kept while the HTTP client's headers stay as they were.
        """
        http = self._http
        if http.cookies or http.params:
            return None
        client_headers = http.headers.raw
        merged = self._merged_headers
        if merged is None or merged.http is not http or merged.client_headers != client_headers:
            pair: list[httpx.Headers] = []
            for body in (False, True):
                headers = httpx.Headers(http.headers)
                headers.update(self._headers_of_options(body))
                pair.append(headers)
            merged = self._merged_headers = _MergedHeaders(http, client_headers, *pair)
        return merged.with_body if with_body else merged.without_body

    @property
    def options(self) -> ClientOptions:
        return self._options

    def _request(
        self,
        endpoint: Endpoint[Any],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven,
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven,
    ) -> httpx.Request:
        options = self._options
        skip = options.skip_validation if isinstance(skip_validation, NotGiven) else skip_validation
        given = {name: v for name, v in parameters.items() if not isinstance(v, NotGiven)}
        if not skip:
            _check_parameters(endpoint, given)
        if not all(type(value) is str and value.isascii() for value in given.values()):
            _check_encodable(_parameters_name(endpoint), given)  # ASCII text needs no check
        content = _body(endpoint, data, skip=skip)
        path = endpoint.path.format_map(
            {name: _path_segment(name, given.get(name)) for name in endpoint.path_parameters}
        )
        query = tuple(
            (name, _wire_text(given[name])) for name in endpoint.query_parameters if name in given
        )
        url = options.base_url + path
        with_body = content is not None
        header_parameters = {
            name: _wire_text(given[name]) for name in endpoint.header_parameters if name in given
        }
        call_timeout = options.timeout if isinstance(timeout, NotGiven) else _timeout(timeout)
        if not header_parameters and not extra_headers:
            http_headers = self._http_headers(with_body)
            if http_headers is not None:
                # What ``build_request`` would build, without merging the same headers
                # again on every call.
                return httpx.Request(
                    endpoint.method,
                    _parsed_url(url),
                    params=query or None,
                    content=content,
                    headers=http_headers,
                    extensions={"timeout": call_timeout.as_dict()},
                )
        headers = dict(self._headers_of_options(with_body))
        added: dict[str, str] = {}
        for extra in (header_parameters, extra_headers or {}):
            for name, value in extra.items():
                added[name.lower()] = value
        _check_headers(added)
        headers.update(added)
        # The httpx client's own headers, cookies and query parameters apply too.
        return self._http.build_request(
            endpoint.method,
            url,
            params=query or None,  # none: httpx then parses the URL once, not twice
            content=content,
            headers=headers,
            timeout=call_timeout,
        )

    def _result_parser(self, endpoint: Endpoint[T]) -> Callable[[httpx.Response], T]:
        strict = self._options.strict_response_validation

        def parse(response: httpx.Response) -> T:
            parsed: Any = _validated_response(endpoint, response, strict=strict)
            if parsed is not None and endpoint.result_attribute is not None:
                parsed = getattr(parsed, endpoint.result_attribute)
            _attach_request_id(parsed, response)
            return parsed  # type: ignore[no-any-return]

        return parse

    def _page_parts(
        self, endpoint: Endpoint[T], response: httpx.Response
    ) -> tuple[list[T], Any, Any]:
        """A list response's items, `PageInfo` and whole parsed body."""
        strict = self._options.strict_response_validation
        envelope = _validated_response(endpoint, response, strict=strict)
        if endpoint.result_attribute is None or endpoint.items_attribute is None:
            raise TypeError(f"{endpoint.operation_id} is not a paginated list")
        items, info = page_parts(envelope, endpoint.result_attribute, endpoint.items_attribute)
        return items, info, envelope

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = _retry_after(response.headers.get("retry-after"))
            if after is not None:
                return after
        options = self._options
        backoff: float = min(options.retry_initial_delay * 2.0**attempt, options.retry_max_delay)
        return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not a secret

    def _retry_or_raise(
        self, error: httpx.TransportError, request: httpx.Request, attempt: int
    ) -> float:
        """The delay before retrying after ``error``; past the last retry, the error to raise."""
        if attempt < self._options.max_retries:
            return self._retry_delay(attempt, None)
        if isinstance(error, httpx.TimeoutException):
            raise APITimeoutError(_timed_out(request), request=request) from error
        reason = _redacted(str(error), self._options.token, request)
        raise APIConnectionError(f"connection failed: {reason}", request=request) from error

    def _finish(self, response: httpx.Response, attempt: int) -> httpx.Response:
        _log_response(response, attempt)
        if response.is_success:
            return response
        raise status_error(response, after_retry=attempt > 0)


def _check_parameters(endpoint: Endpoint[Any], given: Mapping[str, object]) -> None:
    """Refuse parameter values the spec does not admit, as a body's fields are refused."""
    model = endpoint.parameters_model
    if model is None or valid(model.__name__, given):  # the fast check, with no pydantic
        return
    try:
        model.model_validate(given)
    except ValidationError as error:
        raise RequestValidationError(model.__name__, field_errors(model, error)) from error


_PARSED_URLS: dict[str, httpx.URL] = {}
_PARSED_URLS_KEPT = 256


def _parsed_url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, parsed once for a URL called again (an `httpx.URL` does not
    change, so one can be shared); a few hundred are kept, then they are parsed afresh."""
    url = _PARSED_URLS.get(text)
    if url is None:
        if len(_PARSED_URLS) >= _PARSED_URLS_KEPT:
            _PARSED_URLS.clear()
        url = _PARSED_URLS[text] = httpx.URL(text)
    return url


def _wire_text(value: object) -> str:
    """A query or header value: ``true``/``false``, a number's JSON text, a string as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise TypeError(f"a parameter must be a string, number or boolean, not {type(value).__name__}")


def _path_segment(name: str, value: object) -> str:
    """A path parameter as one percent-encoded segment; a missing or empty one is refused."""
    text = _wire_text(value) if isinstance(value, bool | int | float) else value
    if not isinstance(text, str) or not text:
        raise ValueError(f"the path parameter {name} must be a non-empty string, not {value!r}")
    return path_segment(text)


def _body(
    endpoint: Endpoint[Any], data: BaseModel | Mapping[str, Any] | NotGiven, *, skip: bool
) -> bytes | None:
    """The JSON to send: a model's own JSON, or the caller's mapping as it is, once valid;
    ``None`` when there is no body."""
    model = endpoint.request_model
    if isinstance(data, NotGiven):
        return None
    if model is None:
        raise TypeError(f"{endpoint.operation_id} takes no body")
    if isinstance(data, BaseModel):
        if not isinstance(data, model):
            raise TypeError(f"data must be a {model.__name__} or a mapping, not {type(data)}")
        try:
            return data.model_dump_json().encode()
        except ValueError:  # pydantic's serialization error: a lone surrogate, say
            _check_encodable(model.__name__, data.model_dump(by_alias=True))
            raise
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a {model.__name__} or a mapping, not {type(data)}")
    if not skip and not valid(model.__name__, data):  # only a body the fast check refuses
        try:  # goes to the models, which name the failing fields
            model.model_validate(data)
        except ValidationError as error:
            raise RequestValidationError(model.__name__, field_errors(model, error)) from error
    try:
        return _mapping_json(data)
    except (TypeError, ValueError):  # UnicodeEncodeError included: a lone surrogate
        # The rare path: name a lone surrogate's place first, as the check always has,
        # then let the encoder say what else it refuses.
        _check_encodable(model.__name__, data)
        raise


def _mapping_json(data: Mapping[str, Any]) -> bytes:
    """The caller's mapping as compact UTF-8 JSON (a model nested in it as its own JSON)."""
    return _BODY_ENCODER.encode(data).encode()


def _parameters_name(endpoint: Endpoint[Any]) -> str:
    model = endpoint.parameters_model
    return model.__name__ if model is not None else f"{endpoint.operation_id} parameters"


def _check_encodable(name: str, value: object) -> None:
    """Refuse text UTF-8 cannot carry (a lone surrogate such as ``\\ud800``), naming its
    JSON path, before anything is sent."""
    if _quickly_encodable(value):
        return
    path = _unencodable_path(value, "$")
    if path is not None:
        problem = FieldError(path, "type", "a lone surrogate cannot be encoded as UTF-8")
        raise RequestValidationError(name, [problem])


def _quickly_encodable(value: object) -> bool:
    """Whether every string and key in ``value`` is valid Unicode text, found by the C
    JSON encoder in one pass; ``False`` when unsure (the walk below then decides)."""
    try:
        _CHECK_ENCODER.encode(value).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError included
        return False
    return True


def _nested_for_check(value: object) -> object:
    """What the quick check descends into beyond dicts, lists and tuples: every other
    mapping, as the walk does; anything else is opaque to both."""
    if isinstance(value, Mapping):
        return dict(value)
    return None


_CHECK_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_nested_for_check)


def _unencodable_path(value: object, path: str) -> str | None:
    """The JSON path of the first string (or key) that is not valid Unicode text."""
    pending: list[tuple[object, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return where
        elif isinstance(item, Mapping):
            for key, child in item.items():
                child_path = f"{where}.{key}" if _encodable(str(key)) else where
                if not _encodable(str(key)):
                    return child_path
                pending.append((child, child_path))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _attach_request_id(result: object, response: httpx.Response) -> None:
    """Put the response's ``X-Request-Id`` on the result as ``_request_id`` (Stainless's
    name), so a successful call's id is at hand without raw access."""
    if result is None:
        return
    try:
        object.__setattr__(result, "_request_id", response.headers.get("x-request-id"))
    except (AttributeError, TypeError):  # a result that takes no attributes keeps none
        return


def _redacted(text: str, token: str | None, request: httpx.Request) -> str:
    """``text`` without the token or the Authorization header it went out in."""
    secrets = {token or "", request.headers.get("authorization", "")}
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return text


def _timed_out(request: httpx.Request) -> str:
    seconds = _attempt_seconds(request)
    limit = f" ({seconds:g} s per attempt)" if seconds is not None else ""
    return f"the request timed out{limit}; raise the client's timeout to wait longer"


def _attempt_seconds(request: httpx.Request) -> float | None:
    """An attempt's total deadline: the longest of the request's timeouts, or none."""
    timeouts = request.extensions.get("timeout", {})
    given = [float(v) for v in timeouts.values() if isinstance(v, (int, float))]
    return max(given) if given else None


_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "northflank_build_deadline", default=None
)
"""The monotonic time the current synchronous attempt must end by, if any."""


def _remaining(timeout: float | None) -> float | None:
    """A socket operation's timeout, cut to what is left of the attempt's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A network stream whose every read and write waits no longer than the deadline:
    a server sending one byte a second cannot stretch a call past its timeout."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout))  # type: ignore[no-any-return]

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    """Wraps an HTTP client's network backend so its streams keep the attempt's deadline;
    outside a call of this package (no deadline set) it behaves exactly as before."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _DeadlineStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _remaining(timeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _DeadlineStream:
        stream = self._backend.connect_unix_socket(
            path, _remaining(timeout), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _keep_deadlines(http_client: httpx.Client) -> None:
    """Wrap the network backend of each of the client's connection pools (the default
    transport's and its proxies'). A transport of another kind keeps only the deadline
    checked between body chunks."""
    transports = [getattr(http_client, "_transport", None)]
    transports += list(getattr(http_client, "_mounts", {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]


def _check_body_size(response: httpx.Response, limit: int, read: int) -> None:
    """Stop once the body passes ``limit``; a declared Content-Length past it stops at once."""
    declared = response.headers.get("content-length", "")
    too_long = read > limit or (declared.isdigit() and int(declared) > limit)
    if too_long:
        raise ResponseTooLargeError(
            f"the {response.status_code} response is larger than max_response_bytes"
            f" ({limit} bytes), so it was not read; raise it with"
            " Client(max_response_bytes=...) or client.with_options(max_response_bytes=...)",
            response=_headers_only(response),
            limit=limit,
        )


def _headers_only(response: httpx.Response) -> httpx.Response:
    """The response's status and headers with an empty body, for an error to carry."""
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(response.status_code, headers=kept, request=response.request)


def _buffered(response: httpx.Response, body: bytearray) -> httpx.Response:
    """The streamed response with its (bounded) body in place, as ``read()`` would leave it."""
    response._content = bytes(body)
    return response


def _model_json(value: object) -> Any:
    """A model nested in a mapping (``{"billing": Billing(...)}``) as its own JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_BODY_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_model_json
)
"""What ``json.dumps`` with these options would build anew on every call."""


def _validated_response(
    endpoint: Endpoint[Any], response: httpx.Response, *, strict: bool
) -> BaseModel | None:
    """The response body parsed by the spec's model; ``None`` for an answer without one.

    Unless ``strict``, keys the spec does not know are allowed at every level
    (pydantic's validation-time ``extra``) and kept in each model's ``model_extra``.
    """
    model = endpoint.response_model
    if model is None:
        return None
    try:
        # What `SpecModel.model_validate_json` does, without its two Python frames.
        parsed: BaseModel = model.__pydantic_validator__.validate_json(
            response.content, extra="forbid" if strict else "allow", by_name=False
        )
    except ValidationError as error:
        raise APIResponseValidationError(
            f"the {response.status_code} response of {endpoint.operation_id} does not match"
            f" the spec: {error}",
            response=response,
        ) from error
    return parsed


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
        http_client = httpx.Client()
        _keep_deadlines(http_client)
        return http_client

    def _adopted(self, http_client: object) -> httpx.Client:
        if not isinstance(http_client, httpx.Client):
            kind = type(http_client).__name__
            raise TypeError(f"http_client must be an httpx.Client, not {kind}")
        _keep_deadlines(http_client)
        return http_client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        endpoint: Endpoint[T],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[T]:
        request = self._request(
            endpoint,
            parameters,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return RawResponse(self._send(request), self._result_parser(endpoint))

    def _call_page(
        self,
        endpoint: Endpoint[T],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[SyncPage[T]]:
        """A paginated list's first page; each next page is the same call with a ``cursor``."""
        request = self._request(
            endpoint,
            parameters,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )

        def fetch(cursor: str) -> SyncPage[T]:
            return self._call_page(
                endpoint,
                {**parameters, CURSOR_PARAMETER: cursor},
                data,
                skip_validation=skip_validation,
                extra_headers=extra_headers,
                timeout=timeout,
            ).parse()

        def parse(response: httpx.Response) -> SyncPage[T]:
            page = SyncPage(*self._page_parts(endpoint, response), fetch)
            _attach_request_id(page, response)
            return page

        return RawResponse(self._send(request), parse)

    def _send(self, request: httpx.Request) -> httpx.Response:
        retries = self._options.max_retries
        for attempt in range(retries + 1):
            _log_request(request, attempt)
            try:
                response = self._attempt(request)
            except httpx.TransportError as error:
                time.sleep(self._retry_or_raise(error, request, attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < retries:
                _log_response(response, attempt)
                time.sleep(self._retry_delay(attempt, response))
                continue
            return self._finish(response, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        """One try, headers and body, within the timeout in all: the network backend
        cuts each socket wait to the time left, and the body is checked between chunks."""
        seconds = _attempt_seconds(request)
        deadline = None if seconds is None else time.monotonic() + seconds
        token = _DEADLINE.set(deadline)
        try:
            response = self._http.send(request, stream=True)
            try:
                body = bytearray()
                limit = self._options.max_response_bytes
                _check_body_size(response, limit, 0)
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        _check_body_size(response, limit, len(body))
                    _remaining(None)
                return _buffered(response, body)
            finally:
                response.close()
        finally:
            _DEADLINE.reset(token)


class AsyncClientCore(_Core[httpx.AsyncClient]):
    """The asynchronous core: one `httpx.AsyncClient`, shared by every copy."""

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    def _adopted(self, http_client: object) -> httpx.AsyncClient:
        if not isinstance(http_client, httpx.AsyncClient):
            kind = type(http_client).__name__
            raise TypeError(f"http_client must be an httpx.AsyncClient, not {kind}")
        return http_client

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(
        self,
        endpoint: Endpoint[T],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[T]:
        request = self._request(
            endpoint,
            parameters,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return RawResponse(await self._send(request), self._result_parser(endpoint))

    async def _call_page(
        self,
        endpoint: Endpoint[T],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> RawResponse[AsyncPage[T]]:
        """A paginated list's first page; each next page is the same call with a ``cursor``."""
        request = self._request(
            endpoint,
            parameters,
            data,
            skip_validation=skip_validation,
            extra_headers=extra_headers,
            timeout=timeout,
        )

        async def fetch(cursor: str) -> AsyncPage[T]:
            raw = await self._call_page(
                endpoint,
                {**parameters, CURSOR_PARAMETER: cursor},
                data,
                skip_validation=skip_validation,
                extra_headers=extra_headers,
                timeout=timeout,
            )
            return raw.parse()

        def parse(response: httpx.Response) -> AsyncPage[T]:
            page = AsyncPage(*self._page_parts(endpoint, response), fetch)
            _attach_request_id(page, response)
            return page

        return RawResponse(await self._send(request), parse)

    def _paginate(
        self,
        endpoint: Endpoint[T],
        parameters: Mapping[str, object],
        data: BaseModel | Mapping[str, Any] | NotGiven,
        *,
        skip_validation: bool | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPaginator[T]:
        """A paginated list: ``await`` it for the first page, ``async for`` for every item."""

        async def first_page() -> AsyncPage[T]:
            raw = await self._call_page(
                endpoint,
                parameters,
                data,
                skip_validation=skip_validation,
                extra_headers=extra_headers,
                timeout=timeout,
            )
            return raw.parse()

        return AsyncPaginator(first_page)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        retries = self._options.max_retries
        for attempt in range(retries + 1):
            _log_request(request, attempt)
            try:
                response = await self._attempt(request)
            except httpx.TransportError as error:
                await asyncio.sleep(self._retry_or_raise(error, request, attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < retries:
                _log_response(response, attempt)
                await asyncio.sleep(self._retry_delay(attempt, response))
                continue
            return self._finish(response, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        """One try, headers and body, within the timeout in all."""
        seconds = _attempt_seconds(request)
        try:
            async with asyncio.timeout(seconds):
                response = await self._http.send(request, stream=True)
                try:
                    body = bytearray()
                    limit = self._options.max_response_bytes
                    _check_body_size(response, limit, 0)
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limit:
                            _check_body_size(response, limit, len(body))
                    return _buffered(response, body)
                finally:
                    await response.aclose()
        except TimeoutError as error:
            raise httpx.ReadTimeout("the attempt's deadline has passed", request=request) from error


def _changed(options: ClientOptions, changes: Mapping[str, Any]) -> ClientOptions:
    unknown = set(changes) - set(ClientOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown client options: {', '.join(sorted(unknown))}")
    if "timeout" in changes:
        changes = {**changes, "timeout": _timeout(changes["timeout"])}
    if "base_url" in changes:
        changes = {**changes, "base_url": str(changes["base_url"]).rstrip("/")}
    changed = replace(options, **changes)
    _check_options(changed)
    return changed
