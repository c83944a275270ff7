"""`nf-build create service build` end to end: the console script against a live sandbox.

Every test runs the installed ``nf-build`` script as a subprocess (see
`tests.cli_run`). The sandbox is shared by the module, each test creating
services under names of its own and calling with a token of its own, whose
requests the sandbox counts: that is how "nothing was sent" is proved.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from northflank_build.models import BuildService

from sandbox.build_service import derive_service_id
from tests.cli_run import (
    CREATE,
    IN_PROJECT,
    PROJECT,
    Cli,
    base_env,
    counting_sandbox,
    fresh_token,
    requests_from,
    service_count,
    unique_body,
    write_body,
)
from tests.live_sandbox import LiveSandbox, start_sandbox

ERROR_ID = re.compile(
    r"^  error id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.M
)

INVALID_PATHS = {
    "$.name": "pattern",
    "$.vcsData.projectType": "required",
    "$.bogus": "additionalProperties",
    "$.billing.buildPlan": "type",
}
"""What `invalid_body` breaks: each JSON path with the rule it fails."""


# --- Fixtures and helpers ------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    server = counting_sandbox(tmp_path_factory.mktemp("cli") / "sandbox")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token(live: LiveSandbox) -> str:
    return fresh_token(live)


@pytest.fixture
def cli(live: LiveSandbox, token: str, tmp_path: Path) -> Cli:
    """``nf-build`` with the test's token and the sandbox's URL in the environment."""
    env = base_env(tmp_path)
    env.update(NORTHFLANK_API_TOKEN=token, NORTHFLANK_BASE_URL=live.url)
    return Cli(env, tmp_path)


@pytest.fixture
def bare_cli(tmp_path: Path) -> Cli:
    """``nf-build`` with neither a token nor a base URL in the environment."""
    return Cli(base_env(tmp_path), tmp_path)


def invalid_body() -> dict[str, Any]:
    """A request that breaks the spec at each of `INVALID_PATHS`, all at once."""
    body = unique_body()
    body["name"] = "1 not a name!"
    del body["vcsData"]["projectType"]
    body["bogus"] = True
    body["billing"]["buildPlan"] = 3
    return body


def url_of(server: LiveSandbox) -> str:
    return f"{server.url}/v1/projects/{PROJECT}/services/build"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def failed(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The stderr of a run that exited with ``code``: ``Error: ...``, nothing on stdout."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Error: " in done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def verbose_bodies(stderr: str) -> tuple[Any, Any]:
    """The request and response bodies ``--verbose`` printed: each after a bare ``>`` or ``<``."""
    lines = stderr.splitlines()
    sent = json.loads(lines[lines.index(">") + 1])
    received = json.loads(lines[lines.index("<") + 1])
    return sent, received


def assert_created_from(data: dict[str, Any], body: dict[str, Any]) -> None:
    """``data`` is the service the sandbox created from ``body``."""
    service = BuildService.model_validate(data)
    assert service.id == derive_service_id(body["name"])
    for key, value in body.items():
        assert data[key] == value, key


# --- Creating a service -------------------------------------------------------------


def test_the_spec_example_creates_the_service_and_prints_a_table(
    cli: Cli, live: LiveSandbox, tmp_path: Path
) -> None:
    body = unique_body()
    before = service_count(live)
    out = ok(cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "-o", "table"))
    service_id = derive_service_id(body["name"])
    lines = out.splitlines()
    assert lines[0] == f"Create build service: done. Id: {service_id}"
    rows = {tuple(line.split(None, 1)) for line in lines[1:]}
    assert ("name", body["name"]) in rows
    assert ("id", service_id) in rows
    assert ("vcsData.projectType", "github") in rows
    assert ("buildSettings.dockerfile.dockerFilePath", "/Dockerfile") in rows
    assert ("buildConfiguration.prRestrictions", "feature/*") in rows
    assert ("status.build.status", "QUEUED") in rows
    assert service_count(live) == before + 1


def test_piped_output_is_the_created_service_as_json(cli: Cli, tmp_path: Path) -> None:
    body = unique_body()
    out = ok(cli(*IN_PROJECT, "-f", write_body(tmp_path, body)))
    assert_created_from(json.loads(out), body)


def test_creating_the_same_service_again_is_a_conflict(
    cli: Cli, live: LiveSandbox, tmp_path: Path
) -> None:
    path = write_body(tmp_path, unique_body())
    ok(cli(*IN_PROJECT, "-f", path, "-q"))
    before = service_count(live)
    stderr = failed(cli(*IN_PROJECT, "-f", path), 1)
    assert stderr.startswith(
        "Error: 409 Conflict: There is already a service with the same derived identifier\n"
    )
    assert ERROR_ID.search(stderr), stderr
    assert service_count(live) == before


def test_an_invalid_file_names_every_failing_path_and_sends_nothing(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    before = service_count(live)
    stderr = failed(cli(*IN_PROJECT, "-f", write_body(tmp_path, invalid_body())), 2)
    assert "the request body is invalid (4 failing fields); nothing was sent." in stderr
    for path, rule in INVALID_PATHS.items():
        assert f"  {path} ({rule}): " in stderr, path
    assert "--skip-validation" in stderr
    assert requests_from(live, token) == 0
    assert service_count(live) == before


# --- Where the body comes from --------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["json file", "yaml file", "yml file", "json stdin", "yaml stdin", "json -i", "yaml -i"],
)
def test_the_body_comes_from_a_file_stdin_or_input(cli: Cli, tmp_path: Path, source: str) -> None:
    body = unique_body()
    fmt, where = source.split()
    text = json.dumps(body) if fmt == "json" else yaml.safe_dump(body, sort_keys=False)
    given: tuple[str | Path, ...]
    stdin = None
    if where == "file":
        given = ("-f", write_body(tmp_path, body, f"service.{fmt}"))
    elif where == "stdin":
        given, stdin = ("-f", "-"), text
    else:
        given = ("-i", text)
    out = ok(cli(*IN_PROJECT, *given, "-o", "json", stdin=stdin))
    assert_created_from(json.loads(out), body)


def test_input_is_merged_over_the_file(cli: Cli, tmp_path: Path) -> None:
    """Objects merge key by key; lists and other values replace the file's."""
    body = {**unique_body(), "tags": ["file-tag"]}
    given = {
        "billing": {"buildPlan": "nf-compute-400"},
        "vcsData": {"accountLogin": "someone-else"},
        "buildConfiguration": {"prRestrictions": ["main"]},
        "tags": ["input-tag"],
        "description": "From the input",
    }
    out = ok(cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "-i", json.dumps(given)))
    data = json.loads(out)
    assert data["billing"] == {"deploymentPlan": "nf-compute-20", "buildPlan": "nf-compute-400"}
    assert data["vcsData"] == {**body["vcsData"], "accountLogin": "someone-else"}
    assert data["buildConfiguration"] == {**body["buildConfiguration"], "prRestrictions": ["main"]}
    assert data["tags"] == ["input-tag"]
    assert data["description"] == "From the input"
    assert data["buildSettings"] == body["buildSettings"]


# --- Field flags over the file ----------------------------------------------------------


def test_field_flags_override_the_file(cli: Cli, tmp_path: Path) -> None:
    body = {**unique_body(), "tags": ["file-tag-a", "file-tag-b"]}
    name = f"Flag {secrets.token_hex(6)}"
    done = cli(
        *IN_PROJECT,
        "-f", write_body(tmp_path, body),
        "--name", name,
        "-t", "one-tag", "-t", "two-tag",
        "--build-settings-dockerfile-docker-file-path", "/sub/Dockerfile",
        "--build-settings-storage-ephemeral-storage-storage-size", "32768",
        "--build-settings-dockerfile-use-cache",
        "--no-build-configuration-include-git-folder",
        "-o", "json", "--verbose",
    )  # fmt: skip
    data = json.loads(ok(done))
    sent, _ = verbose_bodies(done.stderr)
    assert sent["name"] == data["name"] == name
    assert sent["tags"] == data["tags"] == ["one-tag", "two-tag"]
    dockerfile = data["buildSettings"]["dockerfile"]
    assert dockerfile == {
        **body["buildSettings"]["dockerfile"],
        "dockerFilePath": "/sub/Dockerfile",
        "useCache": True,
    }
    size = sent["buildSettings"]["storage"]["ephemeralStorage"]["storageSize"]
    assert size == 32768
    assert type(size) is int
    assert data["buildSettings"]["storage"]["ephemeralStorage"]["storageSize"] == 32768
    assert body["buildSettings"]["dockerfile"]["useCache"] is False
    assert sent["buildSettings"]["dockerfile"]["useCache"] is True
    assert sent["buildConfiguration"]["includeGitFolder"] is False
    assert (
        sent["buildConfiguration"]["prRestrictions"] == body["buildConfiguration"]["prRestrictions"]
    )
    assert data["id"] == derive_service_id(name)


def test_a_map_flag_takes_key_value_pairs_and_joins_the_files_map(cli: Cli, tmp_path: Path) -> None:
    """``--build-argument`` entries join the file's map (a list flag, like ``-t``, replaces)."""
    body = unique_body()
    assert body["buildArguments"] == {"ARGUMENT_1": "abcdef", "ARGUMENT_2": "12345"}
    done = cli(
        *IN_PROJECT, "-f", write_body(tmp_path, body),
        "--build-argument", "K=V", "--build-argument", "EQUALS=a=b", "--build-argument", "EMPTY=",
        "-o", "json",
    )  # fmt: skip
    assert json.loads(ok(done))["buildArguments"] == {
        "ARGUMENT_1": "abcdef",
        "ARGUMENT_2": "12345",
        "K": "V",
        "EQUALS": "a=b",
        "EMPTY": "",
    }


def test_a_map_flag_without_a_key_is_a_usage_error(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    done = cli(
        *IN_PROJECT, "-f", write_body(tmp_path, unique_body()), "--build-argument", "novalue"
    )
    assert "--build-argument takes KEY=VALUE, not 'novalue'" in failed(done, 2)
    assert requests_from(live, token) == 0


@pytest.mark.parametrize(
    ("flag", "value", "choices"),
    [
        (
            "--vcs-data-project-type",
            "svn",
            "'bitbucket', 'gitlab', 'github', 'self-hosted', 'azure'",
        ),
        # In the spec's enum, but above the schema's maximum: not offered.
        (
            "--build-settings-storage-ephemeral-storage-storage-size",
            "131072",
            "'16384', '32768', '65536'",
        ),
    ],
)
def test_a_choice_outside_the_offered_ones_is_refused_by_click(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path, flag: str, value: str, choices: str
) -> None:
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, unique_body()), flag, value)
    stderr = failed(done, 2)
    assert stderr.startswith("Usage: nf-build create service build [OPTIONS]\n")
    assert f"Error: Invalid value for '{flag}': '{value}' is not one of {choices}." in stderr
    assert requests_from(live, token) == 0


# --- Dry runs ---------------------------------------------------------------------------


def test_a_dry_run_prints_the_request_and_sends_nothing(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    body = unique_body()
    before = service_count(live)
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "--dry-run", "-o", "table")
    out = ok(done)
    head, _, rest = out.partition("\n\n")
    assert head.splitlines() == [
        f"POST {url_of(live)}",
        "content-type: application/json",
        "authorization: Bearer <redacted>",
    ]
    assert json.loads(rest) == body
    assert done.stderr == "Dry run: the body is valid; nothing was sent.\n"
    assert token not in out + done.stderr
    assert requests_from(live, token) == 0
    assert service_count(live) == before


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_a_dry_run_as_a_document_has_method_url_and_body(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path, output: str
) -> None:
    body = unique_body()
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "--dry-run", "-o", output)
    out = ok(done)
    request = json.loads(out) if output == "json" else yaml.safe_load(out)
    assert request == {
        "method": "POST",
        "url": url_of(live),
        "headers": {"content-type": "application/json", "authorization": "Bearer <redacted>"},
        "body": body,
    }
    assert token not in out + done.stderr
    assert requests_from(live, token) == 0


def test_a_dry_run_that_skips_validation_does_not_call_the_body_valid(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    # The body is invalid at four paths, and --skip-validation checked none of them.
    path = write_body(tmp_path, invalid_body())
    done = cli(*IN_PROJECT, "-f", path, "--dry-run", "--skip-validation", "-o", "table")
    assert ok(done).startswith(f"POST {url_of(live)}\n")
    assert requests_from(live, token) == 0
    assert "nothing was sent" in done.stderr
    assert "the body is valid" not in done.stderr


def test_a_dry_run_without_a_token_shows_no_authorization(bare_cli: Cli, tmp_path: Path) -> None:
    body = unique_body()
    out = ok(bare_cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "--dry-run", "-o", "json"))
    request = json.loads(out)
    assert request["url"] == f"https://api.northflank.com/v1/projects/{PROJECT}/services/build"
    assert request["headers"] == {"content-type": "application/json"}


# --- Output formats ---------------------------------------------------------------------


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_the_result_as_a_document_is_the_responses_data(
    cli: Cli, tmp_path: Path, output: str
) -> None:
    body = unique_body()
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "-o", output, "--verbose")
    out = ok(done)
    data = json.loads(out) if output == "json" else yaml.safe_load(out)
    _, received = verbose_bodies(done.stderr)
    assert data == received["data"]
    assert_created_from(data, body)


def test_quiet_prints_only_the_id(cli: Cli, tmp_path: Path) -> None:
    body = unique_body()
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "-q")
    assert ok(done) == derive_service_id(body["name"]) + "\n"
    assert done.stderr == ""


def test_verbose_prints_the_exchange_to_stderr_without_the_token(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    body = unique_body()
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, body), "-v", "-o", "json")
    out = ok(done)
    assert token not in out + done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"> POST {url_of(live)}"
    assert "> authorization: Bearer <redacted>" in lines
    assert "> content-type: application/json" in lines
    assert "< 200 OK" in lines
    assert any(line.startswith("< x-request-id: ") for line in lines)
    sent, received = verbose_bodies(done.stderr)
    assert sent == body
    assert received["data"] == json.loads(out)


def test_verbose_shows_an_error_response_too(cli: Cli, token: str, tmp_path: Path) -> None:
    done = cli(
        *CREATE, "--project-id", "no-such-project", "-f", write_body(tmp_path, unique_body()), "-v"
    )
    stderr = failed(done, 1)
    assert "< 404 Not Found" in stderr.splitlines()
    assert "Error: 404 Not Found: Project 'no-such-project' does not exist" in stderr
    assert token not in stderr


# --- Errors from the API and the network -------------------------------------------------


def test_without_a_token_nothing_is_sent(bare_cli: Cli, live: LiveSandbox, tmp_path: Path) -> None:
    """Every operation needs a token: the CLI says how to give one instead of sending."""
    before = service_count(live)
    done = bare_cli(*IN_PROJECT, "--base-url", live.url, "-f", write_body(tmp_path, unique_body()))
    stderr = failed(done, 2)
    assert stderr.startswith("Error: no API token: give --token TOKEN, set $NORTHFLANK_API_TOKEN")
    assert "nothing was sent" in stderr
    assert service_count(live) == before


def test_a_stopped_sandbox_is_a_connection_error(cli: Cli, tmp_path: Path) -> None:
    stopped = start_sandbox(tmp_path / "stopped", "--quiet")
    stopped.stop()
    path = write_body(tmp_path, unique_body())
    # A hang would meet the runner's own time-out; tests do not time anything else.
    done = cli(*IN_PROJECT, "-f", path, "--base-url", stopped.url, "--max-retries", "0")
    stderr = failed(done, 3)
    assert stderr.startswith("Error: connection failed: ")
    assert stderr.rstrip().endswith(f"({stopped.url})")


def test_skip_validation_sends_an_invalid_body_and_the_server_names_the_fields(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    before = service_count(live)
    done = cli(*IN_PROJECT, "-f", write_body(tmp_path, invalid_body()), "--skip-validation")
    stderr = failed(done, 1)
    assert stderr.startswith(
        "Error: 400 Bad Request: The request body is invalid (4 failing fields)\n"
    )
    for path, rule in INVALID_PATHS.items():
        assert f"  {path} ({rule}): " in stderr, path
    assert ERROR_ID.search(stderr), stderr
    assert requests_from(live, token) == 1
    assert service_count(live) == before


# --- Contexts ---------------------------------------------------------------------------


def test_a_context_supplies_token_base_url_and_project(
    bare_cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    added = bare_cli(
        "context", "add", "dev", "--token", token, "--base-url", live.url, "--project-id", PROJECT
    )
    ok(added)
    body = unique_body()
    out = ok(bare_cli(*CREATE, "-f", write_body(tmp_path, body), "-q"))
    assert out == derive_service_id(body["name"]) + "\n"
    assert requests_from(live, token) == 1


def test_the_context_option_picks_a_named_context(
    bare_cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    wrong = f"nfsb_cli_{secrets.token_urlsafe(24)}"
    for name, value in (("broken", wrong), ("dev", token)):
        ok(
            bare_cli(
                "context",
                "add",
                name,
                "--token",
                value,
                "--base-url",
                live.url,
                "--project-id",
                PROJECT,
            )
        )
    path = write_body(tmp_path, unique_body())
    stderr = failed(bare_cli(*CREATE, "-f", path), 1)  # the current one: the first added
    assert stderr.startswith("Error: 401 Unauthorized: Unknown or revoked API token\n")
    out = ok(bare_cli(*CREATE, "-f", path, "--context", "dev", "-q"))
    assert out == derive_service_id(json.loads(path.read_text())["name"]) + "\n"
    assert wrong not in stderr


def test_a_named_context_wins_over_the_environment(
    bare_cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    """``--context dev`` means dev's token and URL, whatever ``NORTHFLANK_*`` says."""
    ok(
        bare_cli(
            "context", "add", "dev", "--token", token, "--base-url", live.url,
            "--project-id", PROJECT,
        )
    )  # fmt: skip
    elsewhere = Cli(
        {
            **bare_cli.env,
            "NORTHFLANK_API_TOKEN": f"nfsb_cli_{secrets.token_urlsafe(24)}",
            "NORTHFLANK_BASE_URL": "http://127.0.0.1:9",
        },
        tmp_path,
    )
    body = unique_body()
    out = ok(elsewhere(*CREATE, "-f", write_body(tmp_path, body), "--context", "dev", "-q"))
    assert out == derive_service_id(body["name"]) + "\n"
    assert requests_from(live, token) == 1


def test_an_unknown_context_is_a_usage_error(bare_cli: Cli, tmp_path: Path) -> None:
    ok(bare_cli("context", "add", "dev", "--token", "t" * 20, "--project-id", PROJECT))
    done = bare_cli(*CREATE, "-f", write_body(tmp_path, unique_body()), "--context", "nope")
    assert "no context named 'nope'" in failed(done, 2)
    assert "(known: dev)" in done.stderr


# --- Refused before sending --------------------------------------------------------------


@pytest.mark.parametrize("no_input", [True, False], ids=["--no-input", "stdin-not-a-tty"])
def test_missing_fields_without_a_terminal_are_named(
    cli: Cli, live: LiveSandbox, token: str, no_input: bool
) -> None:
    flags = ("--no-input",) if no_input else ()
    done = cli(*IN_PROJECT, *flags, "-i", '{"name": "Only A Name"}')
    stderr = failed(done, 2)
    assert "the request body is invalid (3 failing fields); nothing was sent." in stderr
    for path in ("$.billing", "$.vcsData", "$.buildSettings"):
        assert f"  {path} (required): " in stderr, path
    assert requests_from(live, token) == 0


def test_a_missing_project_is_a_usage_error(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    done = cli(*CREATE, "--no-input", "-f", write_body(tmp_path, unique_body()))
    assert "missing --project-id" in failed(done, 2)
    assert requests_from(live, token) == 0


def test_a_yaml_duplicate_key_is_named(
    cli: Cli, live: LiveSandbox, token: str, tmp_path: Path
) -> None:
    text = yaml.safe_dump(unique_body(), sort_keys=False) + "name: Second Name\n"
    path = tmp_path / "service.yaml"
    path.write_text(text, encoding="utf-8")
    stderr = failed(cli(*IN_PROJECT, "-f", path), 2)
    assert 'service.yaml: duplicate key "name" at $.name' in stderr
    assert requests_from(live, token) == 0


def test_a_missing_file_is_named(cli: Cli, live: LiveSandbox, token: str) -> None:
    stderr = failed(cli(*IN_PROJECT, "-f", "no-such-file.json"), 2)
    assert stderr == "Error: no-such-file.json: no such file\n"
    assert requests_from(live, token) == 0
