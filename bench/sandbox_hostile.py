"""Hostile bodies: does one costly request stall the sandbox for everyone else?

Called from ``bench/run.py`` (``--only hostile``), or alone:

    python bench/sandbox_hostile.py [--root DIR]

``--root`` runs the sandbox of another copy of the project (its ``sandbox/`` and its
``generated/python`` first on the import path), so a copy of an older commit can be
measured with the same interpreter: the before of a before-and-after.

One sandbox on loopback (fresh database, rate limit off, no access log). The
worst-case body is the spec's ``dockerfileBuild`` example with ``"tags": ["t"] *
200000`` (about 0.8 MB, under the 1 MiB body limit): every tag breaks the tag
pattern, so a validator that reports every error builds 200,000 of them. What is
measured:

1. the latency of an unrelated request (GET the project's service list), alone;
2. the same while 4 worst-case bodies are in flight at once (each on its own
   connection), and how long those 4 take;
3. one worst-case 400 alone: its size and its time;
4. an ordinary create (the example, a small body checked on the event loop), alone,
   so that a change to the large-body path can be seen not to slow the common case.

Nothing fails on a slow figure; a wrong status does (a worst-case body not
answered 400, or a list not answered 200).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["bench_hostile", "worst_case_body"]

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30.0
PROJECT = "default-project"
LIST_PATH = f"/v1/projects/{PROJECT}/services"
CREATE_PATH = f"/v1/projects/{PROJECT}/services/build"
TAGS = 200_000
HOSTILE_IN_FLIGHT = 4
ALONE_SAMPLES = 30
REQUEST_TIMEOUT = 300.0


@dataclass
class Sandbox:
    host: str
    port: int
    token: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def request_example() -> dict[str, Any]:
    """The spec's ``dockerfileBuild`` request example."""
    spec = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    operation = spec["paths"]["/v1/projects/{projectId}/services/build"]["post"]
    example: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["examples"][
        "dockerfileBuild"
    ]["value"]
    return example


def worst_case_body() -> bytes:
    """The spec's request example with 200,000 tags that each break the tag pattern."""
    return json.dumps({**request_example(), "tags": ["t"] * TAGS}).encode()


@contextmanager
def running_sandbox(root: Path, folder: Path, *options: str) -> Iterator[Sandbox]:
    token = "nfsb_bench_" + secrets.token_urlsafe(24)
    log = folder / "sandbox.log"
    argv = [
        sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
        "--db", str(folder / "sandbox.db"), "--admin-token", token,
        "--quiet", "--rate-limit", "off", *options,
    ]  # fmt: skip
    path = os.pathsep.join([str(root), str(root / "generated" / "python")])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not (match := re.search(r"Listening on http://([\d.]+):(\d+)", log.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the sandbox did not start:\n{log.read_text()}")
        time.sleep(0.05)
    sandbox = Sandbox(match[1], int(match[2]), token, process)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def request(sandbox: Sandbox, method: str, path: str, body: bytes | None) -> tuple[int, int, float]:
    """(status, response bytes, seconds) of one request on a fresh connection."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=REQUEST_TIMEOUT)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        size = len(response.read())
    finally:
        connection.close()
    return response.status, size, time.perf_counter() - started


def unrelated(sandbox: Sandbox) -> float:
    status, _, seconds = request(sandbox, "GET", LIST_PATH, None)
    if status != 200:
        raise RuntimeError(f"the service list answered {status}")
    return seconds


def hostile(sandbox: Sandbox, body: bytes) -> tuple[int, float]:
    status, size, seconds = request(sandbox, "POST", CREATE_PATH, body)
    if status != 400:
        raise RuntimeError(f"a worst-case body was answered {status}, not 400")
    return size, seconds


def ordinary_creates(sandbox: Sandbox, count: int) -> list[float]:
    """Times of ``count`` creates of the example under new names, one after another."""
    example = request_example()
    seconds = []
    for number in range(count):
        body = json.dumps({**example, "name": f"ordinary-{number}"}).encode()
        status, _, took = request(sandbox, "POST", CREATE_PATH, body)
        if status != 200:
            raise RuntimeError(f"an ordinary create was answered {status}, not 200")
        seconds.append(took)
    return seconds


def under_attack(sandbox: Sandbox, body: bytes) -> tuple[list[float], list[float]]:
    """Unrelated latencies sampled while 4 worst-case bodies are in flight, and their times."""
    hostile_seconds: list[float] = []
    failures: list[BaseException] = []

    def attack() -> None:
        try:
            hostile_seconds.append(hostile(sandbox, body)[1])
        except BaseException as error:  # noqa: BLE001 - reported after the join
            failures.append(error)

    attackers = [threading.Thread(target=attack) for _ in range(HOSTILE_IN_FLIGHT)]
    for attacker in attackers:
        attacker.start()
    time.sleep(0.05)  # let the bodies get going
    samples: list[float] = []
    while any(attacker.is_alive() for attacker in attackers):
        samples.append(unrelated(sandbox))
        time.sleep(0.01)
    for attacker in attackers:
        attacker.join()
    if failures:
        raise RuntimeError(f"a worst-case request failed: {failures[0]!r}")
    return samples, hostile_seconds


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def bench_hostile(root: Path = ROOT, *serve_options: str) -> bool:
    """Run and print the section; ``False`` if an answer had the wrong status."""
    print(f"\nHostile bodies: an unrelated GET next to {HOSTILE_IN_FLIGHT} worst-case bodies")
    print(f"   sandbox from {root}", *serve_options)
    body = worst_case_body()
    print(f"   worst-case body: {len(body) / 1e6:.2f} MB, {TAGS:,} tags that break the pattern")
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            running_sandbox(root, Path(folder), *serve_options) as box,
        ):
            unrelated(box)  # warm up
            alone = [unrelated(box) for _ in range(ALONE_SAMPLES)]
            creates = ordinary_creates(box, ALONE_SAMPLES)
            size, one = hostile(box, body)
            samples, attack = under_attack(box, body)
    except RuntimeError as error:
        print(f"   FAILED: {error}")
        return False
    alone_p50 = statistics.median(alone)
    print(f"   unrelated GET alone:       p50 {ms(alone_p50)}, max {ms(max(alone))}")
    print(
        f"   unrelated GET under attack: p50 {ms(statistics.median(samples))},"
        f" max {ms(max(samples))} ({len(samples)} samples;"
        f" max/alone p50 {max(samples) / alone_p50:,.0f}x)"
    )
    print(
        f"   the {HOSTILE_IN_FLIGHT} worst-case bodies in flight: each {ms(min(attack))}"
        f" to {ms(max(attack))}"
    )
    print(f"   one worst-case 400 alone:  {size / 1e6:.3f} MB in {ms(one)}")
    print(
        f"   an ordinary create alone:  p50 {ms(statistics.median(creates))},"
        f" max {ms(max(creates))}"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the project copy to serve")
    parser.add_argument(
        "serve_options", nargs="*", help="more `serve` options, after --: -- --validation-workers 2"
    )
    args = parser.parse_args(argv)
    return 0 if bench_hostile(args.root.resolve(), *args.serve_options) else 1


if __name__ == "__main__":
    sys.exit(main())
