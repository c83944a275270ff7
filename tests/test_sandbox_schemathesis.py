"""Schemathesis against the live sandbox over HTTP: through its pytest integration and its CLI.

Both runs keep every default check, generate positive and negative data, address the project
``default-project`` and authenticate with the admin token, so that positive cases are judged on
their data rather than refused at the door; tests/sandbox_schemathesis.toml holds those settings,
and narrows the statuses Schemathesis accepts for valid and for invalid data. Our own check adds
what Schemathesis leaves open: valid data is created (200) or is a duplicate of a service the
run created (409); a 200's body satisfies the spec's ``CreateBuildServiceResponse`` under an
independent validator (jsonschema-rs on the spec's own schema, see tests/spec_data.py) and holds
the data sent. The pytest run applies the check to every case; the CLI run records its traffic
in a VCR cassette, and the same rules are applied to that afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, GenerationMode, Response

from tests.live_sandbox import LiveSandbox
from tests.spec_data import SPEC, SPEC_PATH, oracle_for

pytestmark = pytest.mark.slow

CONFIG_PATH = Path(__file__).with_name("sandbox_schemathesis.toml")
ADMIN_TOKEN = "nfsb_test_schemathesis_admin"
"""The admin token of every sandbox started here; the pytest run's schemas need it at import."""
RATE_LIMIT = "1000000/hour"
"""Never reached, but on, so every response carries the x-ratelimit-* headers to check."""
PYTEST_FUZZ_CASES = {GenerationMode.POSITIVE: 450, GenerationMode.NEGATIVE: 300}
"""Fuzzing-phase cases in each pytest run; the examples and coverage phases add their own
(about 150 positive and 450 negative ones)."""
PYTEST_MIN_CASES = 500
"""Cases each pytest run must send, all phases together: 1,000 or more for the two."""
CLI_MIN_CASES = 1000
"""Cases the CLI run must report, with the numbers in tests/sandbox_schemathesis.toml."""
CLI_TIMEOUT = 600  # seconds

_ECMA_SPACE = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
"""ECMA-262 ``\\s``, which the spec's name pattern allows between words."""


def expected_service_id(name: str) -> str:
    """The id derived from a name, as in the spec's example: ``Example Service`` gives
    ``example-service``."""
    return _ECMA_SPACE.sub("-", name).lower()


_SCHEMAS = SPEC["components"]["schemas"]
ADDED_BY_SERVER = frozenset(_SCHEMAS["BuildService"]["properties"]) - frozenset(
    _SCHEMAS["CreateBuildServiceRequest"]["properties"]
)
"""The fields of a created service that are not in the request: its id, status and so on."""


@pytest.fixture
def live_sandbox(tmp_path: Path) -> Iterator[LiveSandbox]:
    """A fresh sandbox with the rate limit on (but out of reach) and the known admin token."""
    folder = tmp_path / "sandbox"
    folder.mkdir()
    extra_args = ("--quiet", "--rate-limit", RATE_LIMIT)
    server = LiveSandbox(folder / "sandbox.db", ADMIN_TOKEN, extra_args, {}).start()
    try:
        yield server
    finally:
        server.stop()


# --- Our own check ----------------------------------------------------------------------------


@dataclass
class Outcomes:
    """What one run's valid data led to: the services it created, and every status it got."""

    created: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    """``(phase, generation mode, status)`` of each case."""

    def count(self, *, phase: str | None = None, mode: str | None = None) -> int:
        return sum(
            n for (p, m, _), n in self.statuses.items() if phase in (None, p) and mode in (None, m)
        )

    def judge_positive(self, request_body: Any, status: int, body: Any) -> None:
        """Valid data sent with the admin token: a new service (200) or a duplicate (409)."""
        assert isinstance(request_body, dict), f"valid data is an object, not {request_body!r}"
        service_id = expected_service_id(request_body["name"])
        assert status in (200, 409), f"valid data sent with the admin token got {status}"
        if status == 409:
            assert body["error"]["details"]["serviceId"] == service_id
            assert service_id in self.created, f"409 for {service_id!r}, which was never created"
            return
        oracle = oracle_for("CreateBuildServiceResponse")
        errors = [f"{e.instance_path}: {e.message}" for e in oracle.iter_errors(body)]
        assert not errors, f"the 200 body breaks CreateBuildServiceResponse: {errors}"
        assert body["data"]["id"] == service_id
        sent = {key: value for key, value in body["data"].items() if key not in ADDED_BY_SERVER}
        assert sent == request_body, "the service as created is not the data sent"
        assert service_id not in self.created, f"{service_id!r} was created twice"
        self.created.add(service_id)

    def positive_data_is_created(
        self, ctx: CheckContext, response: Response, case: Case[Any]
    ) -> bool | None:
        """The check, in the form Schemathesis calls: positive cases only."""
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return None
        self.judge_positive(case.body, response.status_code, response.json())
        return True


# --- The pytest integration --------------------------------------------------------------------


def spec_schema(mode: GenerationMode) -> schemathesis.BaseSchema:
    """The spec file under the shared settings, with our admin token, generating in one mode."""
    data = tomllib.loads(CONFIG_PATH.read_text(encoding="utf-8"))
    data["auth"]["openapi"]["bearerAuth"]["bearer"] = ADMIN_TOKEN
    data["generation"].update({"mode": mode.value, "max-examples": PYTEST_FUZZ_CASES[mode]})
    if mode is GenerationMode.NEGATIVE:
        # Left to itself, this run would spend two cases in three on a missing or malformed
        # Authorization header, answered 401 whatever the body. The CLI run keeps those, and
        # here the ignored_auth check resends each 200 of the positive run without the token
        # and with a made-up one; this run's cases go to the body instead.
        data["generation"]["with-security-parameters"] = False
    config = schemathesis.Config.from_dict(data)
    return schemathesis.openapi.from_path(SPEC_PATH, config=config)


positive_schema = spec_schema(GenerationMode.POSITIVE)
negative_schema = spec_schema(GenerationMode.NEGATIVE)

ONE_SANDBOX_PER_RUN = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
"""The sandbox and the outcomes are function-scoped on purpose: all cases of a run share them."""


@pytest.fixture
def outcomes(request: pytest.FixtureRequest) -> Iterator[Outcomes]:
    """One run's outcomes; once its last case is through, the run must have been full size,
    its fuzzing phase all in one generation mode."""
    outcomes = Outcomes()
    failed_before = request.session.testsfailed
    yield outcomes
    summary = dict(sorted(outcomes.statuses.items()))
    print(f"pytest run, (phase, mode, status) of each case: {summary}")
    if request.session.testsfailed > failed_before:
        return  # a failing case ends the run early; its report says enough
    fuzzing_modes = {mode for (phase, mode, _) in outcomes.statuses if phase == "fuzzing"}
    assert len(fuzzing_modes) == 1, summary
    mode = GenerationMode(fuzzing_modes.pop())
    assert outcomes.count(phase="fuzzing") >= PYTEST_FUZZ_CASES[mode], summary
    assert outcomes.count() >= PYTEST_MIN_CASES, summary


def call_and_validate(case: Case[Any], sandbox: LiveSandbox, outcomes: Outcomes) -> None:
    response = case.call_and_validate(
        base_url=sandbox.url, additional_checks=[outcomes.positive_data_is_created]
    )
    assert case.meta is not None
    phase, mode = case.meta.phase.name.value, case.meta.generation.mode.value
    outcomes.statuses[phase, mode, response.status_code] += 1


@positive_schema.parametrize()
@ONE_SANDBOX_PER_RUN
def test_positive_data(case: Case[Any], live_sandbox: LiveSandbox, outcomes: Outcomes) -> None:
    call_and_validate(case, live_sandbox, outcomes)


@negative_schema.parametrize()
@ONE_SANDBOX_PER_RUN
def test_negative_data(case: Case[Any], live_sandbox: LiveSandbox, outcomes: Outcomes) -> None:
    call_and_validate(case, live_sandbox, outcomes)


# --- The command line -------------------------------------------------------------------------


def test_schemathesis_cli(live_sandbox: LiveSandbox, tmp_path: Path) -> None:
    """``schemathesis run`` on the served spec, as a user runs it; then its cassette, judged."""
    report, cassette = tmp_path / "report.json", tmp_path / "cassette.yaml"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(CONFIG_PATH), "--no-color",
        "run", f"{live_sandbox.url}/openapi.yaml", "--url", live_sandbox.url,
        "--report", "json,vcr", "--report-json-path", str(report),
        "--report-vcr-path", str(cassette),
        # The cassette keeps the token, so that the judging below can tell the cases sent
        # with it from the probes Schemathesis sends without it or with a made-up one.
        "--output-sanitize", "false",
    ]  # fmt: skip
    env = {**os.environ, "NF_SANDBOX_TOKEN": ADMIN_TOKEN}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No issues found" in output, output

    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output
    generated, passed = int(summary[1]), int(summary[2])
    assert generated == passed >= CLI_MIN_CASES, output

    run = json.loads(report.read_text(encoding="utf-8"))
    assert run["exit_code"] == 0
    assert run["test_cases"]["generated"] == generated
    assert run["test_cases"]["with_failures"] == 0
    assert run["failures"] == []
    assert run["errors"] == []
    phases = {name: phase["status"] for name, phase in run["phases"].items()}
    assert phases == {
        "examples": "success", "coverage": "success", "fuzzing": "success", "stateful": "skip",
    }  # fmt: skip

    judge_cassette(yaml.load(cassette.read_text(encoding="utf-8"), Loader=_YAML_LOADER))


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def judge_cassette(cassette: dict[str, Any]) -> None:
    """Our check on the CLI's traffic: the positive cases sent with the admin token, in order."""
    outcomes = Outcomes()
    url = re.compile(r"http://[^/]+/v1/projects/default-project/services/build")
    modes: Counter[str | None] = Counter()
    for interaction in cassette["http_interactions"]:
        request, response = interaction["request"], interaction["response"]
        mode = (interaction.get("generation") or {}).get("mode")
        modes[mode] += 1
        authorization = request["headers"].get("Authorization", [None])[0]
        if mode != "positive" or authorization != f"Bearer {ADMIN_TOKEN}":
            continue
        assert request["method"] == "POST"
        assert url.fullmatch(request["uri"]), request["uri"]
        status = int(response["status"]["code"])
        outcomes.judge_positive(
            json.loads(request["body"]["string"]), status, json.loads(response["body"]["string"])
        )
        outcomes.statuses[interaction["phase"]["name"], mode, status] += 1
    print(f"CLI run, cases sent with the admin token: {dict(sorted(outcomes.statuses.items()))}")
    assert modes["positive"], modes
    assert modes["negative"], modes
    assert outcomes.created, dict(outcomes.statuses)
