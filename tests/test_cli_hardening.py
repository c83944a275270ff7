"""``nf-build`` against bad input and a hostile server: a clear error, never a traceback.

Each test runs the real console script in a subprocess, against the hostile
server (`tests.hostile_server`) over real HTTP on 127.0.0.1. Every run goes
through `refused` or `succeeded`, which check that no traceback was printed and
count the bad inputs tried (`BAD_INPUTS`).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_run import NF_BUILD, Cli, base_env, unique_body, write_body
from tests.hostile_server import ESCAPES, HostileServer

GET = ("get", "service", "--project-id", "p", "--service-id", "s", "--max-retries", "0")
LIST = ("list", "services", "--project-id", "p", "--max-retries", "0")
CREATE = ("create", "service", "build", "--project-id", "p")
TOKEN = "nfsb_hardening_" + secrets.token_urlsafe(16)
UNSAFE = ("\x1b", "\x07", "\x08", "\r", "\x9b", "\x85")
"""What must never reach a terminal raw from the `escapes` routes."""
BAD_INPUTS: list[str] = []
"""Every bad input tried, for the report; each was refused without a traceback."""


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(base_env(tmp_path), tmp_path)


def refused(done: subprocess.CompletedProcess[str], code: int, what: str) -> str:
    """``done`` failed with ``code`` and one clear message; its stderr."""
    BAD_INPUTS.append(what)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Error: " in done.stderr, done.stderr
    return done.stderr


def succeeded(done: subprocess.CompletedProcess[str], what: str) -> str:
    BAD_INPUTS.append(what)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == 0, done.stderr
    return done.stdout


def with_description(tmp_path: Path, text: str, name: str) -> Path:
    """A valid body whose description is ``text``, escaped as JSON (YAML reads JSON too)."""
    body = {**unique_body(), "description": "PLACEHOLDER"}
    path = tmp_path / name
    path.write_text(json.dumps(body).replace('"PLACEHOLDER"', text), encoding="utf-8")
    return path


# --- Lone surrogates ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["body.json", "body.yaml"])
@pytest.mark.parametrize("extra", [(), ("--dry-run",), ("--skip-validation", "--dry-run")])
def test_a_lone_surrogate_in_a_body_file_is_refused_by_json_path(
    cli: Cli, server: HostileServer, tmp_path: Path, name: str, extra: tuple[str, ...]
) -> None:
    path = with_description(tmp_path, '"a\\ud800b"', name)
    before = len(server.requests)
    done = cli(*CREATE, "-f", path, "--token", TOKEN, "--base-url", server.url, *extra)
    stderr = refused(done, 2, f"surrogate in {name} {extra}")
    assert "lone surrogate \\ud800" in stderr
    assert "at $.description (line 1, column " in stderr
    assert len(server.requests) == before


def test_a_lone_surrogate_in_a_key_or_in_input_is_refused(cli: Cli, tmp_path: Path) -> None:
    body = json.dumps(unique_body()).replace("ARGUMENT_1", "A\\udc00")
    stderr = refused(cli(*CREATE, "--input", body, "--dry-run"), 2, "surrogate in a key")
    assert "--input: a lone surrogate \\udc00 in a key" in stderr
    assert "at $.buildArguments (line 1" in stderr


@pytest.mark.parametrize("flag", ["--description", "--project-id", "--name"])
def test_a_flag_that_is_not_utf8_is_refused_by_its_name(cli: Cli, flag: str) -> None:
    """Bytes that are not UTF-8 on the command line reach Python as lone surrogates."""
    value = os.fsdecode(b"bad\xff")
    args = [*CREATE, "--dry-run", "--input", json.dumps(unique_body())]
    args = [value if a == "p" and flag == "--project-id" else a for a in args]
    if flag != "--project-id":
        args += [flag, value]
    stderr = refused(cli(*args), 2, f"non-UTF-8 {flag}")
    assert f"Error: {flag} 'bad\\udcff' has a lone surrogate or bytes that are not UTF-8" in stderr


# --- Tokens and base URLs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [TOKEN + "\r", TOKEN + "é", "a b" + TOKEN, TOKEN + "\x1b[2J"],
    # Fixed ids: the token is random, and pytest-xdist needs every worker to collect alike.
    ids=["trailing-cr", "non-ascii", "space", "escape"],
)
def test_a_token_a_header_cannot_carry_is_refused_and_never_shown(
    cli: Cli, server: HostileServer, token: str
) -> None:
    before = len(server.requests)
    by_flag = cli(*GET, "--token", token, "--base-url", server.url)
    stderr = refused(by_flag, 2, f"--token {token!r}")
    assert stderr.startswith("Error: --token: the token has a character an HTTP header")
    env = {**cli.env, "NORTHFLANK_API_TOKEN": token}
    by_env = Cli(env, cli.cwd)(*GET, "--base-url", server.url)
    stderr += refused(by_env, 2, f"$NORTHFLANK_API_TOKEN {token!r}")
    assert "Error: $NORTHFLANK_API_TOKEN: the token has a character" in stderr
    assert TOKEN not in stderr
    assert len(server.requests) == before


def test_a_context_with_a_bad_token_is_refused_by_its_path(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    contexts = {"dev": {"token": TOKEN + "\r"}}
    config.write_text(json.dumps({"version": 1, "current": "dev", "contexts": contexts}))
    config.chmod(0o600)
    stderr = refused(cli(*GET), 2, "a context's token with CR")
    assert "$.contexts.dev.token: the token has a character an HTTP header" in stderr
    assert TOKEN not in stderr
    config.unlink()
    added = cli("context", "add", "prod", "--token", TOKEN + "\t")
    assert "--token: the token has a character" in refused(added, 2, "context add --token TAB")


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://127.0.0.1:99999", "http://h:port", "http://", "http://a b"]
)
def test_a_base_url_that_is_not_a_url_is_refused_by_its_flag(cli: Cli, url: str) -> None:
    stderr = refused(cli(*GET, "--token", TOKEN, "--base-url", url), 2, f"--base-url {url}")
    assert stderr.startswith(f"Error: --base-url: base URL {url!r}")
    by_env = Cli({**cli.env, "NORTHFLANK_BASE_URL": url}, cli.cwd)(*GET, "--token", TOKEN)
    assert "$NORTHFLANK_BASE_URL: base URL" in refused(by_env, 2, f"$NORTHFLANK_BASE_URL {url}")


# --- The contexts file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "the document is nested too deeply"),
        ('{"version": 1' + "0" * 5000 + "}", "the integer has too many digits at $.version"),
        ('{"version": 1, "version": 1}', 'duplicate key "version" at $.version'),
        (
            '{"version": 1, "contexts": {"a": {"token": "x"}, "a": {}}}',
            'duplicate key "a" at $.contexts.a',
        ),
        ('{"version": 1, "current": "\\ud800"}', "lone surrogate \\ud800"),
    ],
    ids=["deep", "digits", "duplicate-top", "duplicate-context", "surrogate"],
)
def test_a_hostile_contexts_file_is_refused_naming_it(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    config.chmod(0o600)
    stderr = refused(cli(*GET, "--token", TOKEN), 2, f"contexts file: {message}")
    assert stderr.startswith(f"Error: {config} is not valid JSON: ")
    assert message in stderr


# --- Body files -----------------------------------------------------------------------------


def test_a_body_file_larger_than_the_limit_is_refused_in_bounded_memory(
    cli: Cli, tmp_path: Path
) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as file:
        file.truncate(17 * 1024 * 1024)  # sparse: no disk used
    for path in ("/dev/zero", big):
        stderr = refused(cli(*CREATE, "-f", path, "--dry-run"), 2, f"-f {path}")
        assert stderr == f"Error: {path}: larger than 16 MiB, more than a request body can be\n"
    stdin = cli(*CREATE, "-f", "-", "--dry-run", stdin=" " * (17 * 1024 * 1024))
    assert "<stdin>: larger than 16 MiB" in refused(stdin, 2, "-f - of 17 MiB")
    most_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert most_mib < 400, f"a child used {most_mib:.0f} MiB"


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes and modes are POSIX")
def test_a_body_file_that_is_not_a_readable_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    stderr = refused(cli(*CREATE, "-f", fifo, "--dry-run", timeout=30), 2, "-f FIFO")
    assert stderr == f"Error: {fifo}: is a pipe, not a file: pipe a body to standard input " + (
        "with -f - instead\n"
    )
    folder = refused(cli(*CREATE, "-f", tmp_path, "--dry-run"), 2, "-f directory")
    assert "is a directory" in folder
    missing = refused(cli(*CREATE, "-f", tmp_path / "none.json", "--dry-run"), 2, "-f missing")
    assert missing.endswith("none.json: no such file\n")
    if os.geteuid() != 0:  # root reads any file
        locked = write_body(tmp_path, unique_body(), "locked.json")
        locked.chmod(0)
        denied = refused(cli(*CREATE, "-f", locked, "--dry-run"), 2, "-f unreadable")
        assert "ermission denied" in denied
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)


# --- No token -------------------------------------------------------------------------------


def test_without_a_token_nothing_is_sent_but_dry_run_shows_the_request(
    cli: Cli, server: HostileServer, tmp_path: Path
) -> None:
    before = len(server.requests)
    body = write_body(tmp_path, unique_body())
    stderr = refused(cli(*CREATE, "-f", body, "--base-url", server.url), 2, "no token")
    assert stderr == (
        "Error: no API token: give --token TOKEN, set $NORTHFLANK_API_TOKEN, or save one in a "
        "context (nf-build context add NAME --token -); nothing was sent. --dry-run shows the "
        "request without one.\n"
    )
    empty = Cli({**cli.env, "NORTHFLANK_API_TOKEN": ""}, cli.cwd)(*GET, "--base-url", server.url)
    refused(empty, 2, "an empty $NORTHFLANK_API_TOKEN")
    assert len(server.requests) == before
    shown = cli(*CREATE, "-f", body, "--base-url", server.url, "--dry-run", "-o", "json")
    request = json.loads(succeeded(shown, "no token, --dry-run"))
    assert "authorization" not in request["headers"]
    assert len(server.requests) == before


# --- A hostile server -----------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["trickle", "trickle-headers"])
def test_a_trickling_server_cannot_outlast_the_timeout(
    cli: Cli, server: HostileServer, behaviour: str
) -> None:
    """``--timeout`` is each attempt's whole deadline: one byte a second does not reset it.
    (How long it takes is measured in the benchmarks; here a hang fails the run.)"""
    url = server.url_for(behaviour)
    done = cli(*GET, "--token", TOKEN, "--base-url", url, "--timeout", "2", timeout=30)
    stderr = refused(done, 3, f"{behaviour} server")
    assert stderr.startswith("Error: no complete answer within 2 s, the deadline of each attempt")
    assert "--timeout SECONDS" in stderr


@pytest.mark.parametrize(
    ("behaviour", "parameters", "message"),
    [
        ("huge", {}, "the API's answer is larger than"),
        ("endless", {}, "the API's answer is larger than"),
        ("deep", {"status": 200}, "does not match the spec"),
        ("deep", {"status": 200, "shape": "object"}, "does not match the spec"),
        ("deep", {"status": 400}, "400 Bad Request"),
        ("deep", {"status": 500, "shape": "list"}, "500 Internal Server Error"),
        ("bad-utf8", {}, "does not match the spec"),
        ("bad-utf8", {"status": 400}, "400 Bad Request"),
    ],
)
def test_a_huge_endless_or_deep_answer_is_a_clear_error(
    cli: Cli, server: HostileServer, behaviour: str, parameters: dict[str, object], message: str
) -> None:
    url = server.url_for(behaviour, **parameters)
    done = cli(*GET, "--token", TOKEN, "--base-url", url, timeout=60)
    assert message in refused(done, 1, f"{behaviour} {parameters}")


def test_escapes_in_an_api_error_are_shown_not_obeyed(cli: Cli, server: HostileServer) -> None:
    url = server.url_for("escapes")
    stderr = refused(cli(*GET, "--token", TOKEN, "--base-url", url), 1, "escapes in an error")
    assert not any(character in stderr for character in UNSAFE), repr(stderr)
    shown = "\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x08\\x9b\\x85"
    assert stderr.splitlines() == [
        f"Error: 400 Bad Request: bad{shown}request",
        f"  $.name{shown} (pattern{shown}): {shown}",
        f"  error id: req{shown}",
    ]


@pytest.mark.parametrize("output", ["table", "json", "yaml", "quiet"])
def test_escapes_in_results_are_shown_not_obeyed(
    cli: Cli, server: HostileServer, output: str
) -> None:
    url = server.url_for("escapes-list")
    how = ("-q",) if output == "quiet" else ("-o", output)
    stdout = succeeded(cli(*LIST, "--token", TOKEN, "--base-url", url, *how), f"escapes {output}")
    assert not any(character in stdout for character in UNSAFE), repr(stdout)
    if output == "json":
        (item,) = json.loads(stdout)
        assert item["description"] == f"about{ESCAPES}it"  # the same value, escaped as JSON
        assert item[f"extra{ESCAPES}"] == f"value{ESCAPES}"
    if output == "table":
        assert "about\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x08\\x9b\\x85it" in stdout


def test_json_output_escapes_c1_and_bidi_controls(cli: Cli, tmp_path: Path) -> None:
    body = {**unique_body(), "description": "a\x9b\u202eb\x7f"}
    done = cli(*CREATE, "--input", json.dumps(body), "--dry-run", "--skip-validation", "-o", "json")
    stdout = succeeded(done, "C1 and bidi in a dry run")
    assert "\\u009b\\u202eb\\u007f" in stdout
    assert json.loads(stdout)["body"]["description"] == body["description"]


# --- Long lists of failing fields -----------------------------------------------------------


def test_a_long_list_of_failing_fields_is_cut(
    cli: Cli, server: HostileServer, tmp_path: Path
) -> None:
    url = server.url_for("many-fields", count=1000)
    stderr = refused(cli(*GET, "--token", TOKEN, "--base-url", url), 1, "1000 failing fields")
    lines = stderr.splitlines()
    assert lines[1] == "  $.buildArguments.K0 (pattern): bad key"
    assert lines[50] == "  $.buildArguments.K49 (pattern): bad key"
    assert lines[51:] == ["  … and 950 more"]
    body = unique_body()
    body["buildConfiguration"]["dockerCredentials"] = list(range(300))
    local = refused(cli(*CREATE, "--input", json.dumps(body), "--dry-run"), 2, "300 bad keys")
    assert "(300 failing fields)" in local.splitlines()[0]
    assert "  … and 250 more" in local.splitlines()


# --- Bugs -----------------------------------------------------------------------------------

_BROKEN = """
import sys
import northflank_build._cli_base as base

def broken(command, values):
    raise KeyError("a bug \\x1b[2J")

base.run_operation = broken
sys.argv[0] = "nf-build"
from northflank_build._cli import main
main()
"""


@pytest.mark.parametrize("debug", [None, "1"])
def test_an_internal_error_is_one_line_and_exit_70(
    cli: Cli, tmp_path: Path, debug: str | None
) -> None:
    env = {**cli.env, **({"NF_BUILD_DEBUG": debug} if debug else {})}
    python = NF_BUILD.with_name(Path(sys.executable).name)
    done = subprocess.run(
        [str(python), "-c", _BROKEN, *GET],
        capture_output=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == (1 if debug else 70), done.stderr
    if debug:
        assert "Traceback" in done.stderr
        return
    assert done.stderr == (
        "nf-build: internal error: KeyError: 'a bug \\x1b[2J' (this is a bug; please report it)\n"
    )


def test_bad_inputs_were_counted() -> None:
    """Runs last in this module: the count of bad inputs above, all without a traceback."""
    print(f"\n{len(BAD_INPUTS)} bad inputs tried, 0 tracebacks")
    assert len(BAD_INPUTS) >= 50
