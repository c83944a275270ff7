"""Concurrent creates over real HTTP: one name, one service; many names, every one kept.

Each test talks to `python -m sandbox serve` in a subprocess and then reads
the SQLite file itself (read-only) to see what was really stored.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, closing
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.live_sandbox import LiveSandbox, create_body, run_bounded
from tests.spec_data import OPERATION_PATH

T = TypeVar("T")

PROJECT = "default-project"
CREATE = OPERATION_PATH.replace("{projectId}", PROJECT)
TIMEOUT = 60.0  # seconds for a whole scenario; a hang fails instead of stalling the run


def run(make: Callable[[], Awaitable[T]]) -> T:
    return run_bounded(make, TIMEOUT)


body = create_body


def stored_ids(db: Path) -> Counter[str]:
    """The project's service ids as the database holds them, opened read-only."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT id FROM services WHERE project_id = ?", (PROJECT,))
        return Counter(service_id for (service_id,) in rows)


async def connections(
    stack: AsyncExitStack, server: LiveSandbox, count: int
) -> list[httpx.AsyncClient]:
    """``count`` clients of one connection each, already connected."""
    clients = [
        await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=server.url,
                headers=server.headers,
                timeout=30,
                limits=httpx.Limits(max_connections=1),
            )
        )
        for _ in range(count)
    ]
    warm_ups = await asyncio.gather(*(client.get("/no-such-path") for client in clients))
    assert {response.status_code for response in warm_ups} == {404}
    return clients


async def all_at_once(
    clients: Sequence[httpx.AsyncClient], payloads: Sequence[dict[str, Any]]
) -> list[httpx.Response]:
    """One create per client, all held at a gate and then released together."""
    gate = asyncio.Event()

    async def create(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
        await gate.wait()
        return await client.post(CREATE, json=payload)

    tasks = [
        asyncio.create_task(create(client, payload))
        for client, payload in zip(clients, payloads, strict=True)
    ]
    await asyncio.sleep(0)  # every task is now waiting at the gate
    gate.set()
    return list(await asyncio.gather(*tasks))


def assert_one_winner(responses: Sequence[httpx.Response], service_id: str) -> None:
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 409: len(responses) - 1}, statuses
    for response in responses:
        if response.status_code == 200:
            assert response.json()["data"]["id"] == service_id
        else:
            error = response.json()["error"]
            assert error["details"] == {"serviceId": service_id}
            assert error["id"] == response.headers["x-request-id"]


def test_32_concurrent_creates_of_one_name_make_one_service(sandbox: LiveSandbox) -> None:
    # The seed's name 32 times; then 32 spellings that all derive one id.
    spellings = ["Race Two", "race two", "RACE TWO", "race-two", "Race\u3000Two", "rACE\ttWO"]
    rounds = {
        "example-service": [body("Example Service")] * 32,
        "race-two": [body(spellings[n % len(spellings)]) for n in range(32)],
    }

    async def scenario() -> dict[str, list[httpx.Response]]:
        async with AsyncExitStack() as stack:
            clients = await connections(stack, sandbox, 32)
            return {
                service_id: await all_at_once(clients, payloads)
                for service_id, payloads in rounds.items()
            }

    outcomes = run(scenario)

    for service_id, responses in outcomes.items():
        assert_one_winner(responses, service_id)
    assert stored_ids(sandbox.db) == {"example-service": 1, "race-two": 1}


def test_1000_distinct_creates_over_16_connections_all_persist(sandbox: LiveSandbox) -> None:
    # Threads with blocking clients: httpx's sync client costs the test less CPU than its
    # async one, and on two cores the client, not the server, is what takes the time.
    names = [f"Bulk Service {n:04d}" for n in range(1000)]
    expected = {name.lower().replace(" ", "-") for name in names}
    pending = iter(names)
    lock = threading.Lock()

    def worker() -> list[httpx.Response]:
        responses: list[httpx.Response] = []
        with httpx.Client(base_url=sandbox.url, headers=sandbox.headers, timeout=30) as client:
            while True:
                with lock:  # the workers share one iterator: each name is sent once
                    name = next(pending, None)
                if name is None:
                    return responses
                responses.append(client.post(CREATE, json=body(name)))

    with ThreadPoolExecutor(16) as pool:
        workers = [pool.submit(worker) for _ in range(16)]
        responses = [r for done in workers for r in done.result(timeout=TIMEOUT)]

    assert len(responses) == 1000
    failures = [(r.status_code, r.text) for r in responses if r.status_code != 200]
    assert failures == []
    assert {r.json()["data"]["id"] for r in responses} == expected
    stored = stored_ids(sandbox.db)
    assert set(stored) == expected
    assert sum(stored.values()) == 1000


def test_two_processes_on_one_file_let_one_create_of_each_name_through(
    sandbox: LiveSandbox,
) -> None:
    # A second server on the same database: only the database can pick the winner.
    other = LiveSandbox(sandbox.db, sandbox.admin_token, sandbox.extra_args, sandbox.env)
    other.log = sandbox.db.with_name("second-server.log")
    other.start()
    names = [f"Shared Name {n}" for n in range(6)]

    async def scenario() -> list[list[httpx.Response]]:
        async with AsyncExitStack() as stack:
            clients = list(
                itertools.chain.from_iterable(
                    zip(
                        await connections(stack, sandbox, 16),
                        await connections(stack, other, 16),
                        strict=True,
                    )
                )
            )
            return [await all_at_once(clients, [body(name)] * len(clients)) for name in names]

    try:
        outcomes = run(scenario)
    finally:
        other.stop()

    for name, responses in zip(names, outcomes, strict=True):
        assert_one_winner(responses, name.lower().replace(" ", "-"))
    assert stored_ids(sandbox.db) == {name.lower().replace(" ", "-"): 1 for name in names}
