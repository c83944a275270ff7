"""SIGKILL the sandbox under load: every create it answered with 200 survives the restart.

The server answers 200 only after the insert's transaction has committed, so
killing the process at any moment must not lose an acknowledged service. A
create that got no answer may or may not have been stored; after the restart
the database alone says which, and a repeated create agrees with it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sandbox.secrets_at_rest import SecretBox, join_secrets
from tests.live_sandbox import LiveSandbox, create_body, run_bounded, start_sandbox
from tests.spec_data import OPERATION_PATH

T = TypeVar("T")

PROJECT = "default-project"
CREATE = OPERATION_PATH.replace("{projectId}", PROJECT)
CLIENTS = 8
KILL_AFTER = (30, 60, 90)  # acknowledged creates before each kill; one cycle per entry
TIMEOUT = 60.0  # seconds per scenario


def run(make: Callable[[], Awaitable[T]]) -> T:
    return run_bounded(make, TIMEOUT)


body = create_body


@dataclass
class Load:
    """What the clients heard before the server died."""

    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Service id -> the ``data`` of its 200."""
    unanswered: dict[str, str] = field(default_factory=dict)
    """Service id -> name, for creates that got no response."""
    sent_at_kill: int = 0
    """Creates sent and not yet answered when the kill was ordered."""
    unexpected: list[tuple[int, str]] = field(default_factory=list)


async def load_then_kill(server: LiveSandbox, cycle: int, kill_after: int) -> Load:
    """Distinct creates from ``CLIENTS`` clients; SIGKILL as the ``kill_after``-th 200 arrives."""
    load = Load()
    waiting = 0
    process = server.process
    assert process is not None

    async def client_loop(number: int) -> None:
        nonlocal waiting
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers, timeout=30
        ) as client:
            for n in itertools.count():
                name = f"Crash {cycle} c{number} n{n}"
                service_id = name.lower().replace(" ", "-")
                waiting += 1
                try:
                    response = await client.post(CREATE, json=body(name))
                except httpx.TransportError:  # killed: in flight, or sent afterwards
                    load.unanswered[service_id] = name
                    return
                finally:
                    waiting -= 1
                if response.status_code != 200:
                    load.unexpected.append((response.status_code, response.text))
                    return
                load.acked[service_id] = response.json()["data"]
                if len(load.acked) == kill_after:
                    # At once, so the create just answered is the newest commit, while
                    # the other clients wait on theirs.
                    load.sent_at_kill = waiting
                    process.send_signal(signal.SIGKILL)

    await asyncio.gather(*(client_loop(number) for number in range(CLIENTS)))
    assert await asyncio.to_thread(server.stop, kill=True) == -signal.SIGKILL
    return load


@dataclass(frozen=True)
class Row:
    record: dict[str, Any]
    sealed: bytes | None


def read_rows(db: Path) -> dict[str, Row]:
    """Every stored service, after an integrity check, from a read-only connection."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = connection.execute(
            "SELECT id, record, sealed_secrets FROM services WHERE project_id = ?", (PROJECT,)
        )
        return {service_id: Row(json.loads(record), sealed) for service_id, record, sealed in rows}


async def create_each(server: LiveSandbox, names: list[str]) -> dict[str, httpx.Response]:
    """Create each name once more, a few at a time."""
    responses: dict[str, httpx.Response] = {}
    pending = iter(names)

    async def client_loop() -> None:
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers, timeout=30
        ) as client:
            for name in pending:
                responses[name] = await client.post(CREATE, json=body(name))

    await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
    return responses


@pytest.fixture(params=["full", "normal"])
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveSandbox]:
    """A fresh sandbox in each `--synchronous` mode: both must survive a SIGKILL."""
    server = start_sandbox(
        tmp_path / "sandbox", "--quiet", "--rate-limit", "off", "--synchronous", request.param
    )
    try:
        yield server
    finally:
        server.stop()


def test_a_sigkill_under_load_loses_no_acknowledged_create(sandbox: LiveSandbox) -> None:
    box = SecretBox.load(sandbox.db.with_name(sandbox.db.name + ".key"))  # the server's key
    acked: dict[str, dict[str, Any]] = {}  # every id a 200 was heard for, with its data
    unanswered: dict[str, str] = {}  # id -> name of every create that heard nothing

    for cycle, kill_after in enumerate(KILL_AFTER):
        load = run(lambda: load_then_kill(sandbox, cycle, kill_after))  # noqa: B023
        assert load.unexpected == []
        assert len(load.acked) >= kill_after  # a few more may land before the kill does
        assert len(load.unanswered) == CLIENTS  # each client's last create
        assert load.sent_at_kill > 0, "the kill found no create in flight"
        acked |= load.acked
        unanswered |= load.unanswered

        sandbox.start()  # the same database, in a new process on a new port
        rows = read_rows(sandbox.db)

        lost = sorted(acked.keys() - rows.keys())
        assert lost == [], f"cycle {cycle}: answered 200 but not stored"
        phantoms = sorted(rows.keys() - acked.keys() - unanswered.keys())
        assert phantoms == [], f"cycle {cycle}: stored but never sent"
        for service_id, row in rows.items():
            assert row.sealed is not None, service_id
            data = join_secrets(row.record, box.open(row.sealed, f"{PROJECT}/{service_id}"))
            if service_id in acked:
                assert data == acked[service_id], service_id
            else:  # committed, though its client never heard: whole all the same
                assert data["id"] == service_id
                assert data["name"] == unanswered[service_id]

        # Each name again: 409 when the database has it, 200 when the kill lost it unanswered.
        again = [data["name"] for data in load.acked.values()] + list(load.unanswered.values())
        responses = run(lambda: create_each(sandbox, again))  # noqa: B023
        for data in load.acked.values():
            response = responses[data["name"]]
            assert response.status_code == 409, response.text
            assert response.json()["error"]["details"] == {"serviceId": data["id"]}
        for service_id, name in load.unanswered.items():
            response = responses[name]
            assert response.status_code == (409 if service_id in rows else 200), response.text
            if response.status_code == 200:
                acked[service_id] = response.json()["data"]

    assert acked.keys() <= read_rows(sandbox.db).keys()
