"""The sandbox as users run it: `python -m sandbox serve` in a subprocess, over real HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.spec_data import example

__all__ = ["LiveSandbox", "create_body", "run_bounded", "start_sandbox"]

ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"Listening on (http://\S+)")
_STARTUP_SECONDS = 30.0


@dataclass
class LiveSandbox:
    """A running sandbox: its URL, database file, admin token and process.

    With ``store_url`` (a ``postgresql://`` URL) the sandbox keeps its state there
    (``--store``); ``db`` then only names the folder it runs in and its log.
    """

    db: Path
    admin_token: str
    extra_args: tuple[str, ...]
    env: dict[str, str]
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)
    store_url: str = ""

    def __post_init__(self) -> None:
        self.log = self.db.with_name(self.db.name + ".log")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def start(self) -> LiveSandbox:
        command = [
            sys.executable, "-m", "sandbox", "serve",
            "--host", "127.0.0.1", "--port", "0",
            *(("--store", self.store_url) if self.store_url else ("--db", str(self.db))),
            "--admin-token", self.admin_token,
            *self.extra_args,
        ]  # fmt: skip
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.db.parent, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + _STARTUP_SECONDS
        offset = self.log.stat().st_size if self.log.exists() else 0
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            if match := _LISTENING.search(text):
                self.url = match[1]
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at start:\n{self.output()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the sandbox did not start in {_STARTUP_SECONDS} s:\n{self.output()}")

    def stop(self, *, kill: bool = False) -> int | None:
        """Stop the server: SIGTERM (a clean shutdown), or SIGKILL when ``kill``."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def restart(self, *, kill: bool = False) -> LiveSandbox:
        self.stop(kill=kill)
        return self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_sandbox(
    folder: Path, *extra_args: str, env: dict[str, str] | None = None, store_url: str = ""
) -> LiveSandbox:
    """Start a sandbox on a fresh database in ``folder`` (quiet, with a known admin token),
    or, given ``store_url``, on that PostgreSQL database."""
    folder.mkdir(parents=True, exist_ok=True)
    token = "nfsb_test_" + secrets.token_urlsafe(24)
    sandbox = LiveSandbox(folder / "sandbox.db", token, extra_args, env or {})
    sandbox.store_url = store_url
    return sandbox.start()


T = TypeVar("T")


def create_body(name: str) -> dict[str, Any]:
    """The spec's request example under another name."""
    return {**example("request", "dockerfileBuild"), "name": name}


def run_bounded(make: Callable[[], Awaitable[T]], seconds: float) -> T:
    """Run a coroutine to completion in a fresh loop; a hang fails after ``seconds``."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), seconds)

    return asyncio.run(bounded())
