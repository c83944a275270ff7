"""`nf-build` for every shape of operation: the fixture spec's CLI against its recording server.

The fixture spec (`tests/fixtures/every_shape.yaml`) is generated into a
temporary folder; its CLI runs as a subprocess (``PYTHONPATH`` at that tree,
never imported here) against an `EveryShapeServer` in this process, whose
``requests`` show exactly what arrived, or that nothing did.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pexpect
import pytest
import yaml

from tests.cli_run import base_env
from tests.every_shape_server import EveryShapeServer

TEAM = "team-one"
IN_TEAM = ("--team-id", TEAM)
TRACE_ID = "0a1b2c3d"
MAIN = "from northflank_build._cli import main; main()"
BODY_OPTIONS = {"-f", "--file", "-i", "--input"}
TIMEOUT = 60


@pytest.fixture
def server() -> Iterator[EveryShapeServer]:
    with EveryShapeServer() as running:
        yield running


@pytest.fixture
def env(every_shape_generated: Path, server: EveryShapeServer, tmp_path: Path) -> dict[str, str]:
    """The fixture's package first on the path; the server's URL and a token in the environment."""
    values = base_env(tmp_path)
    values.update(
        PYTHONPATH=str(every_shape_generated / "python"),
        NORTHFLANK_BASE_URL=server.url,
        NORTHFLANK_API_TOKEN="fixture-token",
    )
    return values


def nf(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The fixture's ``nf-build ARGS``; stdin is never a terminal."""
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def widget_url(server: EveryShapeServer, widget: str, rest: str = "") -> str:
    return f"{server.url}/v1/teams/{TEAM}/widgets/{widget}{rest}"


# --- The commands and their options ----------------------------------------------------------

OPTIONS_SCRIPT = """
import json
import click
from northflank_build._cli import COMMANDS
from northflank_build._cli_base import build_cli

root = build_cli(COMMANDS, prog="nf-build", version="0")
found = {}
for command in COMMANDS:
    node = root
    for word in command.path:
        node = node.get_command(click.Context(node), word)
    found[" ".join(command.path)] = sorted(
        name for p in node.params for name in (*p.opts, *p.secondary_opts)
    )
print(json.dumps(found))
"""


def test_each_command_has_the_options_of_its_shape(env: dict[str, str]) -> None:
    options: dict[str, list[str]] = json.loads(ok(option_names(env)))
    assert set(options) == {
        "list widgets",
        "create widget",
        "get widget",
        "put widget",
        "patch widget",
        "delete widget",
        "get widget-status",
        "rebuild widget",
    }
    for bodyless in ("list widgets", "get widget", "delete widget", "get widget-status"):
        assert not BODY_OPTIONS & set(options[bodyless]), bodyless
    assert not BODY_OPTIONS & set(options["rebuild widget"])
    for with_body in ("create widget", "put widget", "patch widget"):
        assert set(options[with_body]) >= BODY_OPTIONS, with_body
    listing = set(options["list widgets"])
    assert {"--all", "--loadAll", "--per-page", "--per_page", "--page", "--cursor"} <= listing
    assert {"--size", "--x-trace-id", "--X-Trace-Id", "--team-id", "--team"} <= listing
    deleting = set(options["delete widget"])
    assert {
        "--yes",
        "-y",
        "--force",
        "--delete-child-objects",
        "--delete_child_objects",
    } <= deleting
    assert "--no-delete-child-objects" in deleting
    assert "--force" not in options["get widget"]
    assert "--all" not in options["get widget"]
    assert "--priority" in options["rebuild widget"]
    assert all("--strict" in names and "--dry-run" in names for names in options.values())


def option_names(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Every option name of every command, as the fixture's runtime builds them."""
    return subprocess.run(
        [sys.executable, "-c", OPTIONS_SCRIPT],
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_bodyless_lists_help_says_how_it_pages(env: dict[str, str]) -> None:
    out = ok(nf(env, "list", "widgets", "--help"))
    assert "--all, --loadAll" in out
    assert "--per-page, --per_page INTEGER" in out
    assert "--size [1|2|3|5]" in out
    assert "--file" not in out
    assert "--input" not in out
    assert "-o json" in out
    assert "as pages arrive" in out


# --- Each command against the server ------------------------------------------------------


def test_create_get_put_patch_status_rebuild_and_delete(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    created = json.loads(ok(nf(env, "create", "widget", *IN_TEAM, "-n", "first", "-s", "2")))
    assert created == {"id": "first", "name": "first", "size": 2}
    got = yaml.safe_load(ok(nf(env, "get", "widget", *IN_TEAM, "--widget", "first", "-o", "yaml")))
    assert got == created
    put = json.loads(
        ok(nf(env, "put", "widget", *IN_TEAM, "--widget-id", "first", "-i", '{"name": "again"}'))
    )
    assert put == {"id": "first", "name": "again", "size": 1}
    unchanged = json.loads(ok(nf(env, "patch", "widget", *IN_TEAM, "--widgetId", "first")))
    assert unchanged == put
    patched = ok(nf(env, "patch", "widget", *IN_TEAM, "--widget", "first", "--size", "5", "-q"))
    assert patched == "first\n"
    status = json.loads(ok(nf(env, "get", "widget-status", *IN_TEAM, "--widget", "first")))
    assert status == {"id": "first", "state": "on"}
    rebuilt = nf(env, "rebuild", "widget", *IN_TEAM, "--widget", "first", "--priority", "3")
    assert json.loads(ok(rebuilt)) == {"id": "first", "state": "yes"}
    deleted = nf(env, "delete", "widget", *IN_TEAM, "--widget", "first", "--yes", "-o", "table")
    assert ok(deleted) == "Delete widget: done (204, no content).\n"

    sent = [(r.method, urlsplit(r.path).path, r.query, r.json()) for r in server.requests]
    base = f"/v1/teams/{TEAM}/widgets"
    assert sent == [
        ("POST", base, (), {"name": "first", "size": 2}),
        ("GET", f"{base}/first", (), None),
        ("PUT", f"{base}/first", (), {"name": "again"}),
        ("PATCH", f"{base}/first", (), None),
        ("PATCH", f"{base}/first", (), {"size": 5}),
        ("GET", f"{base}/first/status", (), None),
        ("POST", f"{base}/first/rebuild", (("priority", "3"),), None),
        ("DELETE", f"{base}/first", (), None),
    ]
    assert all(r.headers["authorization"] == "Bearer fixture-token" for r in server.requests)
    assert "content-type" not in server.requests[3].headers  # a patch with no body sends none


def test_query_and_header_flags_reach_the_server_exactly(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    server.add_widgets(TEAM, 3, size=2)
    args = ("--per_page", "5", "--size", "2", "--X-Trace-Id", TRACE_ID, "--cursor", "widget-0")
    items = json.loads(ok(nf(env, "list", "widgets", *IN_TEAM, *args)))
    assert [item["id"] for item in items] == ["widget-1", "widget-2"]
    (request,) = server.requests
    assert request.query == (("per_page", "5"), ("cursor", "widget-0"), ("size", "2"))
    assert request.headers["x-trace-id"] == TRACE_ID
    done = nf(env, "delete", "widget", *IN_TEAM, "--widget", "widget-0", "--force")
    assert done.returncode == 0, done.stderr
    done = nf(env, "delete", "widget", *IN_TEAM, "--widget", "widget-1", "--delete_child_objects")
    assert done.returncode == 2, done.stderr  # no --yes: refused before anything is sent
    ok(
        nf(
            env,
            "delete",
            "widget",
            *IN_TEAM,
            "--widget",
            "widget-1",
            "--delete-child-objects",
            "-y",
        )
    )
    assert [r.query for r in server.requests[1:]] == [(), (("delete_child_objects", "true"),)]


INVALID = [
    pytest.param(
        ("list", "widgets", *IN_TEAM, "--per-page", "0"), "--per-page (minimum)", id="min"
    ),
    pytest.param(("list", "widgets", *IN_TEAM, "--per_page", "1.5"), "'--per-page'", id="integer"),
    pytest.param(("list", "widgets", *IN_TEAM, "--size", "8"), "'--size'", id="enum-bound"),
    pytest.param(
        ("list", "widgets", *IN_TEAM, "--x-trace-id", "ZZ"), "--x-trace-id (pattern)", id="pattern"
    ),
    pytest.param(("list", "widgets", "--team", "x"), "--team-id (minLength)", id="path"),
    pytest.param(
        ("rebuild", "widget", *IN_TEAM, "--widget", "abc"), "--priority (required)", id="required"
    ),
]


@pytest.mark.parametrize(("args", "named"), INVALID)
def test_an_invalid_parameter_is_refused_and_nothing_is_sent(
    env: dict[str, str], server: EveryShapeServer, args: tuple[str, ...], named: str
) -> None:
    done = nf(env, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert named in done.stderr
    assert done.stdout == ""
    assert server.requests == []


def test_a_dry_run_shows_the_url_with_its_query_and_the_headers(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    args = ("--per-page", "3", "--x-trace-id", TRACE_ID, "--dry-run", "-o", "json")
    request = json.loads(ok(nf(env, "list", "widgets", *IN_TEAM, *args)))
    assert request == {
        "method": "GET",
        "url": f"{server.url}/v1/teams/{TEAM}/widgets?per_page=3",
        "headers": {"authorization": "Bearer <redacted>", "X-Trace-Id": TRACE_ID},
    }
    done = nf(env, "delete", "widget", *IN_TEAM, "--widget", "abc", "--dry-run", "-o", "table")
    assert ok(done) == f"DELETE {widget_url(server, 'abc')}\nauthorization: Bearer <redacted>\n"
    assert "nothing was sent" in done.stderr
    assert server.requests == []


# --- Pages ----------------------------------------------------------------------------------


def test_all_walks_every_page_and_prints_each_as_it_arrives(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    ids = server.add_widgets(TEAM, 7)
    server.later_pages_gate = threading.Event()
    child = subprocess.Popen(
        [sys.executable, "-c", MAIN, "list", "widgets", *IN_TEAM, "--all", "-o", "table"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        env=env,
    )
    try:
        assert child.stdout is not None
        first_page = [child.stdout.readline() for _ in range(3)]  # the header and two rows
        # Page 2 is held back by the gate: these rows were printed before it was answered.
        assert [line.split()[0] for line in first_page] == ["ID", *ids[:2]]
        assert len(server.requests) <= 2
        server.later_pages_gate.set()
        rest, errors = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()  # reaps it and closes its pipes
    assert child.returncode == 0, errors
    rows = [line.split()[0] for line in [*first_page, *rest.splitlines()]]
    assert rows == ["ID", *ids]
    cursors = [dict(r.query).get("cursor") for r in server.requests]
    assert cursors == [None, ids[1], ids[3], ids[5]]


def test_load_all_and_per_page_aliases_print_one_json_array(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    ids = server.add_widgets(TEAM, 7, size=3)
    items = json.loads(ok(nf(env, "list", "widgets", *IN_TEAM, "--loadAll", "--per_page", "3")))
    assert [item["id"] for item in items] == ids
    assert items[0] == {"id": ids[0], "name": ids[0], "size": 3}
    assert [dict(r.query).get("per_page") for r in server.requests] == ["3", "3", "3"]
    listed = yaml.safe_load(ok(nf(env, "list", "widgets", *IN_TEAM, "--all", "-o", "yaml")))
    assert [item["id"] for item in listed] == ids


def test_one_page_by_default_and_stderr_says_how_to_get_the_next(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    ids = server.add_widgets(TEAM, 3)
    done = nf(env, "list", "widgets", *IN_TEAM, "-q")
    assert ok(done).splitlines() == ids[:2]
    assert f"--cursor {ids[1]}" in done.stderr
    assert "--all" in done.stderr
    assert json.loads(ok(nf(env, "list", "widgets", "--team", "empty-team"))) == []


# --- Deleting ---------------------------------------------------------------------------------


def test_a_delete_without_a_terminal_needs_yes_or_force(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    (widget,) = server.add_widgets(TEAM, 1)
    refused = nf(env, "delete", "widget", *IN_TEAM, "--widget", widget)
    assert refused.returncode == 2
    assert "--yes (or --force)" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert server.requests == []
    done = nf(env, "delete", "widget", *IN_TEAM, "--widget", widget, "--force", "-o", "json")
    assert ok(done) == ""
    assert "Delete widget: done (204, no content)." in done.stderr
    assert [r.method for r in server.requests] == ["DELETE"]


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect.spawn needs a POSIX pty")
@pytest.mark.parametrize(("reply", "status", "deleted"), [("n", 130, False), ("y", 0, True)])
def test_a_delete_at_a_terminal_asks_first(
    env: dict[str, str], server: EveryShapeServer, reply: str, status: int, deleted: bool
) -> None:
    (widget,) = server.add_widgets(TEAM, 1)
    child = pexpect.spawn(
        sys.executable,
        ["-c", MAIN, "delete", "widget", *IN_TEAM, "--widget", widget],
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.logfile_read = io.StringIO()
    try:
        child.expect_exact(f"Delete widget: DELETE {widget_url(server, widget)}? [y/N]: ")
        child.sendline(reply)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == status, child.logfile_read.getvalue()
    assert [r.method for r in server.requests] == (["DELETE"] if deleted else [])


# --- Forward-compatible answers ------------------------------------------------------------


def test_an_unknown_response_field_is_kept_unless_strict(
    env: dict[str, str], server: EveryShapeServer
) -> None:
    (widget,) = server.add_widgets(TEAM, 1)
    server.extra_response_field = True
    got: Any = json.loads(ok(nf(env, "get", "widget", *IN_TEAM, "--widget", widget)))
    assert got == {"id": widget, "name": widget, "size": 1, "surprise": True}
    listed = json.loads(ok(nf(env, "list", "widgets", *IN_TEAM)))
    assert [item["surprise"] for item in listed] == [True]
    strict = nf(env, "get", "widget", *IN_TEAM, "--widget", widget, "--strict")
    assert strict.returncode == 1, (strict.stdout, strict.stderr)
    assert "does not match the spec" in strict.stderr
    assert "surprise" in strict.stderr
    assert strict.stdout == ""
    assert len(server.requests) == 3
