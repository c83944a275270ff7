"""The sandbox on PostgreSQL (``serve --store postgresql://...``), over real HTTP.

A real server (tests/postgres_server.py) and `python -m sandbox serve` in
subprocesses, as users run them: the lifecycle tests of
test_sandbox_lifecycle.py against a PostgreSQL-backed sandbox; the 32-way
create race; SIGKILL under load; secrets sealed in the table; two replicas
on one database with one 200 per name and one rate limit per token; the
management commands; and errors that name the URL without its password.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from sandbox.postgres_store import redacted_url
from sandbox.secrets_at_rest import KEY_ENV_VAR, SecretBox, join_secrets
from tests.live_sandbox import ROOT, LiveSandbox, create_body, start_sandbox
from tests.postgres_server import PostgresServer, running_postgres
from tests.test_sandbox_concurrency import all_at_once, assert_one_winner, connections, run
from tests.test_sandbox_crash import CLIENTS, create_each, load_then_kill
from tests.test_sandbox_lifecycle import (  # the lifecycle, run here on PostgreSQL
    OTHER_PROJECT,
    PROJECT,
    api,
    test_create_get_patch_get_delete_get_create,
    test_delete_accepts_delete_child_objects,
    test_forged_and_foreign_cursors_are_bad_requests,
    test_invalid_patch_is_a_bad_request,
    test_patch_merges_objects_and_replaces_the_rest,
    test_patch_of_unknown_service_is_not_found,
    test_patch_switches_the_build_engine,
    test_put_validates_like_create,
    test_unknown_project_is_not_found,
    test_unknown_service_is_not_found,
)

__all__ = [
    "api",
    "test_create_get_patch_get_delete_get_create",
    "test_delete_accepts_delete_child_objects",
    "test_forged_and_foreign_cursors_are_bad_requests",
    "test_invalid_patch_is_a_bad_request",
    "test_patch_merges_objects_and_replaces_the_rest",
    "test_patch_of_unknown_service_is_not_found",
    "test_patch_switches_the_build_engine",
    "test_put_validates_like_create",
    "test_unknown_project_is_not_found",
    "test_unknown_service_is_not_found",
]

CREATE = f"/v1/projects/{PROJECT}/services/build"
KEY = secrets.token_bytes(32)
KEY_ENV = {KEY_ENV_VAR: base64.urlsafe_b64encode(KEY).decode()}
"""Replicas share the secret key; here through the environment, as on several machines."""


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    """The URL of a new, empty database."""
    return postgres.url(postgres.new_database())


def sandbox_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m sandbox ARGS``, as a user runs it."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=cwd,
        env={**os.environ, **KEY_ENV, "PYTHONPATH": path},
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def start_on(folder: Path, url: str, *extra_args: str) -> LiveSandbox:
    return start_sandbox(folder, "--quiet", *extra_args, env=KEY_ENV, store_url=url)


def replica_of(first: LiveSandbox, folder: Path) -> LiveSandbox:
    """Another sandbox process on the first one's database, from another folder."""
    folder.mkdir(parents=True, exist_ok=True)
    other = LiveSandbox(folder / "sandbox.db", first.admin_token, first.extra_args, first.env)
    other.store_url = first.store_url
    return other


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """What ``query`` returns (nothing for a statement that returns no rows)."""
    with psycopg.connect(url) as connection:
        cursor = connection.execute(query.encode(), params)
        return cursor.fetchall() if cursor.description is not None else []


@pytest.fixture(scope="module")
def live(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSandbox]:
    """The lifecycle tests' sandbox, on PostgreSQL."""
    url = postgres.url(postgres.new_database())
    server = start_on(tmp_path_factory.mktemp("lifecycle-pg"), url, "--rate-limit", "off")
    try:
        done = sandbox_cli("project", "create", OTHER_PROJECT, "--store", url)
        assert done.returncode == 0, done.stderr
        yield server
    finally:
        server.stop()


def test_list_walks_pages_in_code_point_order(live: LiveSandbox) -> None:
    # "a-cd" before "abc" by code point (as SQLite sorts); a locale's collation says otherwise.
    project = "code-points"
    assert sandbox_cli("project", "create", project, "--store", live.store_url).returncode == 0
    names = ["Abc", "A Cd", "A0x", "Abc D", "A-Bx", "Bxy", "Abc1"]
    with httpx.Client(base_url=f"{live.url}/v1/projects/{project}", headers=live.headers) as api:
        for name in names:
            assert api.post("/services/build", json=create_body(name)).status_code == 200
        seen: list[str] = []
        params: dict[str, Any] = {"per_page": 2}
        while True:
            page = api.get("/services", params=params).json()
            seen += [item["id"] for item in page["data"]["services"]]
            if not page["pagination"]["hasNextPage"]:
                break
            params = {"per_page": 2, "cursor": page["pagination"]["cursor"]}
        by_page = api.get("/services", params={"per_page": 2, "page": 2}).json()
    assert seen == sorted(seen) == sorted({name.lower().replace(" ", "-") for name in names})
    assert [item["id"] for item in by_page["data"]["services"]] == seen[2:4]


def test_32_concurrent_creates_of_one_name_make_one_service(database: str, tmp_path: Path) -> None:
    server = start_on(tmp_path / "race", database, "--rate-limit", "off")

    async def scenario() -> list[httpx.Response]:
        async with AsyncExitStack() as stack:
            clients = await connections(stack, server, 32)
            return await all_at_once(clients, [create_body("Example Service")] * 32)

    try:
        responses = run(scenario)
    finally:
        server.stop()
    assert_one_winner(responses, "example-service")
    assert rows(database, "SELECT id FROM services") == [("example-service",)]


def test_concurrent_puts_of_a_new_name_leave_one_whole_body(database: str, tmp_path: Path) -> None:
    # No row to lock yet: every put reads none, one inserts, the others change its row.
    server = start_on(tmp_path / "puts", database, "--rate-limit", "off")
    bodies = [{**create_body("Put Race"), "description": f"Writer {n}"} for n in range(12)]

    async def scenario() -> list[httpx.Response]:
        async with AsyncExitStack() as stack:
            clients = await connections(stack, server, len(bodies))
            puts = [client.put(CREATE, json=b) for client, b in zip(clients, bodies, strict=True)]
            return list(await asyncio.gather(*puts))

    try:
        responses = run(scenario)
        final = httpx.get(
            f"{server.url}/v1/projects/{PROJECT}/services/put-race", headers=server.headers
        )
    finally:
        server.stop()
    assert [response.status_code for response in responses] == [200] * len(bodies)
    assert rows(database, "SELECT count(*) FROM services") == [(1,)]
    assert final.json()["data"]["description"] in {body["description"] for body in bodies}


def test_a_sigkill_under_load_loses_no_acknowledged_create(database: str, tmp_path: Path) -> None:
    server = start_on(tmp_path / "crash", database, "--rate-limit", "off")
    box = SecretBox(KEY)
    try:
        load = run(lambda: load_then_kill(server, 0, 40))
        assert load.unexpected == []
        assert len(load.unanswered) == CLIENTS
        assert load.sent_at_kill > 0, "the kill found no create in flight"
        server.start()  # the same database, in a new process
        stored = {
            service_id: (record, sealed)
            for service_id, record, sealed in rows(
                database, "SELECT id, record::text, sealed_secrets FROM services"
            )
        }
        assert sorted(load.acked.keys() - stored.keys()) == [], "answered 200 but not stored"
        assert sorted(stored.keys() - load.acked.keys() - load.unanswered.keys()) == []
        for service_id, data in load.acked.items():
            record, sealed = stored[service_id]
            opened = box.open(bytes(sealed), f"{PROJECT}/{service_id}")
            assert join_secrets(json.loads(record), opened) == data
        again = [data["name"] for data in load.acked.values()] + list(load.unanswered.values())
        responses = run(lambda: create_each(server, again))
    finally:
        server.stop()
    for data in load.acked.values():
        assert responses[data["name"]].status_code == 409
    for service_id, name in load.unanswered.items():
        assert responses[name].status_code == (409 if service_id in stored else 200)


def test_secrets_are_sealed_in_the_table(database: str, tmp_path: Path) -> None:
    server = start_on(tmp_path / "sealed", database, "--rate-limit", "off")
    marker = "plain-" + secrets.token_hex(8)
    secret_file = base64.b64encode(f"file {marker}".encode()).decode()
    body = {
        **create_body("Sealed"),
        "buildArguments": {"API_KEY": f"arg-{marker}"},
        "buildFiles": {"/f": {"data": secret_file, "encoding": "utf-8"}},
        "dockerSecretMounts": {"mount": {"data": secret_file, "encoding": "utf-8"}},
    }
    try:
        created = httpx.post(f"{server.url}{CREATE}", json=body, headers=server.headers)
        read = httpx.get(
            f"{server.url}/v1/projects/{PROJECT}/services/sealed", headers=server.headers
        )
    finally:
        server.stop()
    assert created.status_code == 200, created.text
    assert read.json()["data"]["buildArguments"] == {"API_KEY": f"arg-{marker}"}
    [(whole_row, sealed)] = rows(database, "SELECT services::text, sealed_secrets FROM services")
    for secret in (marker, secret_file, "API_KEY"):
        assert secret not in whole_row
        assert secret.encode() not in bytes(sealed)


def test_two_replicas_started_together_let_one_create_of_each_name_through(
    database: str, tmp_path: Path
) -> None:
    first = LiveSandbox(
        tmp_path / "one" / "sandbox.db", "nfsb_test_" + secrets.token_urlsafe(24),
        ("--quiet", "--rate-limit", "off"), KEY_ENV,
    )  # fmt: skip
    first.store_url = database
    first.db.parent.mkdir()
    second = replica_of(first, tmp_path / "two")
    # Both first starts at once: the schema and the bootstrap are made once, not raced.
    starts = [threading.Thread(target=replica.start) for replica in (first, second)]
    for start in starts:
        start.start()
    for start in starts:
        start.join()
    names = [f"Shared Name {n}" for n in range(4)]

    async def scenario() -> list[list[httpx.Response]]:
        async with AsyncExitStack() as stack:
            clients = list(
                itertools.chain.from_iterable(
                    zip(
                        await connections(stack, first, 16),
                        await connections(stack, second, 16),
                        strict=True,
                    )
                )
            )
            return [await all_at_once(clients, [create_body(n)] * len(clients)) for n in names]

    try:
        assert first.url, first.output()
        assert second.url, second.output()
        outcomes = run(scenario)
    finally:
        first.stop()
        second.stop()
    for name, responses in zip(names, outcomes, strict=True):
        assert_one_winner(responses, name.lower().replace(" ", "-"))
    assert Counter(row[0] for row in rows(database, "SELECT id FROM services")) == {
        name.lower().replace(" ", "-"): 1 for name in names
    }
    output = first.output() + second.output()
    assert output.count("Created project 'default-project'") == 1, output
    assert rows(database, "SELECT count(*) FROM tokens") == [(1,)]


def test_two_replicas_keep_one_rate_limit_per_token(database: str, tmp_path: Path) -> None:
    first = start_on(tmp_path / "one", database, "--rate-limit", "10/hour")
    second = replica_of(first, tmp_path / "two").start()
    read = f"/v1/projects/{PROJECT}/services"
    try:
        for _attempt in range(2):  # a new window may begin mid-way: then again, new token
            token = sandbox_cli(
                "token", "create", "--permission", "*", "--store", database
            ).stdout.strip()
            auth = {"Authorization": f"Bearer {token}"}
            heard = [
                httpx.get(f"{server.url}{read}", headers=auth)
                for server in itertools.islice(itertools.cycle((first, second)), 11)
            ]
            if len({response.headers["x-ratelimit-reset"] for response in heard}) == 1:
                break
        other_token = httpx.get(f"{second.url}{read}", headers=first.headers)
    finally:
        first.stop()
        second.stop()
    statuses = [response.status_code for response in heard]
    assert statuses == [200] * 10 + [429], statuses
    remaining = [int(response.headers["x-ratelimit-remaining"]) for response in heard]
    assert remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]
    assert {response.headers["x-ratelimit-limit"] for response in heard} == {"10"}
    assert int(heard[-1].headers["retry-after"]) >= 1
    assert other_token.status_code == 200  # one limit per token, not one for everyone


def test_management_commands_work_on_the_shared_store(database: str, tmp_path: Path) -> None:
    server = start_on(tmp_path / "admin", database, "--rate-limit", "off")
    try:
        assert sandbox_cli("project", "create", "team-a", "--store", database).returncode == 0
        again = sandbox_cli("project", "create", "team-a", "--store", database)
        listed = sandbox_cli("project", "list", "--store", database).stdout.split()
        made = sandbox_cli(
            "token", "create", "--project", "team-a", "--permission", "*", "--store", database
        )
        token = made.stdout.strip()
        token_id = made.stderr.split()[2].rstrip(";")
        url = f"{server.url}/v1/projects/team-a/services"
        allowed = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert "team-a" in sandbox_cli("token", "list", "--store", database).stdout
        revoked = sandbox_cli("token", "revoke", token_id, "--store", database)
        refused = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    finally:
        server.stop()
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert listed == ["default-project", "team-a"]
    assert allowed.status_code == 200, allowed.text
    assert revoked.returncode == 0, revoked.stderr
    assert refused.status_code == 401


def test_store_errors_name_the_url_without_its_password(
    postgres: PostgresServer, database: str
) -> None:
    role, password = postgres.password_role()
    closed = socket_nobody_listens_on()
    cases = {
        f"postgresql://someone:{password}@127.0.0.1:{closed}/db": "cannot reach PostgreSQL",
        postgres.url("no_such_db", password=password): "'no_such_db' does not exist",
        postgres.url("postgres", user=role, password=password + "-wrong"): "refused the login",
        postgres.url("postgres", password=password): "holds no sandbox yet",
    }
    with ThreadPoolExecutor(len(cases)) as pool:
        outcomes = pool.map(lambda url: sandbox_cli("project", "list", "--store", url), cases)
    for (url, problem), done in zip(cases.items(), outcomes, strict=True):
        assert done.returncode == 1
        assert problem in done.stderr, done.stderr
        assert redacted_url(url) in done.stderr
        assert password not in done.stderr
        assert "Traceback" not in done.stderr
    rows(database, "CREATE TABLE unrelated (x int)")
    other_tables = sandbox_cli("serve", "--store", database, "--port", "0")
    assert other_tables.returncode == 1
    assert "holds other tables" in other_tables.stderr, other_tables.stderr


def test_lost_database_connections_are_503s_with_retry_after_then_heal(
    database: str, tmp_path: Path
) -> None:
    """The server cuts the sandbox's connections (a restart, a fail-over): the requests that
    meet a dead connection are 503s a client retries, not 500s; then the pool heals."""
    server = start_on(tmp_path / "cut", database, "--rate-limit", "off")
    try:
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        services = f"{server.url}/v1/projects/{PROJECT}/services"
        with httpx.Client(headers=headers, timeout=30) as http:
            assert http.get(services).status_code == 200
            name = urlsplit(database).path.lstrip("/")
            cut = rows(
                database,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                name,
            )
            assert cut, "the sandbox held no connection to cut"
            answers = []
            for _ in range(40):
                answer = http.get(services)
                answers.append(answer.status_code)
                if answer.status_code == 200:
                    break
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "2"
                error = answer.json()["error"]
                assert "cannot be reached just now" in error["message"]
                assert "postgresql://" not in answer.text  # where the store is stays inside
        assert answers[0] == 503, answers
        assert answers[-1] == 200, answers
    finally:
        server.stop()


def test_a_newer_schema_is_refused(database: str, tmp_path: Path) -> None:
    start_on(tmp_path / "schema", database).stop()
    rows(database, "UPDATE schema_version SET version = 99")
    done = sandbox_cli("project", "list", "--store", database)
    assert done.returncode == 1
    assert "schema version 99" in done.stderr, done.stderr


def test_store_and_db_are_exclusive_and_the_sqlite_path_needs_no_driver(tmp_path: Path) -> None:
    # The SQLite path end to end in one process: a database made, a project added; then
    # which driver modules got imported (none may).
    probe = (
        "import sys; from pathlib import Path; from sandbox.cli import main;"
        " from sandbox.sqlite_store import SqliteAdminStore;"
        f" SqliteAdminStore(Path({str(tmp_path / 'x.db')!r})).close();"
        f" main(['project', 'create', 'abc', '--db', {str(tmp_path / 'x.db')!r}]);"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool')))"
    )
    commands = [
        ("project", "list", "--db", "x.db", "--store", "postgresql://u@h/d"),
        ("project", "list", "--store", "mysql://u@h/d"),
        ("serve", "--store", "postgresql://u@h/d", "--synchronous", "normal"),
    ]
    with ThreadPoolExecutor(len(commands) + 1) as pool:
        sqlite_only = pool.submit(
            subprocess.run,
            [sys.executable, "-c", probe],
            cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        both, not_postgres, serve_option = pool.map(lambda args: sandbox_cli(*args), commands)
    assert both.returncode == 2
    assert "--store: not allowed with argument --db" in both.stderr
    assert "expected a PostgreSQL URL" in not_postgres.stderr
    assert "--synchronous is SQLite's setting" in serve_option.stderr
    done = sqlite_only.result()
    assert done.stdout.splitlines()[-1:] == ["[]"], done.stdout + done.stderr


def test_redacted_url_drops_every_password() -> None:
    assert redacted_url("postgresql://u:pw@h:5/d") == "postgresql://u@h:5/d"
    assert redacted_url("postgresql://u@h/d?password=pw&sslmode=require") == (
        "postgresql://u@h/d?sslmode=require"
    )
    assert redacted_url("postgres://h/d") == "postgres://h/d"


def socket_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_missing_driver_message_names_the_postgres_group() -> None:
    """`serve --store` without psycopg says what to install: the group's exact pins."""
    from sandbox.cli import POSTGRES_PACKAGES

    group = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert POSTGRES_PACKAGES.split() == group["dependency-groups"]["postgres"]
