"""Running ``nf-build`` as users do, for the test_cli*.py modules.

The console script next to this interpreter runs as a subprocess with
``NO_COLOR=1``, ``COLUMNS=80``, a context file of the test's own and none of this
process's ``NORTHFLANK_*`` variables. Against a live sandbox, each test gets an
admin token of its own, and the sandbox's per-token rate limit counts the
requests made with it: `requests_from` is how a test proves nothing was sent.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from sandbox.sqlite_store import SqliteAdminStore
from sandbox.tokens import ADMIN_PERMISSION, hash_token
from tests.live_sandbox import LiveSandbox, start_sandbox
from tests.spec_data import example

__all__ = [
    "CREATE",
    "IN_PROJECT",
    "NF_BUILD",
    "PROJECT",
    "Cli",
    "base_env",
    "counting_sandbox",
    "fresh_token",
    "requests_from",
    "service_count",
    "unique_body",
    "write_body",
]

NF_BUILD = Path(sys.executable).with_name("nf-build")
PROJECT = "default-project"
CREATE = ("create", "service", "build")
IN_PROJECT = (*CREATE, "--project-id", PROJECT)
RATE_LIMIT = 1_000_000
"""Requests per token per day: never reached, but it makes the sandbox count them."""


def counting_sandbox(folder: Path) -> LiveSandbox:
    """A sandbox that counts each token's requests (see `requests_from`)."""
    return start_sandbox(folder, "--quiet", "--rate-limit", f"{RATE_LIMIT}/day")


def fresh_token(server: LiveSandbox) -> str:
    """A new admin token, whose requests the sandbox counts apart from every other token's."""
    value = f"nfsb_cli_{secrets.token_urlsafe(24)}"
    store = SqliteAdminStore(server.db)
    try:
        store.create_token(
            token_hash=hash_token(value), label="cli", permissions=(ADMIN_PERMISSION,)
        )
    finally:
        store.close()
    return value


def requests_from(server: LiveSandbox, token: str) -> int:
    """How many requests a `counting_sandbox` has received with ``token``; ask once, at the end.

    Asking is itself a request, which the answer's ``x-ratelimit-remaining``
    counts too. The window is a UTC day: should one end between the command
    and the question, the count can only come out lower, never higher.
    """
    response = httpx.get(
        f"{server.url}/v1/request-count",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    limit = int(response.headers["x-ratelimit-limit"])
    return limit - int(response.headers["x-ratelimit-remaining"]) - 1


def service_count(server: LiveSandbox, project: str = PROJECT) -> int:
    store = SqliteAdminStore(server.db)
    try:
        return store.count_services(project)
    finally:
        store.close()


def base_env(folder: Path) -> dict[str, str]:
    """This process's environment without ``NORTHFLANK_*``; no colour, 80 columns."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHFLANK_")}
    env.update(NO_COLOR="1", COLUMNS="80", NF_BUILD_CONFIG=str(folder / "config.json"))
    return env


@dataclass
class Cli:
    """``nf-build`` with a fixed environment, run in ``cwd``; stdin is never a terminal."""

    env: dict[str, str]
    cwd: Path

    def __call__(
        self, *args: str | Path, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NF_BUILD), *map(str, args)],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            encoding="utf-8",
            cwd=self.cwd,
            env=self.env,
            timeout=timeout,
            check=False,
        )


def unique_body() -> dict[str, Any]:
    """The spec's request example under a name no other test uses."""
    return {**example("request", "dockerfileBuild"), "name": f"Cli {secrets.token_hex(6)}"}


def write_body(folder: Path, body: Any, name: str = "service.json") -> Path:
    """``body`` in ``folder``, as YAML for a ``.yaml``/``.yml`` name, else as JSON."""
    path = folder / name
    if name.endswith((".yaml", ".yml")):
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    return path
