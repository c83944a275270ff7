"""`python -m sandbox` as a user types it: first start, projects, tokens, bad arguments."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_sandbox import ROOT, LiveSandbox, start_sandbox
from tests.spec_data import example, oracle_for

TOKEN = re.compile(r"nfsb_[A-Za-z0-9_-]{43}")
CREATE = "Project > Services > General > Create"
STARTUP_SECONDS = 60


def run(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m sandbox ARGS`` in ``cwd``, the repository importable as it is for users."""
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=cwd,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        },
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def failed(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The command failed with ``code``, saying why on stderr (and nothing on stdout)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    return done.stderr


@dataclass
class Served:
    """A `serve` started without the test helper's options: its URL and what it printed."""

    url: str
    stdout: Path
    stderr: Path
    process: subprocess.Popen[bytes]

    def printed(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@contextmanager
def serving(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stop: signal.Signals = signal.SIGTERM,
) -> Iterator[Served]:
    """``python -m sandbox serve --port 0 ARGS`` in ``cwd``; stopped by ``stop`` afterwards.

    The server must then shut down cleanly: exit status 0, no traceback, the WAL folded in.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    out, err = cwd / "serve.out", cwd / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", "0", *args],
            cwd=cwd,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                ),
                **(env or {}),
            },
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (found := re.search(r"Listening on (http://\S+)", out.read_text())):
            assert process.poll() is None, f"serve exited:\n{out.read_text()}{err.read_text()}"
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)
        yield Served(found[1], out, err, process)
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0, err.read_text()
        assert "Traceback" not in err.read_text()
        assert not list(cwd.glob("*-wal")), "the store was not closed"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def create(url: str, token: str, name: str | None = None) -> httpx.Response:
    """What ``curl -X POST URL -H 'Authorization: Bearer …' -d @request.json`` sends."""
    body: dict[str, Any] = copy.deepcopy(example("request", "dockerfileBuild"))
    if name is not None:
        body["name"] = name
    return httpx.post(
        f"{url}/v1/projects/default-project/services/build",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=60,
    )


def assert_conflict(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    error = response.json()
    assert oracle_for("ErrorResponse").is_valid(error)
    assert error["error"]["details"] == {"serviceId": "example-service"}


# --- First start ------------------------------------------------------------------------


def test_first_start_in_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    with serving(folder) as served:
        printed = served.printed()
        tokens = TOKEN.findall(printed)
        assert len(tokens) == 1, printed
        (token,) = tokens
        assert "shown only this once" in served.stdout.read_text()
        assert (folder / "sandbox.db").is_file()
        assert (folder / "sandbox.db.key").is_file()

        first = create(served.url, token)
        assert first.status_code == 200, first.text
        assert oracle_for("CreateBuildServiceResponse").is_valid(first.json())
        assert first.json()["data"]["appId"] == "/sandbox-user/default-project/example-service"
        assert_conflict(create(served.url, token))
        assert create(served.url, "nfsb_" + "x" * 43).status_code == 401

    # A second start finds the database set up: no new token, the old one still works.
    with serving(folder) as served:
        printed = served.printed()
        assert not TOKEN.search(printed), printed
        assert "Created" not in printed
        assert_conflict(create(served.url, token))
    assert token.encode() not in (folder / "sandbox.db").read_bytes()


def test_admin_token_option_and_its_second_start(tmp_path: Path) -> None:
    chosen = "nfsb_chosen-by-the-ci-script-0123"
    with serving(tmp_path, "--admin-token", chosen) as served:
        assert chosen not in served.printed()
        assert not TOKEN.search(served.printed())
        assert create(served.url, chosen).status_code == 200
    with serving(tmp_path, "--admin-token", "nfsb_another-token-entirely-456") as served:
        assert "--admin-token is ignored" in served.stderr.read_text()
        assert_conflict(create(served.url, chosen))
        assert create(served.url, "nfsb_another-token-entirely-456").status_code == 401


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    with serving(tmp_path, stop=signal.SIGINT) as served:
        assert create(served.url, TOKEN.findall(served.printed())[0]).status_code == 200


def test_db_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "named.db"
    with serving(tmp_path / "cwd", env={"NF_SANDBOX_DB": str(db)}):
        assert db.is_file()
        assert (db.parent / "named.db.key").is_file()
    assert not (tmp_path / "cwd" / "sandbox.db").exists()
    assert ok(run("project", "list", cwd=tmp_path, env={"NF_SANDBOX_DB": str(db)})) == (
        "default-project\n"
    )


def test_account_names_every_app_id(tmp_path: Path) -> None:
    server = start_sandbox(tmp_path / "acme", "--quiet", "--account", "acme-corp")
    try:
        response = create(server.url, server.admin_token)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["appId"] == "/acme-corp/default-project/example-service"
    finally:
        server.stop()


# --- Projects --------------------------------------------------------------------------


def test_projects(sandbox: LiveSandbox) -> None:
    cwd = sandbox.db.parent
    db = str(sandbox.db)
    assert ok(run("project", "create", "team-two", "--db", db, cwd=cwd)) == (
        "Created project 'team-two'.\n"
    )
    assert ok(run("project", "list", "--db", db, cwd=cwd)) == "default-project\nteam-two\n"

    for existing in ("default-project", "team-two"):
        message = failed(run("project", "create", existing, "--db", db, cwd=cwd))
        assert message == f"error: project {existing!r} already exists\n"
    assert ok(run("project", "list", "--db", db, cwd=cwd)) == "default-project\nteam-two\n"


@pytest.mark.parametrize(
    "project_id",
    ["Team", "team_two", "ab", "team-", "team--two", "team two", "t" * 101, "équipe", "2-"],
)
def test_bad_project_ids_are_rejected(tmp_path: Path, project_id: str) -> None:
    db = tmp_path / "sandbox.db"
    message = failed(run("project", "create", project_id, "--db", str(db), cwd=tmp_path))
    assert message.startswith(f"error: project id {project_id!r}:"), message
    assert "lowercase letters, digits and single hyphens" in message


# --- Tokens ----------------------------------------------------------------------------


def test_token_create_prints_the_token_alone(sandbox: LiveSandbox) -> None:
    cwd, db = sandbox.db.parent, str(sandbox.db)
    done = run("token", "create", "--permission", CREATE, "--label", "ci", "--db", db, cwd=cwd)
    token = ok(done).removesuffix("\n")
    assert TOKEN.fullmatch(token), done.stdout
    token_id = re.search(r"\btok_[0-9a-f]+\b", done.stderr)
    assert token_id, done.stderr
    assert token not in done.stderr

    listed = ok(run("token", "list", "--db", db, cwd=cwd))
    assert token_id[0] in listed
    assert token not in listed
    assert sandbox.admin_token not in listed
    assert create(sandbox.url, token).status_code == 200


@pytest.mark.parametrize(
    "args",
    [
        ("token", "create"),
        ("token", "create", "--permission", "Project > Services > General > Write"),
        ("token", "create", "--permission", "admin"),
        ("serve", "--rate-limit", "5/fortnight"),
        ("serve", "--rate-limit", "0/hour"),
        ("serve", "--rate-limit", "lots"),
        ("serve", "--port", "eighty"),
        ("project",),
        ("frobnicate",),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    message = failed(run(*args, "--db", str(tmp_path / "sandbox.db"), cwd=tmp_path), code=2)
    assert "usage:" in message
    assert not (tmp_path / "sandbox.db").exists()


def test_revoking_an_unknown_token_fails(sandbox: LiveSandbox) -> None:
    done = run(
        "token", "revoke", "tok_000000000000", "--db", str(sandbox.db), cwd=sandbox.db.parent
    )
    assert "tok_000000000000" in failed(done)


# --- Bad options of `serve` ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--admin-token", "short", "at least 16 characters"),
        ("--admin-token", "", "at least 16 characters"),
        ("--admin-token", "nfsb_has spaces in it", "may hold only"),
        ("--admin-token", "nfsb_has\u00e9accents-in-it", "may hold only"),
        ("--account", "Acme Corp", "lowercase letters"),
        ("--account", "ac", "lowercase letters"),
    ],
)
def test_bad_serve_options_are_rejected(
    tmp_path: Path, option: str, value: str, reason: str
) -> None:
    done = run("serve", "--port", "0", option, value, cwd=tmp_path)
    message = failed(done)
    assert message.startswith(f"error: {option}"), message
    assert reason in message
    if option == "--admin-token" and value:
        assert value not in message, "a rejected token is not echoed"
    assert list(tmp_path.iterdir()) == [], "nothing is created"


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = failed(run("serve", "--port", str(port), cwd=tmp_path))
    assert message.startswith(f"error: cannot listen on 127.0.0.1:{port}"), message
    assert list(tmp_path.iterdir()) == [], "a start that cannot listen sets nothing up"


def test_a_file_that_is_not_a_sandbox_database(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("not a database, just notes\n" * 100)
    message = failed(run("project", "list", "--db", str(db), cwd=tmp_path))
    assert message.startswith(f"error: {db}: not a sandbox database"), message
