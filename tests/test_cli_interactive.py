"""`nf-build create service build` at a terminal: its prompts, driven in a pseudo-terminal.

pexpect runs the console script in a pty against a live sandbox and answers
each question as a person would, wrong answers included. Prompts go to
stderr and the result to stdout; in a pty both arrive on the one terminal.
"""

from __future__ import annotations

import io
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from sandbox.build_service import derive_service_id
from tests.cli_run import (
    CREATE,
    IN_PROJECT,
    NF_BUILD,
    PROJECT,
    base_env,
    counting_sandbox,
    fresh_token,
    requests_from,
    service_count,
    unique_body,
)
from tests.live_sandbox import LiveSandbox

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pexpect.spawn needs a POSIX pty")

TIMEOUT = 20  # seconds for any one expected prompt
NAME_PATTERN_MESSAGE = (
    "  x String should match the ECMA-262 pattern "
    "`^[a-zA-Z]((-|\\s)?[a-zA-Z0-9]+((-|\\s)[a-zA-Z0-9]+)*)?$` (pattern)"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    server = counting_sandbox(tmp_path_factory.mktemp("interactive") / "sandbox")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token(live: LiveSandbox) -> str:
    return fresh_token(live)


Spawn = Callable[..., pexpect.spawn]
"""Call as ``spawn(*args)``: ``nf-build ARGS`` in a pty; ``transcript(child)`` is all it printed."""


@pytest.fixture
def spawn(live: LiveSandbox, token: str, tmp_path: Path) -> Iterator[Spawn]:
    children: list[pexpect.spawn] = []

    def start(*args: str) -> pexpect.spawn:
        env = base_env(tmp_path)
        env.update(NORTHFLANK_API_TOKEN=token, NORTHFLANK_BASE_URL=live.url)
        child = pexpect.spawn(
            str(NF_BUILD),
            list(args),
            env=env,
            cwd=str(tmp_path),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 80),
        )
        child.logfile_read = io.StringIO()
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    """Wait for ``prompt`` (the whole question, up to its ``: ``) and type ``text``."""
    child.expect_exact(prompt)
    child.sendline(text)


def transcript(child: pexpect.spawn) -> str:
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


def exit_status(child: pexpect.spawn) -> int | None:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def answer_everything(child: pexpect.spawn, name: str, *, project: bool = True) -> None:
    """Answer each question of a Dockerfile build, one wrong name first."""
    if project:
        child.expect_exact("projectId  ID of the project")
        answer(child, "  projectId: ", PROJECT)
    child.expect_exact("name  The name of the service. Required. 3 to 54 characters.")
    answer(child, "  name: ", "1 not a name")
    child.expect_exact(NAME_PATTERN_MESSAGE)
    child.expect_exact("    Example: Example Service")
    answer(child, "  name: ", name)
    answer(child, "  billing.buildPlan [Enter to skip]: ", "nf-compute-200-8")
    answer(child, "  vcsData.projectUrl: ", "https://github.com/northflank/gatsby-with-northflank")
    answer(
        child,
        "  vcsData.projectType [bitbucket/gitlab/github/self-hosted/azure]: ",
        "github",
    )
    child.expect_exact("  1) Dockerfile build")
    child.expect_exact("  2) Buildpack build")
    answer(child, "  Choose: ", "1")
    answer(child, "  buildSettings.dockerfile.dockerFilePath: ", "/Dockerfile")
    answer(child, "  buildSettings.dockerfile.dockerWorkDir: ", "/")


def expected_body(name: str) -> dict[str, object]:
    return {
        "name": name,
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {
            "projectUrl": "https://github.com/northflank/gatsby-with-northflank",
            "projectType": "github",
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }


def shown_body(child: pexpect.spawn, live: LiveSandbox) -> object:
    """The body printed before the confirmation, up to the question itself."""
    child.expect_exact("Request body:")
    url = f"{live.url}/v1/projects/{PROJECT}/services/build"
    child.expect_exact(f"Send POST {url}? [Y/n]: ")
    return json.loads(child.before)


def test_answering_every_prompt_creates_the_service(spawn: Spawn, live: LiveSandbox) -> None:
    name = f"Asked {secrets.token_hex(6)}"
    service_id = derive_service_id(name)
    before = service_count(live)
    child = spawn(*CREATE)  # no body and no project: everything is asked for
    answer_everything(child, name)
    assert shown_body(child, live) == expected_body(name)
    child.sendline("y")
    child.expect_exact(f"Create build service: done. Id: {service_id}")
    assert exit_status(child) == 0
    assert service_count(live) == before + 1
    again = httpx.post(
        f"{live.url}/v1/projects/{PROJECT}/services/build",
        json={**unique_body(), "name": name},
        headers=live.headers,
        timeout=10,
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["details"] == {"serviceId": service_id}


def test_declining_the_confirmation_sends_nothing(
    spawn: Spawn, live: LiveSandbox, token: str
) -> None:
    before = service_count(live)
    child = spawn(*IN_PROJECT)
    answer_everything(child, "Declined Service", project=False)
    assert shown_body(child, live) == expected_body("Declined Service")
    child.sendline("n")
    child.expect_exact("Nothing was sent.")
    assert exit_status(child) == 130
    assert requests_from(live, token) == 0
    assert service_count(live) == before


def test_interrupting_a_prompt_sends_nothing(spawn: Spawn, live: LiveSandbox, token: str) -> None:
    child = spawn(*IN_PROJECT)
    child.expect_exact("  name: ")
    child.sendintr()
    child.expect_exact("Aborted.")
    assert exit_status(child) == 130
    assert requests_from(live, token) == 0


def test_a_wrong_choice_is_asked_again(spawn: Spawn, live: LiveSandbox, token: str) -> None:
    """A value outside the enum, then a buildSettings branch out of range, each asked again."""
    given = {"name": "Wrong Choices", "billing": {}, "vcsData": {"projectUrl": "github.com/ab/cd"}}
    child = spawn(*IN_PROJECT, "-i", json.dumps(given), "--dry-run", "-o", "json")
    answer(child, "  vcsData.projectType [bitbucket/gitlab/github/self-hosted/azure]: ", "svn")
    child.expect_exact("  x choose one of: bitbucket, gitlab, github, self-hosted, azure")
    answer(child, "  vcsData.projectType [bitbucket/gitlab/github/self-hosted/azure]: ", "gitlab")
    answer(child, "  Choose: ", "3")
    child.expect_exact("3 is not in the range 1<=x<=2")
    answer(child, "  Choose: ", "2")
    child.expect_exact("  buildSettings.buildpack.builder [HEROKU_24/")
    child.sendline("")
    answer(child, "  buildSettings.buildpack.buildContext [Enter to skip]: ", "")
    answer(child, "  buildSettings.buildpack.useCache [y/n, Enter to skip]: ", "y")
    child.expect_exact('"method": "POST"')
    assert exit_status(child) == 0
    assert requests_from(live, token) == 0


def test_no_input_at_a_terminal_asks_nothing(spawn: Spawn, live: LiveSandbox, token: str) -> None:
    child = spawn(*IN_PROJECT, "--no-input", "-i", '{"name": "Never Asked"}')
    child.expect_exact("the request body is invalid (3 failing fields); nothing was sent.")
    assert exit_status(child) == 2
    assert "[Enter to skip]" not in transcript(child)
    assert "projectUrl:" not in transcript(child)
    assert requests_from(live, token) == 0


def test_no_input_at_a_terminal_does_not_ask_for_the_project(
    spawn: Spawn, live: LiveSandbox, token: str
) -> None:
    child = spawn(*CREATE, "--no-input", "-i", json.dumps(unique_body()))
    child.expect_exact("Error: missing --project-id")
    assert exit_status(child) == 2
    assert requests_from(live, token) == 0
