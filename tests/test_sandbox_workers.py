"""`serve --workers 2`: two processes on one port and one SQLite file.

Under a race on one name exactly one create succeeds; the rate limit counts across
both workers; SIGTERM stops them all, and SIGKILL of the parent leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_sandbox import LiveSandbox, create_body, run_bounded, start_sandbox
from tests.spec_data import OPERATION_PATH
from tests.test_sandbox_concurrency import stored_ids

CREATE = OPERATION_PATH.replace("{projectId}", "default-project")
LIST = "/v1/projects/default-project/services"
TIMEOUT = 60.0


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"  # a zombie has ended, its parent not reaped it yet


def wait_until_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[LiveSandbox]:
    server = start_sandbox(tmp_path / "box", "--quiet", "--rate-limit", "off", "--workers", "2")
    yield server
    server.stop()


pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")


def test_two_workers_serve_and_both_are_children(two_workers: LiveSandbox) -> None:
    assert two_workers.process is not None
    assert len(workers_of(two_workers.process.pid)) == 2
    assert "2 workers" in two_workers.output()


def test_a_race_on_one_name_gives_one_200_across_workers(two_workers: LiveSandbox) -> None:
    names = [f"race-{n}" for n in range(12)]

    async def race() -> list[Counter[int]]:
        # A client per request and Connection: close, so the requests of one name reach
        # both workers (the kernel hands each new connection to whichever accepts first).
        async def one(name: str) -> int:
            async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as client:
                response = await client.post(
                    CREATE,
                    json=create_body(name),
                    headers={**two_workers.headers, "Connection": "close"},
                )
                return response.status_code

        verdicts = []
        for name in names:
            statuses = await asyncio.gather(*(one(name) for _ in range(8)))
            verdicts.append(Counter(statuses))
        return verdicts

    verdicts = run_bounded(race, TIMEOUT)
    assert all(verdict == Counter({200: 1, 409: 7}) for verdict in verdicts), verdicts
    assert stored_ids(two_workers.db) == Counter(dict.fromkeys(names, 1))


def test_the_rate_limit_holds_across_workers(tmp_path: Path) -> None:
    server = start_sandbox(
        tmp_path / "box", "--quiet", "--rate-limit", "10/minute", "--workers", "2"
    )
    try:

        async def burst() -> list[httpx.Response]:
            async def one() -> httpx.Response:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    return await client.get(LIST, headers={**server.headers, "Connection": "close"})

            return list(await asyncio.gather(*(one() for _ in range(24))))

        answers = run_bounded(burst, TIMEOUT)
    finally:
        server.stop()
    statuses = Counter(answer.status_code for answer in answers)
    if statuses[200] < 10:  # a minute boundary fell inside the burst: two windows counted
        pytest.skip(f"the window turned during the burst: {statuses}")
    assert statuses == Counter({200: 10, 429: 14})
    remaining = sorted(int(a.headers["x-ratelimit-remaining"]) for a in answers)
    assert remaining == [0] * 15 + list(range(1, 10))


def test_sigterm_stops_every_worker(two_workers: LiveSandbox) -> None:
    assert two_workers.process is not None
    workers = workers_of(two_workers.process.pid)
    assert two_workers.stop() == 0
    assert wait_until_gone(workers) == []
    db = two_workers.db
    assert not db.with_name(db.name + "-wal").exists()  # every connection closed cleanly


def test_sigkill_of_the_parent_leaves_no_orphan(two_workers: LiveSandbox) -> None:
    assert two_workers.process is not None
    workers = workers_of(two_workers.process.pid)
    two_workers.process.send_signal(signal.SIGKILL)
    two_workers.process.wait()
    left = wait_until_gone(workers)
    for pid in left:  # do not leave them running for the rest of the session
        os.kill(pid, signal.SIGKILL)
    assert left == []
