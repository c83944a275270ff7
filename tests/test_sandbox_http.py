"""The sandbox as a client meets it: `python -m sandbox serve` in a subprocess, real HTTP.

Every error must come in the spec's envelope, whose ``id`` is the response's
``X-Request-Id``; every success must validate against the spec's own schema
(jsonschema-rs, not the models the sandbox validates with). The tests that
only provoke errors share one sandbox per module; the ones that create
services, or need other options, start their own.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.secrets_at_rest import KEY_ENV_VAR
from sandbox.sqlite_store import SqliteAdminStore
from sandbox.tokens import CREATE_BUILD_SERVICE, hash_token
from tests.live_sandbox import ROOT, LiveSandbox, start_sandbox
from tests.spec_data import example, oracle_for, unknown_keys

MIB = 1024 * 1024
PROJECT = "default-project"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
JSON = {"Content-Type": "application/json"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- Helpers --------------------------------------------------------------------


def endpoint(server: LiveSandbox, project: str = PROJECT) -> str:
    return f"{server.url}/v1/projects/{project}/services/build"


def seed_request(name: str | None = None, **changes: Any) -> dict[str, Any]:
    """The spec's request example (a private copy), with ``name`` and other keys replaced."""
    body: dict[str, Any] = copy.deepcopy(example("request", "dockerfileBuild"))
    if name is not None:
        body["name"] = name
    body.update(changes)
    return body


def unique_name() -> str:
    return f"Svc {secrets.token_hex(6)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_valid(schema: str, instance: Any) -> None:
    problems = [
        f"{list(e.instance_path)}: {e.message}" for e in oracle_for(schema).iter_errors(instance)
    ]
    assert not problems, f"not a valid {schema}: {problems}"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is ``status`` in a valid envelope naming its X-Request-Id; its ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert_valid("ErrorResponse", body)
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    assert error["message"].strip()
    assert error["id"] == response.headers["x-request-id"]
    return error


def assert_created(response: httpx.Response) -> dict[str, Any]:
    """The response is a 200 that validates against the spec; its ``data``."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    body = response.json()
    assert_valid("CreateBuildServiceResponse", body)
    data: dict[str, Any] = body["data"]
    return data


def failing_fields(error: dict[str, Any]) -> set[tuple[str, str]]:
    fields = error["details"]["fields"]
    pairs = {(field["path"], field["rule"]) for field in fields}
    assert len(pairs) == len(fields), f"a field is listed twice: {fields}"
    assert all(field["message"].strip() for field in fields)
    return pairs


def oracle_fields(instance: Any) -> set[tuple[str, str]]:
    """What jsonschema-rs finds wrong with a request body, as (JSON path, keyword) pairs."""
    found: set[tuple[str, str]] = set()
    for error in oracle_for("CreateBuildServiceRequest").iter_errors(instance):
        parts: list[str | int] = list(error.instance_path)
        keyword = error.kind.name
        if keyword == "required":
            found.add((json_path([*parts, error.kind.property]), keyword))
        elif keyword in ("additionalProperties", "unevaluatedProperties"):
            found.update(
                (json_path([*parts, key]), "additionalProperties")
                for key in unknown_keys("CreateBuildServiceRequest", error)
            )
        else:
            found.add((json_path(parts), keyword))
    return found


def json_path(parts: list[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:
            path += json.dumps(part).join("[]")
    return path


def every_file(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_nowhere(folder: Path, needles: dict[str, str]) -> None:
    """No file under ``folder`` holds any of ``needles`` (named by what they are)."""
    for path, data in every_file(folder).items():
        for what, needle in needles.items():
            assert needle.encode() not in data, f"{path.name} holds the {what}"


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m sandbox ARGS --db DB``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--db", str(db)],
        cwd=db.parent,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def cli_token(db: Path, *permissions: str, label: str = "") -> tuple[str, str]:
    """A new token made by `token create`: (token, its id)."""
    granted = [arg for permission in permissions for arg in ("--permission", permission)]
    done = cli(db, "token", "create", *granted, "--label", label)
    assert done.returncode == 0, done.stderr
    token_id = re.search(r"\btok_[0-9a-f]+\b", done.stderr)
    assert token_id, done.stderr
    return done.stdout.strip(), token_id[0]


def stored_token(db: Path, *permissions: str) -> str:
    """A token with exactly ``permissions``, which the CLI may not grant, stored as the CLI does."""
    token = "nfsb_" + secrets.token_urlsafe(32)
    admin = SqliteAdminStore(db)
    try:
        admin.create_token(token_hash=hash_token(token), label="test", permissions=permissions)
    finally:
        admin.close()
    return token


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def refused_start(server: LiveSandbox) -> str:
    """Start ``server``, which must exit with status 1; what it wrote on the way out."""
    before = len(server.output())
    with pytest.raises(RuntimeError, match="exited at start"):
        server.start()
    assert server.process is not None
    assert server.process.returncode == 1
    return server.output()[before:]


def read_db(db: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as session:
        yield session


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    """One sandbox for tests that get errors, or create services with unique names."""
    server = start_sandbox(tmp_path_factory.mktemp("shared"), "--quiet", "--rate-limit", "off")
    try:
        yield server
    finally:
        server.stop()


# --- 1. Compatibility with the spec's example ----------------------------------------


def test_seed_example_is_created(sandbox: LiveSandbox, client: httpx.Client) -> None:
    request = seed_request()
    before = datetime.now(UTC)
    data = assert_created(client.post(endpoint(sandbox), json=request, headers=sandbox.headers))
    after = datetime.now(UTC)

    assert data["id"] == "example-service"
    assert data["appId"] == "/sandbox-user/default-project/example-service"
    assert data["serviceType"] == "build"
    assert {key: data[key] for key in request} == request, "data must echo the request"
    assert set(example("200", "dockerfileBuild")["data"]) <= set(data)
    assert TIMESTAMP.fullmatch(data["createdAt"]), data["createdAt"]
    assert data["updatedAt"] == data["createdAt"]
    created = datetime.fromisoformat(data["createdAt"])
    assert before - timedelta(seconds=1) <= created <= after + timedelta(seconds=1)
    assert data["status"] == {
        "build": {"status": "QUEUED", "lastTransitionTime": data["createdAt"]}
    }


def test_seed_example_twice_is_a_conflict(sandbox: LiveSandbox, client: httpx.Client) -> None:
    request = seed_request()
    assert_created(client.post(endpoint(sandbox), json=request, headers=sandbox.headers))
    ids = set()
    for _ in range(2):
        response = client.post(endpoint(sandbox), json=request, headers=sandbox.headers)
        error = assert_error(response, 409)
        assert error["details"] == {"serviceId": "example-service"}
        ids.add(error["id"])
    assert len(ids) == 2, "every response has a fresh id"


# --- 2. Bad input: each answer in the envelope -----------------------------------------


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        pytest.param(None, "Missing", id="none"),
        pytest.param("Basic x", "Malformed", id="basic"),
        pytest.param("Basic dXNlcjpwYXNzd29yZA==", "Malformed", id="basic-credentials"),
        pytest.param("Bearer", "Malformed", id="bearer-alone"),
        pytest.param("Bearer  nfsb_abcdefghijklmnop", "Unknown", id="two-spaces"),
        pytest.param("Bearer a b", "Malformed", id="two-tokens"),
        pytest.param("Bearer\tnfsb_abcdefghijklmnop", "Malformed", id="tab"),
        pytest.param("Token nfsb_abcdefghijklmnop", "Malformed", id="other-scheme"),
        pytest.param("nfsb_abcdefghijklmnop", "Malformed", id="no-scheme"),
        pytest.param("Bearer nfsb_\u00e9t\u00e9", "Malformed", id="latin-1"),
        pytest.param("Bearer nfsb_unknown-but-well-formed", "Unknown", id="unknown"),
        pytest.param("Bearer " + "a" * 10_000, "Unknown", id="long-unknown"),
    ],
)
def test_without_a_valid_token_is_unauthorized(
    shared: LiveSandbox, client: httpx.Client, authorization: str | None, reason: str
) -> None:
    headers = [] if authorization is None else [(b"Authorization", authorization.encode("latin-1"))]
    response = client.post(endpoint(shared), json=seed_request(unique_name()), headers=headers)
    error = assert_error(response, 401)
    assert error["message"].startswith(reason), error["message"]


def test_revoked_token_is_unauthorized(sandbox: LiveSandbox, client: httpx.Client) -> None:
    token, token_id = cli_token(sandbox.db, CREATE_BUILD_SERVICE, label="short-lived")
    url = endpoint(sandbox)
    assert_created(client.post(url, json=seed_request("Before Revocation"), headers=bearer(token)))

    revoked = cli(sandbox.db, "token", "revoke", token_id)  # while the server runs
    assert revoked.returncode == 0, revoked.stderr
    assert token_id in revoked.stdout

    response = client.post(url, json=seed_request("After Revocation"), headers=bearer(token))
    assert "revoked" in assert_error(response, 401)["message"]
    assert_created(client.post(url, json=seed_request("After Revocation"), headers=sandbox.headers))
    again = cli(sandbox.db, "token", "revoke", token_id)
    assert again.returncode == 1
    assert token_id in again.stderr


@pytest.mark.parametrize(
    "permissions",
    [(), ("Project > Services > General > Read",), ("Project > Services > General > Create!",)],
    ids=["none", "read", "near-miss"],
)
def test_token_without_the_permission_is_forbidden(
    shared: LiveSandbox, client: httpx.Client, permissions: tuple[str, ...]
) -> None:
    token = stored_token(shared.db, *permissions)  # while the server runs
    response = client.post(
        endpoint(shared), json=seed_request(unique_name()), headers=bearer(token)
    )
    assert CREATE_BUILD_SERVICE in assert_error(response, 403)["message"]


def test_token_with_only_the_permission_may_create(
    shared: LiveSandbox, client: httpx.Client
) -> None:
    token, _ = cli_token(shared.db, CREATE_BUILD_SERVICE)
    request = seed_request(unique_name())
    assert_created(client.post(endpoint(shared), json=request, headers=bearer(token)))


def test_unknown_project_is_not_found_until_created(
    sandbox: LiveSandbox, client: httpx.Client
) -> None:
    url = endpoint(sandbox, "team-two")
    response = client.post(url, json=seed_request(), headers=sandbox.headers)
    assert "team-two" in assert_error(response, 404)["message"]

    created = cli(sandbox.db, "project", "create", "team-two")  # while the server runs
    assert created.returncode == 0, created.stderr
    data = assert_created(client.post(url, json=seed_request(), headers=sandbox.headers))
    assert data["appId"] == "/sandbox-user/team-two/example-service"
    # Service ids are unique per project: the same name is free in another one.
    assert_created(client.post(endpoint(sandbox), json=seed_request(), headers=sandbox.headers))
    assert_error(client.post(url, json=seed_request(), headers=sandbox.headers), 409)


def test_checks_run_in_the_documented_order(sandbox: LiveSandbox, client: httpx.Client) -> None:
    """401, 403, 404, 415, 413, 400: a request wrong in many ways hears of the first."""
    no_permission = stored_token(sandbox.db)
    unknown = endpoint(sandbox, "no-such-project")
    text = {"Content-Type": "text/plain"}
    steps: list[tuple[int, str, dict[str, str], bytes]] = [
        (401, unknown, text, b"{"),
        (403, unknown, {**text, **bearer(no_permission)}, b"{"),
        (404, unknown, {**text, **sandbox.headers}, b"{"),
        (415, endpoint(sandbox), {**text, **sandbox.headers}, b"{" * (MIB + 1)),
        (413, endpoint(sandbox), {**JSON, **sandbox.headers}, b"\xff" * (MIB + 1)),
        (400, endpoint(sandbox), {**JSON, **sandbox.headers}, b"\xff{"),
    ]
    for status, url, headers, content in steps:
        assert_error(client.post(url, content=content, headers=headers), status)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/json; charset=latin-1",
        "application/json; charset=ISO-8859-1",
        "application/json; charset=utf-16",
        "application/json; charset",
    ],
)
def test_unsupported_media_type(
    shared: LiveSandbox, client: httpx.Client, content_type: str | None
) -> None:
    headers = dict(shared.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps(seed_request(unique_name())).encode()
    response = client.post(endpoint(shared), content=body, headers=headers)
    if content_type is None:
        assert "content-type" not in response.request.headers
    assert_error(response, 415)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf-8"',
        "Application/JSON;charset=utf-8",
    ],
)
def test_json_media_types_are_accepted(
    shared: LiveSandbox, client: httpx.Client, content_type: str
) -> None:
    headers = {**shared.headers, "Content-Type": content_type}
    body = json.dumps(seed_request(unique_name())).encode()
    assert_created(client.post(endpoint(shared), content=body, headers=headers))


def _chunks(size: int, fill: bytes = b" ", chunk: int = 64 * 1024) -> Iterator[bytes]:
    while size > 0:
        yield fill * min(chunk, size)
        size -= chunk


def test_body_over_the_limit_by_content_length(shared: LiveSandbox, client: httpx.Client) -> None:
    headers = {**shared.headers, **JSON}
    response = client.post(endpoint(shared), content=b" " * (MIB + 1), headers=headers)
    assert response.request.headers["content-length"] == str(MIB + 1)
    assert str(MIB) in assert_error(response, 413)["message"]


def test_body_over_the_limit_streamed(shared: LiveSandbox, client: httpx.Client) -> None:
    headers = {**shared.headers, **JSON}
    response = client.post(endpoint(shared), content=_chunks(MIB + 1), headers=headers)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


def test_far_over_the_limit_is_still_answered(shared: LiveSandbox, client: httpx.Client) -> None:
    headers = {**shared.headers, **JSON}
    response = client.post(endpoint(shared), content=_chunks(4 * MIB), headers=headers)
    assert_error(response, 413)
    # The connection survives (or is replaced) for the next request.
    assert_error(client.post(endpoint(shared), content=b"{}", headers=headers), 400)


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON text of exactly ``size`` bytes (trailing whitespace is still JSON)."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_exactly_the_limit_is_read(
    shared: LiveSandbox, client: httpx.Client, streamed: bool
) -> None:
    """A body of exactly 1 MiB is within the limit: its problems are a 400, not a 413."""
    body = seed_request(unique_name(), padding="")
    body["padding"] = "x" * (MIB - len(json.dumps(body).encode()))
    content = _padded(body, MIB)
    assert len(content) == MIB
    sent: bytes | Iterator[bytes] = iter([content[: MIB // 2], content[MIB // 2 :]])
    if not streamed:
        sent = content
    headers = {**shared.headers, **JSON}
    error = assert_error(client.post(endpoint(shared), content=sent, headers=headers), 400)
    assert failing_fields(error) == {("$.padding", "additionalProperties")}


def test_valid_body_of_exactly_the_limit_is_created(
    shared: LiveSandbox, client: httpx.Client
) -> None:
    request = seed_request(unique_name())
    headers = {**shared.headers, **JSON}
    content = _padded(request, MIB)
    data = assert_created(client.post(endpoint(shared), content=content, headers=headers))
    assert data["name"] == request["name"]


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "\xff"}',
        b'{"name": "Caf\xe9 Service"}',  # Latin-1
        b'{"name": "\xc0\xaf"}',  # an overlong encoding of "/"
        b'{"name": "\xed\xa0\x80"}',  # a UTF-16 surrogate, encoded as if a character
        b'{"name": "\xe2\x82"}',  # a truncated sequence
        b"\xff\xfe{\x00}\x00",  # UTF-16 with its byte order mark
    ],
    ids=["ff", "latin-1", "overlong", "surrogate", "truncated", "utf-16"],
)
def test_invalid_utf8_is_a_bad_request(
    shared: LiveSandbox, client: httpx.Client, content: bytes
) -> None:
    headers = {**shared.headers, **JSON}
    error = assert_error(client.post(endpoint(shared), content=content, headers=headers), 400)
    assert "UTF-8" in error["message"]
    assert "details" not in error


_SEED_TEXT = json.dumps(example("request", "dockerfileBuild"))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n", id="whitespace"),
        pytest.param(_SEED_TEXT[: len(_SEED_TEXT) // 2].encode(), id="truncated"),
        pytest.param(_SEED_TEXT[:-1].encode(), id="unclosed"),
        pytest.param(_SEED_TEXT[:-1].encode() + b",}", id="trailing-comma"),
        pytest.param(b'{"tags": ["a-tag",]}', id="trailing-comma-in-array"),
        pytest.param(_SEED_TEXT.replace("16384", "NaN", 1).encode(), id="nan"),
        pytest.param(_SEED_TEXT.replace("16384", "Infinity", 1).encode(), id="infinity"),
        pytest.param(_SEED_TEXT.replace("16384", "-Infinity", 1).encode(), id="minus-infinity"),
        pytest.param(b'{"name": NaN}', id="nan-for-a-string"),
        pytest.param(b"NaN", id="nan-alone"),
        pytest.param(b"{'name': 'Single Quotes'}", id="single-quotes"),
        pytest.param(b'{name: "Bare Key"}', id="bare-key"),
        pytest.param(b'{"name": "Api" /* comment */}', id="comment"),
        pytest.param(b"{}{}", id="two-documents"),
        pytest.param(_SEED_TEXT.encode() + b" x", id="trailing-garbage"),
        pytest.param(b'{"name": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param(b'{"name": "tab\there"}', id="raw-control-character"),
        pytest.param(b"\xef\xbb\xbf" + _SEED_TEXT.encode(), id="byte-order-mark"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
    ],
)
def test_malformed_json_is_a_bad_request(
    shared: LiveSandbox, client: httpx.Client, content: bytes
) -> None:
    headers = {**shared.headers, **JSON}
    error = assert_error(client.post(endpoint(shared), content=content, headers=headers), 400)
    assert "not valid JSON" in error["message"], error["message"]
    assert "details" not in error


def _without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in keys}


SCHEMA_VIOLATIONS: dict[str, tuple[Any, set[tuple[str, str]]]] = {
    "pattern-and-extra-key": (
        seed_request("1 Bad Name", colour="red"),
        {("$.name", "pattern"), ("$.colour", "additionalProperties")},
    ),
    "double-space": (seed_request("My  Service"), {("$.name", "pattern")}),
    "missing": (
        _without(seed_request(), "vcsData", "billing"),
        {("$.vcsData", "required"), ("$.billing", "required")},
    ),
    "too-short": (seed_request("ab"), {("$.name", "minLength")}),
    "too-long": (seed_request(description="a" * 201), {("$.description", "maxLength")}),
    "enum": (
        seed_request(vcsData={"projectUrl": "https://github.com/acme/api", "projectType": "svn"}),
        {("$.vcsData.projectType", "enum")},
    ),
    "array-items": (
        seed_request(tags=["Not A Slug", "fine-slug", 5]),
        {("$.tags[0]", "pattern"), ("$.tags[2]", "type")},
    ),
    "secret-files": (
        seed_request(buildFiles={"/etc/app conf": {"encoding": "utf-8"}, "/ok": {"data": 5}}),
        {('$.buildFiles["/etc/app conf"].data', "required"), ('$.buildFiles["/ok"].data', "type")},
    ),
    "map-values": (
        seed_request(buildArguments={"A": 1, "B": "b"}),
        {("$.buildArguments.A", "type")},
    ),
    "boolean": (seed_request(disabledCI="yes"), {("$.disabledCI", "type")}),
    "not-an-object": ([], {("$", "type")}),
    "null": (None, {("$", "type")}),
    "empty-object": (
        {},
        {(f"$.{key}", "required") for key in ("name", "billing", "vcsData", "buildSettings")},
    ),
    "five-at-once": (
        seed_request("", description="caf\u00e9", disabledCI=1, buildSource="svn", tags="x"),
        {
            ("$.name", "minLength"),
            ("$.description", "pattern"),
            ("$.disabledCI", "type"),
            ("$.buildSource", "enum"),
            ("$.tags", "type"),
        },
    ),
}


@pytest.mark.parametrize(("body", "expected"), SCHEMA_VIOLATIONS.values(), ids=SCHEMA_VIOLATIONS)
def test_schema_violations_list_every_failing_field(
    shared: LiveSandbox, client: httpx.Client, body: Any, expected: set[tuple[str, str]]
) -> None:
    content = json.dumps(body).encode()
    response = client.post(endpoint(shared), content=content, headers={**shared.headers, **JSON})
    error = assert_error(response, 400)
    found = failing_fields(error)
    assert found == expected
    count = len(expected)
    assert f"({count} failing field{'s' if count > 1 else ''})" in error["message"]
    # The independent verdict: every listed (path, rule) is one jsonschema-rs finds too,
    # and every field jsonschema-rs finds is listed.
    oracle = oracle_fields(body)
    assert found <= oracle
    assert {path for path, _ in oracle} == {path for path, _ in found}


def test_number_field_paths_carry_no_union_tags(shared: LiveSandbox, client: httpx.Client) -> None:
    body = seed_request(unique_name())
    body["buildSettings"]["dockerfile"]["buildkit"] = {"internalCacheStorage": "lots"}
    error = assert_error(client.post(endpoint(shared), json=body, headers=shared.headers), 400)
    path = "$.buildSettings.dockerfile.buildkit.internalCacheStorage"
    assert failing_fields(error) == {(path, "type")}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v1/projects/default-project/services/build/",
        "/v1/projects/default-project/services/build/x/y",
        "/v1/projects//services/build",
        "/v2/projects/default-project/services/build",
    ],
)
def test_unknown_path_is_not_found(shared: LiveSandbox, client: httpx.Client, path: str) -> None:
    for headers in ({}, shared.headers):
        response = client.post(shared.url + path, json=seed_request(), headers=headers)
        assert path in assert_error(response, 404)["message"]


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
def test_other_methods_are_not_allowed(
    shared: LiveSandbox, client: httpx.Client, method: str
) -> None:
    response = client.request(method, endpoint(shared), headers=shared.headers)
    assert method in assert_error(response, 405)["message"]
    assert set(response.headers["allow"].split(", ")) == {"POST", "PUT"}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_build_is_a_service_id_to_get_and_delete(
    shared: LiveSandbox, client: httpx.Client, method: str
) -> None:
    """As on the real API, ``.../services/build`` is also the service with the id ``build``."""
    response = client.request(method, endpoint(shared), headers=shared.headers)
    assert response.status_code == 404
    assert response.headers["x-request-id"]


def test_request_ids_are_fresh(shared: LiveSandbox, client: httpx.Client) -> None:
    ids = {
        client.post(endpoint(shared), content=b"{", headers=shared.headers).headers["x-request-id"]
        for _ in range(20)
    }
    assert len(ids) == 20


def test_rate_limit_headers_are_absent_when_off(shared: LiveSandbox, client: httpx.Client) -> None:
    response = client.post(endpoint(shared), json={}, headers=shared.headers)
    assert not [name for name in response.headers if name.startswith("x-ratelimit")]


def _seed_text(name: str, old: str = "", new: str = "") -> bytes:
    """The seed request as JSON text named ``name``, with ``old`` replaced once by ``new``."""
    return json.dumps(seed_request(name)).replace(old, new, 1).encode()


_ODD_BODIES: list[tuple[str, bytes]] = [
    ("nul-in-a-value", _seed_text("Odd One", '"abcdef"', '"a\\u0000b"')),
    ("nul-in-a-key", _seed_text("Odd Two", '"ARGUMENT_1"', '"A\\u0000"')),
    ("emoji-key", _seed_text("Odd Three", '"ARGUMENT_1"', '"\U0001f600"')),
    ("escaped-emoji", _seed_text("Odd Four", '"abcdef"', '"\\ud83d\\ude00"')),
    ("float-for-an-integer", _seed_text("Odd Five", "16384", "16384.0")),
    ("exponent-for-an-integer", _seed_text("Odd Six", "16384", "1.6384e4")),
    ("huge-integer", _seed_text("Odd Seven", "16384", "1" + "0" * 4000)),
    ("out-of-range-float", _seed_text("Odd Eight", "16384", "1e400")),
    ("negative-zero", _seed_text("Odd Nine", "16384", "-0")),
    ("line-separator-name", b'{"name": "Api\\u2028Gateway"}'),
    ("non-ascii-name", '{"name": "\u00d1ame Service"}'.encode()),
    ("huge-name", json.dumps(seed_request("A" * 100_000)).encode()),
    ("duplicate-keys", b'{"name": "Api", "name": 5}'),
    ("string-root", b'"x"'),
    ("number-root", b"123"),
    ("deep-object", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("many-keys", json.dumps({f"k{i}": i for i in range(30_000)}).encode()),
    ("many-tags", json.dumps(seed_request("Odd Ten", tags=[1] * 50_000)).encode()),
    (
        "wrong-oneof",
        json.dumps(
            seed_request("Odd Eleven", buildSettings={"buildpack": {}, "dockerfile": {}})
        ).encode(),
    ),
]


@pytest.mark.parametrize(
    "content", [body for _, body in _ODD_BODIES], ids=[n for n, _ in _ODD_BODIES]
)
def test_odd_bodies_never_fail_the_server(
    shared: LiveSandbox, client: httpx.Client, content: bytes
) -> None:
    headers = {**shared.headers, **JSON}
    logged = len(shared.output())
    response = client.post(endpoint(shared), content=content, headers=headers)
    if response.status_code == 200:
        assert_created(response)
    else:
        assert_error(response, 400)
    assert "Traceback" not in shared.output()[logged:]


@pytest.mark.parametrize(
    ("headers", "project"),
    [
        ({"Content-Type": "application/json;;"}, PROJECT),
        ({"Content-Type": ";"}, PROJECT),
        ({"Content-Type": "application/json; charset=utf-8; charset=latin-1"}, PROJECT),
        ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, PROJECT),
        ({"Content-Type": "application/json"}, "%00"),
        ({"Content-Type": "application/json"}, "%FF%FE"),
        ({"Content-Type": "application/json"}, "x" * 5000),
        ({"Content-Type": "application/json"}, "..%2F..%2Fetc"),
    ],
)
def test_odd_requests_never_fail_the_server(
    shared: LiveSandbox, client: httpx.Client, headers: dict[str, str], project: str
) -> None:
    url = endpoint(shared, project)
    content = json.dumps(seed_request(unique_name())).encode()
    logged = len(shared.output())
    response = client.post(url, content=content, headers={**shared.headers, **headers})
    if response.status_code == 200:
        assert_created(response)
    else:
        assert 400 <= response.status_code < 500
        assert_error(response, response.status_code)
    assert "Traceback" not in shared.output()[logged:]


# --- 3. Rate limits ----------------------------------------------------------------------


def _fresh_window(seconds: int, needed: float) -> None:
    """Sleep into the next fixed window if fewer than ``needed`` seconds are left of this one."""
    left = seconds - time.time() % seconds
    if left < needed:
        time.sleep(left + 0.1)


def test_rate_limit_is_per_token(tmp_path: Path, client: httpx.Client) -> None:
    server = start_sandbox(tmp_path / "limited", "--quiet", "--rate-limit", "3/minute")
    try:
        second, _ = cli_token(server.db, "*", label="second")
        url = endpoint(server)
        _fresh_window(60, needed=20)
        started = time.time()
        responses = [
            client.post(url, json=seed_request(f"Limited {n}"), headers=server.headers)
            for n in ("One", "Two", "Three", "Four", "Five")
        ]
        for response in responses[:3]:
            assert_created(response)
        remaining = [int(r.headers["x-ratelimit-remaining"]) for r in responses]
        assert remaining == [2, 1, 0, 0, 0]
        assert {r.headers["x-ratelimit-limit"] for r in responses} == {"3"}
        (reset,) = {int(r.headers["x-ratelimit-reset"]) for r in responses}
        assert reset % 60 == 0
        assert started < reset <= started + 61
        for response in responses[3:]:
            assert "Rate limit" in assert_error(response, 429)["message"]
            retry_after = response.headers["retry-after"]
            assert retry_after.isdigit(), retry_after
            assert 1 <= int(retry_after) <= min(60, reset - int(started))
        assert "retry-after" not in responses[0].headers

        # Another token has its own allowance; the first token's is still spent.
        other = client.post(url, json=seed_request("Limited Four"), headers=bearer(second))
        assert_created(other)
        assert other.headers["x-ratelimit-remaining"] == "2"
        spent = client.post(url, json=seed_request("Limited Six"), headers=server.headers)
        assert_error(spent, 429)

        # Callers without a valid token share their address's allowance.
        anonymous = [
            client.post(url, json={}),
            client.post(url, json={}, headers={"Authorization": "Basic x"}),
            client.post(url, json={}, headers=bearer("nfsb_not-a-real-token-at-all")),
            client.post(url, json={}),
        ]
        assert [r.status_code for r in anonymous] == [401, 401, 401, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in anonymous] == ["2", "1", "0", "0"]
        assert_error(anonymous[-1], 429)
        assert time.time() < reset, "the window ended mid-test; the counts above are unreliable"
    finally:
        server.stop()


# --- 4. What a new service looks like ------------------------------------------------------


@pytest.mark.parametrize("disabled_ci", [True, False, None], ids=["true", "false", "absent"])
def test_status_follows_disabled_ci(
    shared: LiveSandbox, client: httpx.Client, disabled_ci: bool | None
) -> None:
    request = seed_request(unique_name())
    if disabled_ci is not None:
        request["disabledCI"] = disabled_ci
    data = assert_created(client.post(endpoint(shared), json=request, headers=shared.headers))
    if disabled_ci is True:
        assert data["status"] == {}
    else:
        build = {"status": "QUEUED", "lastTransitionTime": data["createdAt"]}
        assert data["status"] == {"build": build}
    assert ("disabledCI" in data) == (disabled_ci is not None)


def test_ids_derive_from_names(sandbox: LiveSandbox, client: httpx.Client) -> None:
    url = endpoint(sandbox)
    data = assert_created(
        client.post(url, json=seed_request("Api Gateway"), headers=sandbox.headers)
    )
    assert data["id"] == "api-gateway"
    assert data["appId"] == "/sandbox-user/default-project/api-gateway"
    for same in ("api gateway", "API-Gateway", "Api\tGateway", "api-gateway"):
        response = client.post(url, json=seed_request(same), headers=sandbox.headers)
        assert assert_error(response, 409)["details"] == {"serviceId": "api-gateway"}, same
    for name, service_id in [("Api Gateway 2", "api-gateway-2"), ("My-Api Gate", "my-api-gate")]:
        data = assert_created(client.post(url, json=seed_request(name), headers=sandbox.headers))
        assert data["id"] == service_id
        assert data["name"] == name


# --- 5. Secrets at rest --------------------------------------------------------------------


def _secret_request(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A request with fresh secret contents, and those contents (plain and base64) by name."""
    plain = {
        "build file": f"build-file-{secrets.token_hex(16)}",
        "secret mount": f"secret-mount-{secrets.token_hex(16)}",
    }
    encoded = {what: base64.b64encode(text.encode()).decode() for what, text in plain.items()}
    request = seed_request(
        name,
        buildFiles={"/run/app.env": {"data": encoded["build file"], "encoding": "utf-8"}},
        dockerSecretMounts={"npm_token": {"data": encoded["secret mount"]}},
    )
    needles = {**plain, **{f"{what} (base64)": text for what, text in encoded.items()}}
    return request, needles


def test_secrets_are_encrypted_at_rest_and_never_logged(
    tmp_path: Path, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    folder = tmp_path / "secretive"
    server = start_sandbox(folder)  # not --quiet: the access log is on; default rate limit
    try:
        request, needles = _secret_request("Secret Keeper")
        response = client.post(endpoint(server), json=request, headers=server.headers)
        data = assert_created(response)
        assert data["buildFiles"] == request["buildFiles"]
        assert data["dockerSecretMounts"] == request["dockerSecretMounts"]
        assert response.headers["x-ratelimit-limit"] == "1000"
        assert response.headers["x-ratelimit-remaining"] == "999"

        key_file = folder / "sandbox.db.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        needles["admin token"] = server.admin_token
        assert (folder / "sandbox.db-wal").exists()
        assert_nowhere(folder, needles)  # while running: the row is still in the WAL
        files = every_file(folder)
        assert hash_token(server.admin_token).encode() in b"".join(files.values())
        for path, content in files.items():
            if path != key_file:
                assert key.encode() not in content, f"{path.name} holds the secret key"

        ((record, sealed),) = read_db(
            server.db, "SELECT record, sealed_secrets FROM services WHERE id = 'secret-keeper'"
        )
        stored = json.loads(record)
        assert stored["buildFiles"] == {"/run/app.env": {"encoding": "utf-8"}}
        assert stored["dockerSecretMounts"] == {"npm_token": {}}
        assert isinstance(sealed, bytes)
        assert sealed[:1] == b"\x01"
        assert len(sealed) > 1 + 12 + 16 + len(needles["build file (base64)"])

        log = server.output()
        assert "POST /v1/projects/default-project/services/build" in log, "no access log"
        assert "200" in log
    finally:
        server.stop()
    assert_nowhere(folder, needles)  # after the checkpoint at shutdown too


def test_key_from_the_environment(tmp_path: Path, client: httpx.Client) -> None:
    folder = tmp_path / "keyed"
    key = new_key()
    server = start_sandbox(folder, "--quiet", "--rate-limit", "off", env={KEY_ENV_VAR: key})
    try:
        request, needles = _secret_request("Env Keyed")
        assert_created(client.post(endpoint(server), json=request, headers=server.headers))
        assert not list(folder.glob("*.key")), "with the key in the environment, no key file"
        assert_nowhere(folder, {**needles, "secret key": key})

        server.restart()  # the same key: the service is still there
        response = client.post(endpoint(server), json=request, headers=server.headers)
        assert_error(response, 409)

        server.env[KEY_ENV_VAR] = other = new_key()
        server.stop()
        output = refused_start(server)
        assert f"${KEY_ENV_VAR}" in output
        assert "not the key" in output
        assert key not in output
        assert other not in output
        assert not list(folder.glob("*.key"))
    finally:
        server.stop()


def test_wrong_key_file_is_refused(
    tmp_path: Path, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    folder = tmp_path / "filed"
    server = start_sandbox(folder, "--quiet", "--rate-limit", "off")
    key_file = folder / "sandbox.db.key"
    try:
        request, _ = _secret_request("File Keyed")
        assert_created(client.post(endpoint(server), json=request, headers=server.headers))
        server.stop()
        original = key_file.read_text()

        def refused(*fragments: str) -> None:
            output = refused_start(server)
            for fragment in fragments:
                assert fragment in output, output

        key_file.write_text(new_key() + "\n")
        refused(str(key_file), "not the key")
        key_file.write_text("too-short\n")
        refused(str(key_file), "32 bytes")
        key_file.write_text(original)
        key_file.chmod(0o644)
        refused(str(key_file), "chmod 600")
        key_file.chmod(0o600)
        server.env[KEY_ENV_VAR] = new_key()  # the environment wins over the file
        refused(f"${KEY_ENV_VAR}", "not the key")
        server.env[KEY_ENV_VAR] = "not base64 at all!"
        refused(f"${KEY_ENV_VAR}", "32 bytes")

        del server.env[KEY_ENV_VAR]
        server.start()  # the right key again: the data is intact
        response = client.post(endpoint(server), json=request, headers=server.headers)
        assert_error(response, 409)
    finally:
        server.stop()


# --- 6. Tokens at rest ----------------------------------------------------------------------


def test_tokens_are_stored_only_as_hashes(sandbox: LiveSandbox) -> None:
    token, token_id = cli_token(sandbox.db, CREATE_BUILD_SERVICE, label="ci")
    tokens = {"admin token": sandbox.admin_token, "CLI token": token}
    files = every_file(sandbox.db.parent)
    for path, content in files.items():
        for what, text in tokens.items():
            assert text.encode() not in content, f"{path.name} holds the {what}"

    rows = read_db(sandbox.db, "SELECT id, hash, label, permissions, created_at FROM tokens")
    hashes = {row[1] for row in rows}
    assert hashes == {hash_token(text) for text in tokens.values()}
    for row in rows:
        for cell in row:
            assert not any(text in str(cell) for text in tokens.values())

    listed = cli(sandbox.db, "token", "list")
    assert listed.returncode == 0, listed.stderr
    mine = rf"^{token_id}\s+\S+\s+-\s+ci\s+\*\s+{re.escape(CREATE_BUILD_SERVICE)}$"
    assert re.search(mine, listed.stdout, re.MULTILINE), listed.stdout
    admin = r"^tok_[0-9a-f]+\s+\S+\s+-\s+admin\s+\*\s+\* \(every permission\)$"
    assert re.search(admin, listed.stdout, re.MULTILINE), listed.stdout
    for text in [*tokens.values(), *hashes]:
        assert text not in listed.stdout + listed.stderr
