"""The sandbox against a hostile client, one test per finding of the adversarial pass.

Every test talks to a real ``python -m sandbox serve`` over HTTP on 127.0.0.1 (raw
sockets where the bytes on the wire are the point) or runs the management commands
as a user types them. The server runs with short connection timeouts so the slow
and idle cases take a second or two. The last test reads the server's log: no
traceback and no 5xx after everything the others sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from northflank_build.models import CreateBuildServiceRequest

from sandbox.problems import HttpError
from sandbox.validation_pool import ValidationPool
from tests.live_sandbox import ROOT, LiveSandbox, create_body, start_sandbox
from tests.test_sandbox_cli import failed, ok, run

PROJECT = "default-project"
CREATE_PATH = f"/v1/projects/{PROJECT}/services/build"
LIST_PATH = f"/v1/projects/{PROJECT}/services"
TIMEOUTS = ("--request-timeout", "1", "--idle-timeout", "1", "--rate-limit", "off")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("hardening"), *TIMEOUTS)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def client(live: LiveSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=live.headers, timeout=30) as http:
        yield http


def address(live: LiveSandbox) -> tuple[str, int]:
    host, port = live.url.removeprefix("http://").split(":")
    return host, int(port)


def exchange(live: LiveSandbox, raw: bytes, *, half_close: bool = False) -> bytes:
    """Send ``raw`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(address(live), timeout=10) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def raw_request(live: LiveSandbox, method: str, path: str, body: bytes, *headers: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {address(live)[0]}",
        f"Authorization: Bearer {live.admin_token}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *headers,
    ]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def body_bytes(name: str, **changes: Any) -> bytes:
    return json.dumps({**create_body(name), **changes}).encode()


# 1. Bounded work per request


def test_a_body_with_200000_errors_gets_a_capped_400_counting_the_rest(
    client: httpx.Client,
) -> None:
    body = json.dumps({**create_body("many-tags"), "tags": ["t"] * 200_000})

    response = client.post(CREATE_PATH, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    error = error_of(response)
    assert len(error["details"]["fields"]) == 100
    assert error["details"]["moreFields"] == 200_000 - 100
    assert error["message"] == (
        "The request body is invalid (200000 failing fields; the first 100 are listed)"
    )
    assert error["details"]["fields"][0]["path"] == "$.tags[0]"
    assert len(response.content) < 50_000
    assert client.get(LIST_PATH).status_code == 200


def test_a_few_errors_are_all_listed_without_a_count(client: httpx.Client) -> None:
    response = client.post(CREATE_PATH, json={**create_body("few-tags"), "tags": ["t", "u"]})

    error = error_of(response)
    assert [f["path"] for f in error["details"]["fields"]] == ["$.tags[0]", "$.tags[1]"]
    assert "moreFields" not in error["details"]


def test_an_unrelated_request_is_answered_while_4_worst_case_bodies_are_in_flight(
    live: LiveSandbox, client: httpx.Client
) -> None:
    body = json.dumps({**create_body("in-flight"), "tags": ["t"] * 200_000}).encode()
    raw = raw_request(live, "POST", CREATE_PATH, body, "Content-Type: application/json")
    sockets = [socket.create_connection(address(live), timeout=120) for _ in range(4)]
    try:
        for sock in sockets:
            sock.sendall(raw)

        listed = client.get(LIST_PATH)
        still_in_flight = [sock for sock in sockets if not answer_started(sock)]

        answers = [read_all(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert listed.status_code == 200
    assert still_in_flight  # the list was answered before the last of them
    for answer in answers:
        assert status_of(answer) == 400
        error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
        assert len(error["details"]["fields"]) == 100
        assert error["details"]["moreFields"] == 200_000 - 100


def answer_started(sock: socket.socket) -> bool:
    """Whether the server has begun to answer on ``sock`` (without waiting)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def test_a_large_valid_body_is_created_by_the_workers_and_patched_likewise(
    client: httpx.Client,
) -> None:
    tags = [f"tag-{number}" for number in range(4000)]  # about 40 KB: checked in a worker
    created = client.post(CREATE_PATH, json={**create_body("large-valid"), "tags": tags})
    patched = client.patch(f"{CREATE_PATH}/large-valid", json={"tags": tags[::-1]})

    assert created.status_code == 200
    assert created.json()["data"]["tags"] == tags
    assert patched.status_code == 200
    assert patched.json()["data"]["tags"] == tags[::-1]
    assert client.get(f"{LIST_PATH}/large-valid").json()["data"]["tags"] == tags[::-1]


def test_a_body_past_the_pools_bound_is_a_503_with_retry_after() -> None:
    pool = ValidationPool(1, pending_per_worker=1)
    body = json.dumps({**create_body("bounded"), "tags": ["t"] * 50_000}).encode()

    async def two_at_once() -> list[BaseException | CreateBuildServiceRequest]:
        return await asyncio.gather(
            pool.validate(body, CreateBuildServiceRequest),
            pool.validate(body, CreateBuildServiceRequest),
            return_exceptions=True,
        )

    try:
        first, second = asyncio.run(two_at_once())
    finally:
        pool.close()
    assert isinstance(first, HttpError)
    assert first.status == 400
    assert first.details is not None
    assert first.details["moreFields"] == 50_000 - 100
    assert isinstance(second, HttpError)
    assert second.status == 503
    assert second.headers == {"Retry-After": "1"}


def test_a_worker_that_dies_is_replaced_and_the_next_bodies_get_their_answers() -> None:
    pool = ValidationPool(1)
    body = json.dumps({**create_body("replaced"), "tags": ["t"] * 2_000}).encode()
    before = set(child_processes(os.getpid()))

    def check() -> int:
        try:
            asyncio.run(pool.validate(body, CreateBuildServiceRequest))
        except HttpError as refused:
            return refused.status
        return 200

    try:
        first = check()
        started = [pid for pid in child_processes(os.getpid()) if pid not in before]
        workers = [pid for pid in started if b"spawn_main" in command_line(pid)]
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        wait_until_ended(workers)
        # The death may be noticed before the next body (a new pool takes it) or while
        # it is handed over (a 503); either way the one after gets its answer.
        after = [check() for _ in range(2)]
    finally:
        pool.close()
    assert first == 400
    assert after[0] in (400, 503)
    assert after[1] == 400


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_the_validation_workers_end_with_the_server(tmp_path: Path, kill: bool) -> None:
    server = start_sandbox(tmp_path, "--rate-limit", "off")
    try:
        tags = [f"tag-{number}" for number in range(4000)]
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as http:
            created = http.post(CREATE_PATH, json={**create_body("worker"), "tags": tags})
        assert created.status_code == 200
        assert server.process is not None
        workers = child_processes(server.process.pid)
        assert workers  # the large body started the pool

        status = server.stop(kill=kill)
    finally:
        server.stop(kill=True)

    assert status == (-signal.SIGKILL if kill else 0)
    wait_until_ended(workers)
    assert "Traceback" not in server.output()


def child_processes(pid: int) -> list[int]:
    """The live children of process ``pid`` (Linux's /proc), found through each of its threads."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(FileNotFoundError, ProcessLookupError):  # a thread that just ended
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def command_line(pid: int) -> bytes:
    """The command line of process ``pid``; empty once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def wait_until_ended(pids: list[int], seconds: float = 30.0) -> None:
    """Wait for every process in ``pids`` to exit (an unreaped one counts as ended)."""
    deadline = time.monotonic() + seconds
    running = list(pids)
    while running and time.monotonic() < deadline:
        running = [pid for pid in running if is_running(pid)]
        time.sleep(0.05)
    assert not running, f"processes still running after the server ended: {running}"


def is_running(pid: int) -> bool:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rpartition(")")[2].split()[0] != "Z"


# 2. Header size


def test_an_oversized_header_is_a_431_before_it_is_read_in_full(live: LiveSandbox) -> None:
    head = raw_request(live, "GET", LIST_PATH, b"", "X-Big: " + "a" * 4 * 1024 * 1024)
    with socket.create_connection(address(live), timeout=10) as sock:
        # Refused and closed before the whole header is sent: the point.
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        response = read_all(sock)
    assert status_of(response) == 431
    assert b"headers are too large" in response


def test_a_header_just_under_the_limit_is_served(live: LiveSandbox) -> None:
    response = exchange(live, raw_request(live, "GET", LIST_PATH, b"", "X-Big: " + "a" * 15_000))
    assert status_of(response) == 200


# 11. Read timeouts


def test_a_request_slower_than_the_request_timeout_is_a_408(live: LiveSandbox) -> None:
    with socket.create_connection(address(live), timeout=10) as sock:
        sock.sendall(f"GET {LIST_PATH} HTTP/1.1\r\nHost: x\r\n".encode())  # and no more
        started = time.monotonic()
        response = read_all(sock)
    assert status_of(response) == 408
    assert time.monotonic() - started < 8


def test_a_body_slower_than_the_request_timeout_is_a_408(live: LiveSandbox) -> None:
    body = body_bytes("slow-body")
    head = raw_request(live, "POST", CREATE_PATH, body, "Content-Type: application/json")
    with socket.create_connection(address(live), timeout=10) as sock:
        sock.sendall(head[:-10])  # the body's last 10 bytes never come
        response = read_all(sock)
    assert status_of(response) == 408


def test_an_idle_connection_is_closed(live: LiveSandbox) -> None:
    with socket.create_connection(address(live), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, having sent nothing
    assert time.monotonic() - started < 8


# 5. Half-closed requests


def test_a_half_closed_request_still_gets_its_answer_and_a_log_line(
    live: LiveSandbox, client: httpx.Client
) -> None:
    body = body_bytes("half-closed")
    raw = raw_request(live, "POST", CREATE_PATH, body, "Content-Type: application/json")

    response = exchange(live, raw, half_close=True)

    assert status_of(response) == 200
    assert b'"id":"half-closed"' in response
    assert client.get(f"{LIST_PATH}/half-closed").status_code == 200
    assert re.search(
        r'"POST /v1/projects/default-project/services/build HTTP/1.1" 200', live.output()
    )


def test_a_request_cut_off_mid_body_is_not_committed(
    live: LiveSandbox, client: httpx.Client
) -> None:
    body = body_bytes("cut-off")
    raw = raw_request(live, "POST", CREATE_PATH, body, "Content-Type: application/json")

    assert exchange(live, raw[:-5], half_close=True) == b""

    assert client.get(f"{LIST_PATH}/cut-off").status_code == 404


# 6. One write per answer: what is held back still goes out


def test_an_expect_100_continue_create_hears_continue_before_it_sends_the_body(
    live: LiveSandbox,
) -> None:
    body = body_bytes("expects-continue")
    head, _, _ = raw_request(
        live, "POST", CREATE_PATH, body, "Content-Type: application/json", "Expect: 100-continue"
    ).partition(b"\r\n\r\n")
    with socket.create_connection(address(live), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n")
        interim = sock.recv(65536)  # the body is not sent until this arrives
        sock.sendall(body)
        final = read_all(sock)
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
    final = interim.partition(b"\r\n\r\n")[2] + final
    assert status_of(final) == 200, final
    assert b'"id":"expects-continue"' in final


def test_pipelined_requests_get_whole_answers_in_order(live: LiveSandbox) -> None:
    keep = [
        line
        for line in raw_request(live, "POST", CREATE_PATH, b"", "Content-Type: application/json")
        .decode()
        .split("\r\n")
        if line and not line.startswith(("Connection", "Content-Length"))
    ]
    requests = b""
    names = ["pipelined-one", "pipelined-two", "pipelined-three"]
    for index, name in enumerate(names):
        body = body_bytes(name)
        lines = [*keep, f"Content-Length: {len(body)}"]
        if index == len(names) - 1:
            lines.append("Connection: close")
        requests += "\r\n".join(lines).encode() + b"\r\n\r\n" + body
    head_request = f"HEAD /openapi.yaml HTTP/1.1\r\nHost: {address(live)[0]}\r\n\r\n".encode()

    answers = exchange(live, head_request + requests)

    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)
    assert statuses == [b"200"] * 4, answers[:500]
    places = [answers.index(f'"id":"{name}"'.encode()) for name in names]
    assert places == sorted(places)


# 8. Secrets in the log and at rest


def test_a_query_string_token_never_reaches_the_access_log(live: LiveSandbox) -> None:
    secret = "nfsb_querystring_" + "x" * 30
    for name in ("token", "api_token", "access_token", "apiKey"):
        with httpx.Client(base_url=live.url) as anonymous:
            response = anonymous.get(LIST_PATH, params={name: secret, "per_page": "5"})
        assert response.status_code == 401
    log = live.output()
    assert secret not in log
    assert "token=REDACTED&per_page=5" in log


def test_database_files_and_a_new_folder_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "folder" / "sb.db"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--db", str(db)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (listening := re.search(r"Listening on (\S+)", log.read_text())):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        token = re.search(r"nfsb_\S+", log.read_text())
        assert token is not None
        httpx.post(
            listening[1] + CREATE_PATH,
            json=create_body("private"),
            headers={"Authorization": f"Bearer {token[0]}"},
        ).raise_for_status()
        for suffix in ("", "-wal", "-shm", ".key"):
            path = db.with_name(db.name + suffix)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        server.terminate()
        server.wait(timeout=15)
    for folder in (tmp_path / "new", tmp_path / "new" / "folder"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


ARGUMENT_VALUE = "build-argument-value-4c1f9e"


def every_byte(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


def test_build_arguments_are_sealed_at_rest(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path, "--quiet")
    try:
        body = {**create_body("sealed-args"), "buildArguments": {"NPM_TOKEN": ARGUMENT_VALUE}}
        created = httpx.post(sandbox.url + CREATE_PATH, json=body, headers=sandbox.headers)
        assert created.json()["data"]["buildArguments"] == {"NPM_TOKEN": ARGUMENT_VALUE}
        assert ARGUMENT_VALUE.encode() not in every_byte(tmp_path)
        assert b"NPM_TOKEN" not in every_byte(tmp_path)
        got = httpx.get(sandbox.url + f"{LIST_PATH}/sealed-args", headers=sandbox.headers)
        assert got.json()["data"]["buildArguments"] == {"NPM_TOKEN": ARGUMENT_VALUE}
    finally:
        sandbox.stop()
    assert ARGUMENT_VALUE.encode() not in every_byte(tmp_path)


def test_plain_build_arguments_of_an_older_database_are_sealed_by_the_migration(
    tmp_path: Path,
) -> None:
    sandbox = start_sandbox(tmp_path, "--quiet")
    body = {
        k: v
        for k, v in create_body("old-row").items()
        if k not in ("buildFiles", "dockerSecretMounts")
    }
    body["buildArguments"] = {"NPM_TOKEN": ARGUMENT_VALUE}
    try:
        httpx.post(sandbox.url + CREATE_PATH, json=body, headers=sandbox.headers).raise_for_status()
    finally:
        sandbox.stop()
    with closing(sqlite3.connect(sandbox.db, isolation_level=None)) as db:  # as version 2 kept it
        record = json.loads(db.execute("SELECT record FROM services").fetchone()[0])
        record["buildArguments"] = body["buildArguments"]
        db.execute("UPDATE services SET record = ?, sealed_secrets = NULL", (json.dumps(record),))
        db.execute("PRAGMA user_version = 2")
    assert ARGUMENT_VALUE.encode() in sandbox.db.read_bytes()

    sandbox.start()
    try:
        got = httpx.get(sandbox.url + f"{LIST_PATH}/old-row", headers=sandbox.headers)
        assert got.json()["data"]["buildArguments"] == {"NPM_TOKEN": ARGUMENT_VALUE}
        assert "Sealed the build arguments of 1 stored service(s)." in sandbox.output()
    finally:
        sandbox.stop()
    assert ARGUMENT_VALUE.encode() not in every_byte(tmp_path)


# 9. One strictness


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"name": "first", "name": "second"}', "$.name"),
        (
            '{"name": "dupes", "vcsData": {"projectUrl": "a", "projectUrl": "b"}}',
            "$.vcsData.projectUrl",
        ),
        (
            '{"name": "dupes", "buildFiles": {"/a": {"data": "x", "data": "y"}}}',
            '$.buildFiles["/a"].data',
        ),
        ('{"name": "dupes", "x": [{}, {"k": 1, "k": 2}]}', "$.x[1].k"),
        ('{"name": "dupes", "a": {"b": [[{"c": {"d": 1, "d": 1}}]]}}', "$.a.b[0][0].c.d"),
    ],
)
def test_duplicate_json_keys_are_refused_naming_the_path(
    client: httpx.Client, text: str, path: str
) -> None:
    response = client.post(CREATE_PATH, content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["message"] == f"The request body gives the key at {path} more than once"
    assert error["details"]["fields"][0]["path"] == path
    assert client.get(f"{LIST_PATH}/dupes").status_code == 404


@pytest.mark.parametrize("header", ["Authorization", "Content-Type"])
def test_two_authorization_or_content_type_headers_are_refused_naming_the_header(
    live: LiveSandbox, header: str
) -> None:
    body = body_bytes("two-headers")
    second = (
        f"Authorization: Bearer {live.admin_token}"
        if header == "Authorization"
        else ("Content-Type: application/json")
    )
    raw = raw_request(live, "POST", CREATE_PATH, body, "Content-Type: application/json", second)

    response = exchange(live, raw)

    assert status_of(response) == 400
    assert f"The {header} header is given more than once".encode() in response


@pytest.mark.parametrize("encoding", ["gzip", "br", "identity, deflate"])
def test_a_content_encoding_other_than_identity_is_a_415_naming_it(
    client: httpx.Client, encoding: str
) -> None:
    response = client.post(
        CREATE_PATH,
        content=body_bytes("encoded"),
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == 415
    named = encoding.split(", ")[-1]
    assert error_of(response)["message"].startswith(f"Unsupported Content-Encoding '{named}'")


def test_an_upgrade_request_is_refused_clearly(live: LiveSandbox) -> None:
    body = body_bytes("upgraded")
    raw = raw_request(
        live,
        "POST",
        CREATE_PATH,
        body,
        "Content-Type: application/json",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    )
    raw = raw.replace(b"Connection: close\r\n", b"")

    response = exchange(live, raw)

    assert status_of(response) == 400
    assert b"The Upgrade header asks for another protocol" in response
    assert b"not valid JSON" not in response


@pytest.mark.parametrize(
    "media_type",
    ["application/+json", "application/merge-patch+json", "text/plain", "application/jsonx"],
)
def test_media_types_other_than_json_are_a_415(client: httpx.Client, media_type: str) -> None:
    response = client.post(
        CREATE_PATH, content=body_bytes("typed"), headers={"Content-Type": media_type}
    )
    assert response.status_code == 415
    assert media_type in error_of(response)["message"]


def test_json_with_a_utf8_charset_is_still_accepted(client: httpx.Client) -> None:
    response = client.post(
        CREATE_PATH,
        content=body_bytes("with-charset"),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


# 6. No tracebacks: damaged files


def random_bytes_file(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def text_file(path: Path) -> Path:
    path.write_text("a text file, not a database\n" * 150)
    return path


@pytest.mark.parametrize("damage", [random_bytes_file, text_file])
@pytest.mark.parametrize(
    "command",
    [
        ("serve", "--port", "0"),
        ("token", "list"),
        ("token", "create", "--permission", "*"),
        ("project", "create", "some-project"),
        ("project", "list"),
    ],
)
def test_a_corrupt_database_is_a_clear_error_naming_the_file(
    tmp_path: Path, damage: Any, command: tuple[str, ...]
) -> None:
    db = damage(tmp_path / "sb.db")
    before = sorted(tmp_path.iterdir())

    message = failed(run(*command, "--db", str(db), cwd=tmp_path))

    assert message.startswith(f"error: {db}: "), message
    assert sorted(tmp_path.iterdir()) == before, "nothing is left behind"


def set_up(tmp_path: Path) -> Path:
    """A database set up by a first start that could not listen (it never gets that far)."""
    db = tmp_path / "sb.db"
    ok(run("project", "list", "--db", str(db), cwd=tmp_path)) if db.exists() else None
    sandbox = start_sandbox(tmp_path, "--quiet")
    sandbox.stop()
    return sandbox.db


def test_a_key_file_that_is_not_ascii_is_named(tmp_path: Path) -> None:
    key_file = tmp_path / "sandbox.db.key"
    key_file.write_bytes("clé-non-ascii\n".encode() + b"\xff\xfe")
    key_file.chmod(0o600)

    message = failed(
        run("serve", "--port", "0", "--db", str(tmp_path / "sandbox.db"), cwd=tmp_path)
    )

    assert f"error: {key_file}: the secret key must be 32 bytes" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.db.key"]


def test_a_key_file_that_is_a_directory_is_reported_as_one(tmp_path: Path) -> None:
    (tmp_path / "sandbox.db.key").mkdir()

    message = failed(
        run("serve", "--port", "0", "--db", str(tmp_path / "sandbox.db"), cwd=tmp_path)
    )

    assert "the secret key file is a directory" in message
    assert "readable by others" not in message


def test_a_missing_key_file_is_not_created_and_then_refused(tmp_path: Path) -> None:
    db = set_up(tmp_path)
    key_file = db.with_name(db.name + ".key")
    key_file.unlink()

    message = failed(run("serve", "--port", "0", "--db", str(db), cwd=tmp_path))

    assert f"error: {key_file}: the secret key file is missing" in message
    assert not key_file.exists()


# 10. Admin commands


@pytest.mark.parametrize(
    "command",
    [
        ("token", "list"),
        ("token", "create", "--permission", "*"),
        ("token", "revoke", "tok_123"),
        ("project", "create", "some-project"),
        ("project", "list"),
    ],
)
def test_admin_commands_refuse_a_missing_db_and_leave_nothing_behind(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "typo" / "sandbx.db"

    message = failed(run(*command, "--db", str(db), cwd=tmp_path))

    assert message.startswith(f"error: {db} does not exist"), message
    assert "python -m sandbox serve" in message
    assert list(tmp_path.iterdir()) == []


def test_serve_creates_a_missing_db_and_says_so(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path / "fresh", "--quiet")
    sandbox.stop()
    assert f"{sandbox.db} does not exist yet; creating a new sandbox database." in sandbox.output()


def test_a_refused_first_start_leaves_no_stray_files(tmp_path: Path) -> None:
    db = tmp_path / "new" / "sb.db"
    bad_key = {"NF_SANDBOX_SECRET_KEY": "not-a-key"}

    failed(run("serve", "--port", "0", "--db", str(db), cwd=tmp_path, env=bad_key))

    assert list(tmp_path.iterdir()) == []


# Last: everything above left no traceback and no 5xx in the server's log


def test_the_server_log_has_no_traceback_and_no_5xx(live: LiveSandbox) -> None:
    log = live.output()
    assert "Traceback" not in log
    assert not re.search(r'HTTP/1\.1" 5\d\d', log)
    assert live.process is not None
    assert live.process.poll() is None
