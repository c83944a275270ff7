"""The sandbox in-process: fault injection through the ASGI app, the writer, and the helpers.

No server and no sockets: requests go through ``httpx.ASGITransport``, which
runs no lifespan, so each test opens and closes its own store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import sqlite3
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from northflank_build.models import CreateBuildServiceRequest

from sandbox.app import AppSettings, create_app
from sandbox.build_service import derive_service_id, service_data
from sandbox.rate_limit import FixedWindowLimiter, RateLimit
from sandbox.secrets_at_rest import KEY_ENV_VAR, SecretBox, join_secrets, split_secrets
from sandbox.sqlite_store import SqliteAdminStore, SqliteStore, _transaction
from sandbox.store import NewService, Principal, ServiceExistsError, StoreError
from sandbox.tokens import hash_token
from tests.spec_data import OPERATION_PATH, example

T = TypeVar("T")

PROJECT = "default-project"
PATH = OPERATION_PATH.replace("{projectId}", PROJECT)
TOKEN = "nfsb_unit_" + "x" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = bytes(range(32))
SECRET_DATA = example("request", "dockerfileBuild")["buildFiles"]["/dir/fileName"]["data"]
TIMEOUT = 30.0  # seconds; a hung writer fails the test instead of the run


def run(make: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make(), TIMEOUT)

    return asyncio.run(bounded())


def body(name: str = "Example Service") -> dict[str, Any]:
    return {**example("request", "dockerfileBuild"), "name": name}


# --- Fault injection through the app -------------------------------------------


class BoomError(Exception):
    """A failure the app does not expect; its text must never reach a client."""


LEAKY = "boom at /var/lib/private/sandbox.db"


@dataclass
class FakeStore:
    """A `Store` that knows one admin token and fails where it is told to."""

    fail_principal: Exception | None = None
    fail_project: Exception | None = None
    fail_insert: Exception | None = None
    inserted: list[NewService] = field(default_factory=list)
    closed: bool = False

    async def principal(self, token_hash: str) -> Principal | None:
        if self.fail_principal is not None:
            raise self.fail_principal
        if token_hash != hash_token(TOKEN):
            return None
        return Principal("tok_unit", frozenset({"*"}))

    async def project_exists(self, project_id: str) -> bool:
        if self.fail_project is not None:
            raise self.fail_project
        return project_id == PROJECT

    async def insert_service(self, service: NewService) -> None:
        if self.fail_insert is not None:
            raise self.fail_insert
        self.inserted.append(service)

    async def close(self) -> None:
        self.closed = True


async def post(
    store: Any,
    payload: dict[str, Any],
    *,
    rate_limit: RateLimit | None = None,
    times: int = 1,
) -> list[httpx.Response]:
    app = create_app(store, SecretBox(KEY), AppSettings(account="unit", rate_limit=rate_limit))
    transport = httpx.ASGITransport(app=app)  # app exceptions are raised, not hidden
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        return [await client.post(PATH, json=payload, headers=AUTH) for _ in range(times)]


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == status
    assert error["id"] == response.headers["x-request-id"]
    return error


@pytest.mark.parametrize("where", ["principal", "project", "insert"])
def test_an_unexpected_store_failure_is_a_500_envelope_that_leaks_nothing(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    setattr(store, f"fail_{where}", BoomError(LEAKY))

    [response] = run(lambda: post(store, body()))

    error = assert_envelope(response, 500)
    assert set(error) == {"status", "message", "id"}
    for leak in ("boom", "/var/lib", "traceback"):
        assert leak not in response.text.lower()
    assert store.inserted == []
    [record] = [r for r in caplog.records if r.name == "sandbox"]
    assert record.levelno == logging.ERROR
    assert error["id"] in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], BoomError)


def test_a_taken_id_in_the_store_is_a_409_naming_the_id() -> None:
    store = FakeStore(fail_insert=ServiceExistsError("example-service"))

    [response] = run(lambda: post(store, body("Example Service")))

    error = assert_envelope(response, 409)
    assert error["details"] == {"serviceId": "example-service"}


def test_the_store_receives_the_record_without_the_secret_contents() -> None:
    store = FakeStore()

    [response] = run(lambda: post(store, body()))

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    [service] = store.inserted
    assert (service.project_id, service.service_id) == (PROJECT, "example-service")
    assert SECRET_DATA not in service.record_json
    assert service.sealed_secrets is not None
    assert SECRET_DATA.encode() not in service.sealed_secrets
    opened = SecretBox(KEY).open(service.sealed_secrets, f"{PROJECT}/example-service")
    assert join_secrets(json.loads(service.record_json), opened) == data


def test_the_rate_limit_answers_429_with_retry_after() -> None:
    store = FakeStore()

    responses = run(lambda: post(store, body("Limited"), rate_limit=RateLimit(2, 3600), times=3))

    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert "retry-after" not in responses[1].headers
    assert_envelope(responses[2], 429)
    assert 1 <= int(responses[2].headers["retry-after"]) <= 3600
    assert len(store.inserted) == 2


def test_a_real_store_through_the_app_stores_once_and_409s_every_spelling(
    tmp_path: Path,
) -> None:
    db = new_database(tmp_path)

    async def scenario() -> list[httpx.Response]:
        store = SqliteStore(db)
        try:
            names = [
                "Example Service",
                "Example Service",
                "example-service",
                "EXAMPLE\u3000SERVICE",
            ]
            return [(await post(store, body(name)))[0] for name in names]
        finally:
            await store.close()

    first, *others = run(scenario)

    assert first.status_code == 200, first.text
    for response in others:
        assert assert_envelope(response, 409)["details"] == {"serviceId": "example-service"}
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT id, record, sealed_secrets FROM services").fetchall()
    [(service_id, record, sealed)] = rows
    assert service_id == "example-service"
    opened = SecretBox(KEY).open(sealed, f"{PROJECT}/{service_id}")
    assert join_secrets(json.loads(record), opened) == first.json()["data"]


# --- The writer: group commit, conflicts, durability ------------------------------


def new_database(folder: Path) -> Path:
    db = folder / "unit.db"
    admin = SqliteAdminStore(db)
    try:
        admin.create_project(PROJECT)
        admin.create_token(token_hash=hash_token(TOKEN), label="unit", permissions=("*",))
    finally:
        admin.close()
    return db


def service(service_id: str, marker: int, project: str = PROJECT) -> NewService:
    return NewService(project, service_id, json.dumps({"marker": marker}), None, "2024-01-01")


def stored(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT id, record FROM services WHERE project_id = ?", (PROJECT,)
        )
        return {service_id: json.loads(record)["marker"] for service_id, record in rows}


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting until {what}")


def test_one_group_with_conflicts_fails_only_the_conflicting_inserts(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    ids = [f"svc-{i % 50}" for i in range(150)]  # each id three times
    ghost = 75  # this one names a project that does not exist

    async def scenario() -> list[BaseException | None]:
        store = SqliteStore(db)
        try:
            for taken in range(5):  # svc-0 .. svc-4 exist before the group
                await store.insert_service(service(f"svc-{taken}", -1))
            with closing(sqlite3.connect(db, isolation_level=None)) as blocker:
                blocker.execute("BEGIN IMMEDIATE")  # holds the writer back
                plug = asyncio.ensure_future(store.insert_service(service("plug", -2)))
                await asyncio.sleep(0)  # the plug is queued
                inbox = store._writer.inbox
                await wait_until(lambda: inbox.qsize() == 0, "the writer took the plug")
                inserts = [
                    store.insert_service(
                        service(f"ghost-{n}", n, "no-such-project")
                        if n == ghost
                        else service(service_id, n)
                    )
                    for n, service_id in enumerate(ids)
                ]
                gathered = asyncio.gather(*inserts, return_exceptions=True)
                await wait_until(lambda: inbox.qsize() == len(ids), "every insert queued")
                blocker.execute("ROLLBACK")  # the writer commits the plug, then one group
            await plug
            return list(await gathered)
        finally:
            await store.close()

    outcomes = run(scenario)

    winners = {n for n, outcome in enumerate(outcomes) if outcome is None}
    assert winners == set(range(5, 50))  # the first of each id not taken before
    for n, outcome in enumerate(outcomes):
        if n == ghost:
            assert isinstance(outcome, sqlite3.IntegrityError), outcome  # not a 409
        elif n not in winners:
            assert isinstance(outcome, ServiceExistsError), (n, outcome)
            assert outcome.args == (ids[n],)
    expected = {f"svc-{n}": (-1 if n < 5 else n) for n in range(50)} | {"plug": -2}
    assert stored(db) == expected


def test_two_stores_on_one_file_let_exactly_one_insert_of_each_id_through(
    tmp_path: Path,
) -> None:
    db = new_database(tmp_path)

    async def scenario() -> list[BaseException | None]:
        first, second = SqliteStore(db), SqliteStore(db)
        try:
            inserts = [
                store.insert_service(service(f"shared-{n % 30}", n))
                for n in range(120)
                for store in (first, second)
            ]
            return list(await asyncio.gather(*inserts, return_exceptions=True))
        finally:
            await first.close()
            await second.close()

    outcomes = run(scenario)

    assert all(o is None or isinstance(o, ServiceExistsError) for o in outcomes), outcomes
    assert sum(o is None for o in outcomes) == 30
    assert set(stored(db)) == {f"shared-{n}" for n in range(30)}


def test_an_insert_is_visible_to_a_new_connection_when_it_returns(tmp_path: Path) -> None:
    db = new_database(tmp_path)

    async def scenario() -> list[dict[str, int]]:
        store = SqliteStore(db)
        seen = []
        try:
            for n in range(3):
                await store.insert_service(service(f"seen-{n}", n))
                seen.append(stored(db))
        finally:
            await store.close()
        return seen

    seen = run(scenario)

    assert seen == [{f"seen-{m}": m for m in range(n + 1)} for n in range(3)]


def test_a_failed_commit_leaves_no_transaction_open() -> None:
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("CREATE TABLE parent (id TEXT PRIMARY KEY)")
        connection.execute(
            "CREATE TABLE child (parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        with pytest.raises(sqlite3.IntegrityError), _transaction(connection):
            connection.execute("INSERT INTO child VALUES ('orphan')")  # fails at COMMIT

        assert not connection.in_transaction
        with _transaction(connection):  # the connection is still usable
            connection.execute("INSERT INTO parent VALUES ('p')")
        assert connection.execute("SELECT count(*) FROM child").fetchone() == (0,)


# --- Secrets at rest -------------------------------------------------------------


def example_data() -> dict[str, Any]:
    request = CreateBuildServiceRequest.model_validate(example("request", "dockerfileBuild"))
    return service_data(request, project_id=PROJECT, account="unit", now="2024-01-01T00:00:00Z")


def test_split_then_join_gives_the_data_back_and_split_keeps_no_secret() -> None:
    data = example_data()
    before = json.dumps(data)

    public, hidden = split_secrets(data)

    assert json.dumps(data) == before  # the input is untouched
    assert hidden is not None
    assert SECRET_DATA in hidden.decode()
    assert SECRET_DATA not in json.dumps(public)
    for section in ("buildFiles", "dockerSecretMounts"):
        assert all("data" not in entry for entry in public[section].values())
        assert all("encoding" in entry for entry in public[section].values())
    assert join_secrets(public, hidden) == data


def test_data_without_secrets_splits_into_itself_and_none() -> None:
    data = {
        k: v
        for k, v in example_data().items()
        if k not in ("buildFiles", "dockerSecretMounts", "buildArguments")
    }

    public, hidden = split_secrets(data)

    assert (public, hidden) == (data, None)
    assert join_secrets(public, hidden) == data


def test_secret_box_opens_what_it_sealed() -> None:
    box = SecretBox(KEY)
    blob = box.seal(b"the secret", "proj/svc")

    assert box.open(blob, "proj/svc") == b"the secret"
    assert box.seal(b"the secret", "proj/svc") != blob  # a fresh nonce each time
    assert b"the secret" not in blob


def _flip_last_bit(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


@pytest.mark.parametrize(
    ("opener_key", "change", "context"),
    [
        pytest.param(KEY, lambda b: b, "proj/other", id="another-row"),
        pytest.param(bytes(32), lambda b: b, "proj/svc", id="another-key"),
        pytest.param(KEY, _flip_last_bit, "proj/svc", id="a-flipped-bit"),
        pytest.param(KEY, lambda b: b"\x02" + b[1:], "proj/svc", id="unknown-version"),
        pytest.param(KEY, lambda b: b[:5], "proj/svc", id="truncated"),
        pytest.param(KEY, lambda b: b[:28], "proj/svc", id="no-tag"),
        pytest.param(KEY, lambda b: b"", "proj/svc", id="empty"),
    ],
)
def test_secret_box_refuses_with_a_store_error(
    opener_key: bytes, change: Callable[[bytes], bytes], context: str
) -> None:
    blob = change(SecretBox(KEY).seal(b"the secret", "proj/svc"))
    with pytest.raises(StoreError, match=context):
        SecretBox(opener_key).open(blob, context)


def test_secret_box_wants_a_32_byte_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox(bytes(16))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_secret_key_file_is_made_private_and_refused_when_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    key_file = tmp_path / "sandbox.db.key"

    first = SecretBox.load(key_file)

    assert key_file.stat().st_mode & 0o777 == 0o600
    assert SecretBox.load(key_file).fingerprint == first.fingerprint
    key_file.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        SecretBox.load(key_file)


def test_secret_key_from_the_environment_wins_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV_VAR, base64.urlsafe_b64encode(KEY).decode())
    assert SecretBox.load(tmp_path / "unused.key").fingerprint == SecretBox(KEY).fingerprint
    assert not (tmp_path / "unused.key").exists()
    monkeypatch.setenv(KEY_ENV_VAR, "too-short")
    with pytest.raises(StoreError, match=KEY_ENV_VAR):
        SecretBox.load(tmp_path / "unused.key")


# --- Service ids -----------------------------------------------------------------


@cache
def ecma_spaces() -> frozenset[str]:
    """ECMA-262 WhiteSpace and LineTerminator: what `\\s` in the spec's pattern matches."""
    separators = (chr(c) for c in range(sys.maxunicode + 1))
    return frozenset(
        {"\t", "\v", "\f", "\ufeff", "\n", "\r", "\u2028", "\u2029"}
        | {char for char in separators if unicodedata.category(char) == "Zs"}
    )


@pytest.mark.parametrize(
    ("name", "service_id"),
    [
        ("Example Service", "example-service"),
        ("example-service", "example-service"),
        ("EXAMPLE SERVICE", "example-service"),
        ("Example\u3000Service", "example-service"),
        ("A\u00a0B\u2009C\u202fD\tE", "a-b-c-d-e"),
        ("Web App 2", "web-app-2"),
    ],
)
def test_derive_service_id(name: str, service_id: str) -> None:
    assert derive_service_id(name) == service_id


def test_derive_service_id_turns_exactly_the_ecma_spaces_into_hyphens() -> None:
    # Python's own whitespace differs: \x1c-\x1f and \x85 are spaces to `str.isspace`.
    for c in range(0x3100):
        char = chr(c)
        expected = "a-b" if char in ecma_spaces() else f"a{char}b".lower()
        assert derive_service_id(f"a{char}b") == expected, hex(c)
    for char in ecma_spaces():
        assert derive_service_id(f"a{char}b") == "a-b", hex(ord(char))


# --- Rate limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000/hour", RateLimit(1000, 3600)),
        ("5/second", RateLimit(5, 1)),
        (" 10 / Minute ", RateLimit(10, 60)),
        ("1/day", RateLimit(1, 86400)),
        ("off", None),
        (" OFF ", None),
    ],
)
def test_rate_limit_parse(text: str, expected: RateLimit | None) -> None:
    assert RateLimit.parse(text) == expected
    if expected is not None:
        assert RateLimit.parse(str(expected)) == expected


@pytest.mark.parametrize(
    "text", ["", "0/hour", "-1/hour", "10/week", "10/hours", "10 per hour", "ten/hour", "10"]
)
def test_rate_limit_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected N/second"):
        RateLimit.parse(text)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_fixed_window_counts_per_caller_and_rolls_over_at_the_boundary() -> None:
    clock = FakeClock(120.5)
    limiter = FixedWindowLimiter(RateLimit(3, 60), clock)

    allowed = [limiter.hit("alice") for _ in range(3)]
    assert [d.remaining for d in allowed] == [2, 1, 0]
    assert all(d.allowed and d.reset_at == 180 and d.retry_after == 0 for d in allowed)
    assert [name for name, _ in allowed[0].headers()] == [
        b"x-ratelimit-limit",
        b"x-ratelimit-remaining",
        b"x-ratelimit-reset",
    ]

    denied = limiter.hit("alice")
    assert (denied.allowed, denied.remaining, denied.reset_at) == (False, 0, 180)
    assert denied.retry_after == 60  # ceil(180 - 120.5)
    assert (b"retry-after", b"60") in denied.headers()
    assert limiter.hit("bob").allowed  # another caller, another count

    for now, retry_after in [(150.0, 30), (179.2, 1), (179.999, 1)]:
        clock.now = now
        assert limiter.hit("alice").retry_after == retry_after == math.ceil(180 - now)

    clock.now = 180.0  # the next window
    rolled = limiter.hit("alice")
    assert (rolled.allowed, rolled.remaining, rolled.reset_at) == (True, 2, 240)


def test_denied_requests_do_not_count_against_the_next_window() -> None:
    clock = FakeClock(0.0)
    limiter = FixedWindowLimiter(RateLimit(1, 1), clock)
    assert limiter.hit("c").allowed
    for _ in range(100):
        assert not limiter.hit("c").allowed
    clock.now = 1.0
    assert limiter.hit("c").allowed
