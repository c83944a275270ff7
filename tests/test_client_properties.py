"""Properties of the generated client, on generated bodies, through `httpx.MockTransport`.

1. A valid body goes out as the operation says: ``POST``, the project id as one
   percent-escaped path segment, ``Authorization: Bearer <token>``,
   ``Content-Type: application/json``, and exactly the caller's JSON, whether
   given as a mapping or as a `CreateBuildServiceRequest`; `AsyncClient` sends
   the same request.
2. It goes out as openapi-python-client's client (generated from the same spec
   in a temporary folder by a module fixture) sends it.
3. An invalid body raises `RequestValidationError` (one that is not a mapping
   at all, such as a JSON array, `TypeError`) and nothing is sent; each error
   names a JSON path (``$...``) that exists in the body, or, for a missing key,
   whose parent does. With ``skip_validation=True`` a mapping is sent unchanged.
4. Every valid 200 body parses to the `BuildService` that
   ``BuildService.model_validate(body["data"])`` gives, which dumps back to it.

Where the bodies come from:

- valid requests: schemathesis, positive mode, over the spec's operation;
- invalid requests: schemathesis, negative mode (its non-JSON byte strings
  dropped: the client takes a mapping or a model), and small seeded edits of
  valid bodies (a value replaced, a key removed, added or renamed to
  snake_case, a character inserted);
- valid responses: schemathesis, positive mode, over a copy of the spec whose
  request body is ``CreateBuildServiceResponse``.

jsonschema-rs over the spec (`tests.spec_data.oracle_for`) has the last word:
a body counts as valid or invalid only if it agrees. The spec's request
example and a buildpack variant of it are explicit examples. Generation is
derandomized, so every run sees the same bodies. hypothesis-jsonschema is not
used: version 0.23.1 calls ``many(...).more()``, which the ``many`` of
Hypothesis 6.170 no longer has (it is iterated now), so it raises
AttributeError on every object schema.

Compared with openapi-python-client (property 2): method, scheme, host, port,
raw path and query, the ``Authorization`` and ``Content-Type`` headers, and
the body as parsed JSON (numbers by value). Left out, and why:

- project ids ``.`` and ``..``: openapi-python-client escapes the id with
  ``quote(id, safe="")``, which keeps dots, so httpx removes the dot segment
  and the request goes to ``/v1/projects/services/build`` or
  ``/v1/services/build``. Property 1 covers these ids for this client.
- the body's bytes and key order: openapi-python-client writes required keys
  first, this client keeps the caller's order; both are the same JSON.
- ``User-Agent`` (this client names itself, the other sends httpx's),
  ``Accept`` (``application/json`` here, httpx's ``*/*`` there),
  ``Accept-Encoding`` and ``Connection`` (httpx.Client's defaults, which
  openapi-python-client gets from ``Client.request`` and this client, which
  builds its own request and calls ``Client.send``, does not), and
  ``Content-Length`` (follows the bytes).
- Nothing else: every valid body is expressible. ``BuildSettings`` is a
  ``oneOf`` that openapi-python-client resolves by trying ``DockerfileBuild``
  and then ``BuildpackBuild``; the branches require different keys and forbid
  each other's, so the first that parses is the right one. The
  ``additionalProperties`` maps (``buildArguments``, ``buildFiles``,
  ``dockerSecretMounts``) it keeps in ``additional_properties``. The test
  asserts its model gives back each body unchanged, so a body it could not
  express would fail, not be skipped.

openapi-python-client is in the ``bench`` dependency group; where it is not
installed the parity test is skipped, saying so. If it is installed but cannot
generate or import a client for the spec, the test fails with its output.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import unquote

import httpx
import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from northflank_build import (
    AsyncClient,
    BuildService,
    Client,
    CreateBuildServiceRequest,
    RequestValidationError,
)
from schemathesis import GenerationMode

from bench.spec_variants import with_operations
from tests.spec_data import OPERATION_PATH, SPEC, SPEC_PATH, oracle_for
from tests.spec_data import example as spec_example

VALID_CASES = 300
PARITY_CASES = 200
INVALID_CASES = 300
RESPONSE_CASES = 250

REQUEST = "CreateBuildServiceRequest"
RESPONSE = "CreateBuildServiceResponse"
BASE_URL = "https://api.northflank.test"
HOST = "api.northflank.test"
TOKEN = "nf-test-token"
PROJECT = "default-project"
OPC_PACKAGE = "opc_create_build_service"

PROPERTY_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# --- bodies ---------------------------------------------------------------------------------

_REQUESTS = schemathesis.openapi.from_path(str(SPEC_PATH))[OPERATION_PATH]["POST"]


def _response_as_request_spec() -> dict[str, Any]:
    """The spec, but the operation takes a `CreateBuildServiceResponse` as its body."""
    spec = copy.deepcopy(SPEC)
    spec["paths"][OPERATION_PATH]["post"]["requestBody"]["content"]["application/json"] = {
        "schema": {"$ref": f"#/components/schemas/{RESPONSE}"},
        "examples": {"created": {"value": spec_example("200", "dockerfileBuild")}},
    }
    return spec


_RESPONSES = schemathesis.openapi.from_dict(_response_as_request_spec())[OPERATION_PATH]["POST"]


def _schemathesis_bodies(operation: Any, mode: GenerationMode) -> st.SearchStrategy[Any]:
    """The bodies of schemathesis' cases. The path parameter and the header are fixed, so
    that a negative case breaks the body rather than them."""
    strategy: st.SearchStrategy[Any] = operation.as_strategy(
        generation_mode=mode,
        path_parameters={"projectId": PROJECT},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return strategy.map(lambda case: case.body)


def valid_requests() -> st.SearchStrategy[dict[str, Any]]:
    return _schemathesis_bodies(_REQUESTS, GenerationMode.POSITIVE).filter(
        oracle_for(REQUEST).is_valid
    )


def valid_responses() -> st.SearchStrategy[dict[str, Any]]:
    return _schemathesis_bodies(_RESPONSES, GenerationMode.POSITIVE).filter(
        oracle_for(RESPONSE).is_valid
    )


def _buildpack_request() -> dict[str, Any]:
    body: dict[str, Any] = spec_example("request", "dockerfileBuild")
    body["buildSettings"] = {
        "storage": {"ephemeralStorage": {"storageSize": 32768}},
        "buildpack": {
            "builder": "HEROKU_24",
            "buildpackLocators": ["heroku/python"],
            "buildContext": "/src/",
            "useCache": False,
        },
    }
    body["billing"]["gpu"] = {
        "enabled": True,
        "configuration": {"gpuType": "h100", "gpuCount": 1, "timesliced": False},
    }
    body["infrastructure"] = {"architecture": "x86"}
    body["tags"] = ["team-b"]
    body["disabledCI"] = True
    return body


SEEDS = (spec_example("request", "dockerfileBuild"), _buildpack_request())
"""Valid requests that the seeded edits start from."""

_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=4,
)
_ODD_CHARACTERS = " \t\n\u00a0\u2028\ufeff/\\?#%*[]{}:@$~'\"é\U0001f409\x00"
_KEYS = st.sampled_from(("extra", "Name", "build_settings", "dockerfile", "buildpack", "storage"))


def _locations(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _locations(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _locations(value, (*path, index))


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _snake_case(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``body`` with the value at ``path`` replaced (the whole of it if ``path`` is empty)."""
    if not path:
        return value
    _at(body, path[:-1])[path[-1]] = value
    return body


@st.composite
def edited_requests(draw: st.DrawFn) -> Any:
    """A valid request with one to three small edits: mostly invalid, near a valid one."""
    body: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_locations(body))))
        target = _at(body, path)
        parent = _at(body, path[:-1]) if path else None
        edit = draw(st.sampled_from(("replace", "delete", "add", "rename", "character")))
        if edit == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif edit == "add" and isinstance(target, dict):
            target[draw(_KEYS | st.text(max_size=6))] = draw(_JSON_VALUES)
        elif edit == "rename" and isinstance(parent, dict) and _snake_case(path[-1]) != path[-1]:
            parent[_snake_case(path[-1])] = parent.pop(path[-1])  # an attribute name, not a key
        elif edit == "character" and isinstance(target, str):
            position = draw(st.integers(0, len(target)))
            character = draw(st.sampled_from(_ODD_CHARACTERS))
            body = _replaced(body, path, target[:position] + character + target[position:])
        else:
            body = _replaced(body, path, draw(_JSON_VALUES))
    return body


def invalid_requests() -> st.SearchStrategy[tuple[str, Any]]:
    """``(source, body)``: bodies that schemathesis or a seeded edit made invalid."""
    generated = _schemathesis_bodies(_REQUESTS, GenerationMode.NEGATIVE).filter(
        lambda body: not isinstance(body, bytes | bytearray)
    )
    return (
        generated.map(lambda body: ("schemathesis", body))
        | edited_requests().map(lambda body: ("edit", body))
    ).filter(lambda pair: not oracle_for(REQUEST).is_valid(pair[1]))


_URL_CHARACTERS = " /?#%.&=+;:@[]{}\\\"'<>|^`~!$*,()\t\n\x00é\u2028日\U0001f409"
TRICKY_IDS = (
    "",
    ".",
    "..",
    "...",
    "./x",
    "../x",
    "/",
    "a/b",
    "a b",
    "?",
    "a?b=c",
    "#",
    "a#b",
    "%",
    "%2F",
    "%2e%2E",
    "+",
    "~user",
    "é",
    "日本",
    "\U0001f409",
    "\x00",
    PROJECT,
)


def project_ids() -> st.SearchStrategy[str]:
    """Any non-empty text: ids that need escaping, dot segments, unicode and the ordinary kind.

    (An empty id is refused before anything is sent: see tests/test_client.py.)
    """
    return (
        st.sampled_from([i for i in TRICKY_IDS if i])
        | st.text(alphabet=st.sampled_from(_URL_CHARACTERS + "a-."), min_size=1, max_size=12)
        | st.text(min_size=1, max_size=30)
    )


def tokens() -> st.SearchStrategy[str]:
    """Bearer tokens as RFC 6750 spells them (``b64token``)."""
    return st.from_regex(r"[A-Za-z0-9\-._~+/]+=*", fullmatch=True)


# --- JSON comparisons -----------------------------------------------------------------------


def exact_json(value: Any) -> str:
    """A canonical text that keeps JSON types: ``1``, ``1.0`` and ``true`` all differ."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)


def same_json(left: Any, right: Any) -> bool:
    """Equality as JSON Schema has it: ``1`` equals ``1.0``, ``true`` equals no number."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return type(left) is type(right) and left == right


def nulls(value: Any, path: str = "$") -> list[str]:
    """Where ``value`` holds a JSON null."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in nulls(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in nulls(item, f"{path}[{i}]")]
    return []


_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def path_steps(path: str) -> list[str | int]:
    """The keys and indexes of a JSON path as `RequestValidationError` writes it."""
    assert path.startswith("$"), path
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        assert match is not None, f"not a JSON path: {path!r}"
        name, index, quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    return steps


def _found(node: Any, step: str | int) -> tuple[bool, Any]:
    if isinstance(step, int) and isinstance(node, list) and step < len(node):
        return True, node[step]
    if isinstance(step, str) and isinstance(node, dict) and step in node:
        return True, node[step]
    return False, None


def locates(body: Any, path: str, rule: str) -> bool:
    """Whether ``path`` is in ``body``; for a missing key (``required``), whether its parent is."""
    steps = path_steps(path)
    node = body
    for step in steps[:-1]:
        found, node = _found(node, step)
        if not found:
            return False
    if not steps:
        return rule != "required"
    found, _ = _found(node, steps[-1])
    return found != (rule == "required")


# --- clients on a MockTransport -------------------------------------------------------------


class Wire:
    """A MockTransport handler: records each request and answers 200 with ``answer``."""

    def __init__(self, answer: Any = None, *, ensure_ascii: bool = False) -> None:
        self.answer = spec_example("200", "dockerfileBuild") if answer is None else answer
        self.ensure_ascii = ensure_ascii
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        content = json.dumps(self.answer, ensure_ascii=self.ensure_ascii).encode()
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    def only_request(self) -> httpx.Request:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


def our_client(wire: Wire, token: str = TOKEN) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(wire), trust_env=False)
    return Client(token=token, base_url=BASE_URL, max_retries=0, http_client=http)


def send_async(wire: Wire, token: str, project_id: str, data: Any) -> BuildService:
    async def call() -> BuildService:
        http = httpx.AsyncClient(transport=httpx.MockTransport(wire), trust_env=False)
        async with AsyncClient(
            token=token, base_url=BASE_URL, max_retries=0, http_client=http
        ) as client:
            return await client.create.service.build(project_id=project_id, data=data)

    return asyncio.run(call())


_PATH = re.compile(rb"/v1/projects/([^/]*)/services/build")
_SEGMENT = re.compile(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})*")


def assert_is_the_operation(request: httpx.Request, *, project_id: str, token: str) -> None:
    """``request`` is createBuildService for ``project_id``, as the spec has it."""
    assert request.method == "POST"
    url = request.url
    assert (url.scheme, url.host, url.port) == ("https", HOST, None), url
    assert url.query == b"", url
    assert url.fragment == "", url
    match = _PATH.fullmatch(url.raw_path)
    assert match is not None, f"{url.raw_path!r} is not the operation's path"
    segment = match.group(1).decode("ascii")
    assert _SEGMENT.fullmatch(segment), f"{segment!r}: only unreserved characters and %XX"
    assert segment not in (".", ".."), f"{segment!r} is a dot segment, which URLs drop"
    assert unquote(segment, errors="strict") == project_id, segment
    assert request.headers.get_list("authorization") == [f"Bearer {token}"]
    assert request.headers.get_list("content-type") == ["application/json"]


# --- 1. a valid body goes out as the spec says ------------------------------------------------


def test_valid_bodies_go_out_as_the_operation_says() -> None:
    seen: Counter[str] = Counter()
    bodies: set[str] = set()

    @settings(PROPERTY_SETTINGS, max_examples=VALID_CASES)
    @given(body=valid_requests(), project_id=project_ids(), token=tokens())
    @example(body=SEEDS[0], project_id=".", token=TOKEN)
    @example(body=SEEDS[1], project_id="..", token=TOKEN)
    @example(body=SEEDS[0], project_id="a/b?c#d%e f", token=TOKEN)
    def check(body: dict[str, Any], project_id: str, token: str) -> None:
        given_body = copy.deepcopy(body)
        wire = Wire()
        with our_client(wire, token) as client:
            client.create.service.build(project_id=project_id, data=body)
        request = wire.only_request()
        assert_is_the_operation(request, project_id=project_id, token=token)
        sent = json.loads(request.content)
        assert exact_json(sent) == exact_json(given_body), "not the caller's JSON"
        assert not nulls(sent)
        assert exact_json(body) == exact_json(given_body), "the caller's mapping was changed"

        model_wire = Wire()
        with our_client(model_wire, token) as client:
            client.create.service.build(
                project_id=project_id, data=CreateBuildServiceRequest.model_validate(body)
            )
        from_model = model_wire.only_request()
        assert_is_the_operation(from_model, project_id=project_id, token=token)
        assert same_json(json.loads(from_model.content), body), from_model.content

        async_wire = Wire()
        send_async(async_wire, token, project_id, body)
        from_async = async_wire.only_request()
        assert (from_async.method, from_async.url) == (request.method, request.url)
        assert from_async.headers.multi_items() == request.headers.multi_items()
        assert from_async.content == request.content

        seen["cases"] += 1
        seen["buildpack" if "buildpack" in body["buildSettings"] else "dockerfile"] += 1
        bodies.add(exact_json(body))

    check()
    assert seen["cases"] >= VALID_CASES // 2, seen["cases"]
    assert seen["buildpack"] >= VALID_CASES // 10, seen
    assert seen["dockerfile"] >= VALID_CASES // 10, seen
    assert len(bodies) >= VALID_CASES // 3, f"only {len(bodies)} distinct bodies"


# --- 2. the same request as openapi-python-client's client -----------------------------------


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _only_create(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with createBuildService alone, and only the schemas it reaches."""
    kept = with_operations(document, ["createBuildService"])
    schemas = kept["components"]["schemas"]
    reached: set[str] = set()
    todo = [kept["paths"], kept["components"].get("responses", {})]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in reached:
                    reached.add(name)
                    todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    kept["components"]["schemas"] = {k: v for k, v in schemas.items() if k in reached}
    return kept


@pytest.fixture(scope="module")
def opc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """openapi-python-client's client for the spec, generated into a temporary folder."""
    pytest.importorskip(
        "openapi_python_client",
        reason="openapi-python-client is not installed (it is in the bench dependency group)",
    )
    root = tmp_path_factory.mktemp("opc")
    config = root / "config.json"
    config.write_text(json.dumps({"post_hooks": []}), encoding="utf-8")  # no ruff run needed
    # The spec as our surfaces read it (allOf flattened), so both clients have the same
    # models, cut down to the operation compared here: openapi-python-client refuses some
    # of the other operations' schemas (a oneOf of objects with no required key).
    spec = root / "openapi.json"
    spec.write_text(json.dumps(_only_create(SPEC)), encoding="utf-8")
    argv = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(spec),
        "--output-path",
        str(root / OPC_PACKAGE),
        "--meta",
        "none",
        "--config",
        str(config),
        "--fail-on-warning",
    ]
    run = subprocess.run(argv, capture_output=True, encoding="utf-8", timeout=300, check=False)
    if run.returncode != 0:
        pytest.fail(
            f"openapi-python-client could not generate a client for {SPEC_PATH.name}"
            f" (exit {run.returncode}):\n{run.stdout}\n{run.stderr}",
            pytrace=False,
        )
    sys.path.insert(0, str(root))
    try:
        modules: dict[str, ModuleType] = {
            name: importlib.import_module(f"{OPC_PACKAGE}.{name}")
            for name in ("client", "models", "api.services.create_build_service")
        }
        yield SimpleNamespace(
            AuthenticatedClient=modules["client"].AuthenticatedClient,
            Request=modules["models"].CreateBuildServiceRequest,
            create_build_service=modules["api.services.create_build_service"],
            root=Path(root),
        )
    finally:
        sys.path.remove(str(root))
        _forget(OPC_PACKAGE)


def wire_view(request: httpx.Request) -> dict[str, Any]:
    """What the two clients must agree on, besides the body."""
    url = request.url
    return {
        "method": request.method,
        "url": (url.scheme, url.host, url.port, url.raw_path, url.query, url.fragment),
        "authorization": request.headers.get_list("authorization"),
        "content-type": request.headers.get_list("content-type"),
    }


def opc_can_send(project_id: str) -> bool:
    """False for the ids openapi-python-client sends to another path (see the docstring)."""
    return project_id not in (".", "..")


def test_valid_bodies_go_out_as_openapi_python_client_sends_them(opc: SimpleNamespace) -> None:
    ours, theirs = Wire(), Wire()
    seen: Counter[str] = Counter()
    their_client = opc.AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        httpx_args={"transport": httpx.MockTransport(theirs), "trust_env": False},
    )

    @settings(PROPERTY_SETTINGS, max_examples=PARITY_CASES)
    @given(body=valid_requests(), project_id=project_ids().filter(opc_can_send))
    @example(body=SEEDS[1], project_id="a/b?c#d%e f")
    def check(body: dict[str, Any], project_id: str) -> None:
        ours.requests.clear()
        theirs.requests.clear()
        their_body = opc.Request.from_dict(copy.deepcopy(body))
        assert same_json(their_body.to_dict(), body), "openapi-python-client cannot express it"
        with our_client(ours) as client:
            client.create.service.build(project_id=project_id, data=body)
        response = opc.create_build_service.sync_detailed(
            project_id, client=their_client, body=their_body
        )
        assert response.status_code == 200
        mine, other = ours.only_request(), theirs.only_request()
        assert wire_view(mine) == wire_view(other)
        assert same_json(json.loads(mine.content), json.loads(other.content)), (
            mine.content,
            other.content,
        )
        seen["cases"] += 1

    with their_client:
        check()
    assert seen["cases"] >= PARITY_CASES // 2, seen


def test_openapi_python_client_loses_dot_segments(opc: SimpleNamespace) -> None:
    """Why ``.`` and ``..`` are left out of the parity test: the other client's requests."""
    theirs = Wire()
    expected = {".": b"/v1/projects/services/build", "..": b"/v1/services/build"}
    with opc.AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        httpx_args={"transport": httpx.MockTransport(theirs), "trust_env": False},
    ) as their_client:
        for project_id, path in expected.items():
            theirs.requests.clear()
            opc.create_build_service.sync_detailed(
                project_id, client=their_client, body=opc.Request.from_dict(SEEDS[0])
            )
            assert theirs.only_request().url.raw_path == path


# --- 3. an invalid body sends nothing --------------------------------------------------------


def test_invalid_bodies_send_nothing() -> None:
    seen: Counter[str] = Counter()

    @settings(PROPERTY_SETTINGS, max_examples=INVALID_CASES)
    @given(invalid_requests())
    def check(generated: tuple[str, Any]) -> None:
        source, body = generated
        seen[source] += 1
        wire = Wire()
        with our_client(wire) as client:
            if not isinstance(body, Mapping):
                with pytest.raises(TypeError):
                    client.create.service.build(project_id=PROJECT, data=body)
                assert wire.requests == []
                seen["not a mapping"] += 1
                return
            with pytest.raises(RequestValidationError) as raised:
                client.create.service.build(project_id=PROJECT, data=body)
            assert wire.requests == [], "an invalid body was sent"
            errors = raised.value.errors
            assert errors, "no error named"
            for error in errors:
                assert error.path.startswith("$"), error
                assert error.rule, error
                assert error.message, error
                assert locates(body, error.path, error.rule), f"{error} is not in {body!r}"

            client.create.service.build(project_id=PROJECT, data=body, skip_validation=True)
            sent = wire.only_request()
            assert exact_json(json.loads(sent.content)) == exact_json(body)
            seen["mappings"] += 1

    check()
    assert seen["mappings"] >= INVALID_CASES // 2, seen
    assert seen["schemathesis"] >= INVALID_CASES // 4, seen
    assert seen["edit"] >= INVALID_CASES // 4, seen


# --- 4. every valid response parses -------------------------------------------------------------


def test_valid_responses_parse() -> None:
    seen: Counter[str] = Counter()

    @settings(PROPERTY_SETTINGS, max_examples=RESPONSE_CASES)
    @given(body=valid_responses(), ensure_ascii=st.booleans())
    def check(body: dict[str, Any], ensure_ascii: bool) -> None:
        wire = Wire(body, ensure_ascii=ensure_ascii)
        with our_client(wire) as client:
            result = client.create.service.build(project_id=PROJECT, data=SEEDS[0])
        assert isinstance(result, BuildService)
        assert result == BuildService.model_validate(body["data"])
        dumped = result.model_dump(mode="json")
        assert dumped == body["data"]
        assert same_json(dumped, body["data"]), dumped
        seen["cases"] += 1

    check()
    assert seen["cases"] >= RESPONSE_CASES // 2, seen
