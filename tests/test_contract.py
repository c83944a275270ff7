"""The contract run (`python -m contract`) against real servers over HTTP on 127.0.0.1: the
sandbox (it passes), Prism mocking the spec (it fails on the stateful behaviours), a server
drifting from the spec one way at a time (each drift named), a run interrupted mid-way (it
still cleans up), and its HTML report in headless Chromium (no requests).

Every run is a subprocess, as users start it, with a small request budget.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contract.behaviours import judge_traffic
from contract.results import CheckResult, Outcome
from contract.traffic import Exchange
from tests.drifting_server import DriftingServer
from tests.live_sandbox import ROOT, LiveSandbox, start_sandbox

TOKEN_ENV = "NF_CONTRACT_TOKEN"
PROJECT = "default-project"
RUN_SECONDS = 240
SMALL_BUDGET = "60"
PRISM = ROOT / "bench" / "node" / "node_modules" / ".bin" / "prism"
PLAYWRIGHT = ROOT / "tools" / "node" / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = os.environ.get("NF_CHROMIUM", "/usr/bin/chromium")


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    report: Path

    def failing_checks(self) -> set[str]:
        return set(re.findall(r"^FAIL (\S+)", self.output, re.MULTILINE))

    def junit(self) -> ET.Element:
        return ET.parse(self.report / "junit.xml").getroot()


def contract_command(base_url: str, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "contract", "--base-url", base_url, "--token-env", TOKEN_ENV,
        "--project-id", PROJECT, "--rate", "500", *args,
    ]  # fmt: skip


def contract_env(token: str, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, TOKEN_ENV: token, "PYTHONPATH": path, **extra}


def run_contract(base_url: str, token: str, report: Path, *args: str) -> Run:
    done = subprocess.run(
        contract_command(base_url, "--report", str(report), *args),
        cwd=ROOT,
        env=contract_env(token),
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    return Run(done.returncode, done.stdout + done.stderr, report)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    """One sandbox for the module, its rate limit on (for the headers) and out of reach."""
    folder = tmp_path_factory.mktemp("contract")
    server = start_sandbox(folder / "sandbox", "--quiet", "--rate-limit", "1000000/hour")
    try:
        yield server
    finally:
        server.stop()


def services(sandbox: LiveSandbox) -> list[str]:
    listed = httpx.get(
        f"{sandbox.url}/v1/projects/{PROJECT}/services",
        params={"per_page": 100},
        headers=sandbox.headers,
    )
    listed.raise_for_status()
    return [service["id"] for service in listed.json()["data"]["services"]]


def assert_no_secret(run: Run, token: str) -> None:
    assert token not in run.output
    for report in run.report.iterdir():
        assert token not in report.read_text(encoding="utf-8"), report.name


# --- Usage and the dry run (fast) ----------------------------------------------------------


def _answer(number: int, **headers: str) -> Exchange:
    return Exchange(
        number, "stateless", "listServices", "GET", "http://server/v1/projects/p/services",
        {"Authorization": "Bearer [REDACTED]"}, None, 200, headers, "{}", 0.01,
    )  # fmt: skip


def _rates(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
    }


def _rate_check(exchanges: list[Exchange]) -> CheckResult:
    (result,) = [c for c in judge_traffic(exchanges) if c.name == "ratelimit_headers_consistent"]
    return result


def test_ratelimit_headers_may_be_absent_as_the_spec_allows() -> None:
    """No header on any answer: the server applies no rate limit; the check says so."""
    result = _rate_check([_answer(1), _answer(2)])
    assert result.outcome is Outcome.SKIPPED
    assert result.skipped_because is not None
    assert "no rate limit" in result.skipped_because


def test_ratelimit_headers_all_three_or_none_and_consistent() -> None:
    reset = int(time.time()) + 600
    good = [_answer(1, **_rates(10, 9, reset)), _answer(2), _answer(3, **_rates(10, 8, reset))]
    assert _rate_check(good).outcome is Outcome.PASSED
    assert _rate_check(good).runs == 2
    partial = _answer(4, **{"x-ratelimit-limit": "10"})
    (finding,) = _rate_check([*good, partial]).findings
    assert "missing x-ratelimit-remaining, x-ratelimit-reset (the others are there)" in (
        finding.message
    )
    went_up = _answer(5, **_rates(10, 9, reset))
    (finding,) = _rate_check([*good, went_up]).findings
    assert "went from" in finding.message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_usage_errors_name_the_flag() -> None:
    missing = subprocess.run(
        contract_command("http://127.0.0.1:9"),
        env={k: v for k, v in os.environ.items() if k != TOKEN_ENV},
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 2, missing.stderr
    assert f"--token-env {TOKEN_ENV}: the variable {TOKEN_ENV} is not set" in missing.stderr
    assert "Traceback" not in missing.stderr
    for args, flag in (
        (["--prefix", "Bad Prefix"], "--prefix"),
        (["--max-requests", "3"], "--max-requests"),
        (["--rate", "0"], "--rate"),
    ):
        bad = subprocess.run(
            contract_command("http://127.0.0.1:9", *args), env=contract_env("secret"),
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert bad.returncode == 2, (args, bad.stderr)
        assert f"error: {flag} " in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr


def test_dry_run_prints_the_plan_and_sends_nothing() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        token = "nf_secret_dry_run_token"
        done = subprocess.run(
            contract_command(url, "--dry-run", "--prefix", "ct-dry"), env=contract_env(token),
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody called
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing is sent" in done.stdout
    assert "'ct-dry'" in done.stdout
    for name in ("duplicate_create_conflicts", "get_after_delete_is_404", "stateful"):
        assert name in done.stdout
    assert token not in done.stdout + done.stderr


# --- Against the sandbox: the run passes ----------------------------------------------------


def test_sandbox_passes(sandbox: LiveSandbox, tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_contract(sandbox.url, sandbox.admin_token, tmp_path / "report",
                       "--max-requests", "150")  # fmt: skip
    assert run.code == 0, run.output
    cases = re.search(r"passed: (\d+) checks, (\d+) Schemathesis cases, (\d+) requests", run.output)
    assert cases is not None, run.output
    print(
        f"\ncontract run against the sandbox: {cases[1]} checks, {cases[2]} Schemathesis cases,"
        f" {cases[3]} requests in {time.monotonic() - started:.1f} s (process included)"
    )
    suite = run.junit().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0"
    assert run.failing_checks() == set()
    assert_no_secret(run, sandbox.admin_token)
    assert services(sandbox) == []


def test_weak_token_is_forbidden(sandbox: LiveSandbox, tmp_path: Path) -> None:
    """With --weak-token-env, the 403 is checked: a read-only token may not create."""
    minted = subprocess.run(
        [sys.executable, "-m", "sandbox", "token", "create", "--db", str(sandbox.db),
         "--permission", "Project > Services > General > Read", "--project", PROJECT],
        env=contract_env(""), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    weak = minted.stdout.strip().split()[-1]
    done = subprocess.run(
        contract_command(sandbox.url, "--weak-token-env", "NF_WEAK", "--max-requests", "60",
                         "--report", str(tmp_path / "report")),
        cwd=ROOT, env=contract_env(sandbox.admin_token, NF_WEAK=weak),
        capture_output=True, text=True, timeout=RUN_SECONDS, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS forbidden_with_weak_token" in done.stdout
    assert weak not in done.stdout + (tmp_path / "report" / "report.html").read_text()


# --- Against servers that are not the sandbox ------------------------------------------------

DRIFT_CHECKS = {
    "extra-field": {"schemathesis.response_schema_conformance"},
    "created-201": {"schemathesis.status_code_conformance"},
    "no-request-id": {"request_id_matches_error_id", "schemathesis.response_headers_conformance"},
    "accepts-invalid": {"invalid_body_rejected"},
    "repeating-pages": {"pagination_without_repeats"},
}


@pytest.fixture(scope="module")
def drifting(sandbox: LiveSandbox) -> Iterator[DriftingServer]:
    with DriftingServer(sandbox.url) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("drift", sorted(DRIFT_CHECKS))
def test_each_drift_is_named(
    drift: str, drifting: DriftingServer, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    run = run_contract(f"{drifting.url}/{drift}", sandbox.admin_token, tmp_path / "report",
                       "--max-requests", SMALL_BUDGET)  # fmt: skip
    assert run.code == 1, run.output
    assert DRIFT_CHECKS[drift] <= run.failing_checks(), run.output
    if drift == "extra-field":
        assert "Response violates schema at $.data.driftField" in run.output
    failed = {
        case.get("name")
        for case in run.junit().iter("testcase")
        if case.find("failure") is not None
    }
    assert DRIFT_CHECKS[drift] <= failed
    assert_no_secret(run, sandbox.admin_token)
    assert services(sandbox) == []


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = ROOT / ".nox" / "tests" / "bin"
    if not PRISM.exists():
        if os.environ.get("NF_REQUIRE_NODE") == "1":
            pytest.fail("Prism is missing (npm ci --prefix bench/node)")
        pytest.skip("Prism is missing (npm ci --prefix bench/node)")
    port = _free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    path = os.pathsep.join([str(Path(sys.executable).parent), str(node), os.environ["PATH"]])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PRISM), "mock", str(ROOT / "spec" / "openapi.yaml"), "-h", "127.0.0.1",
             "-p", str(port)],
            env={**os.environ, "PATH": path}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # node may run as a child of a launcher: stop them both
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b"Prism is listening" not in log.read_bytes():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@pytest.mark.slow
def test_prism_fails_on_the_stateful_behaviours(prism: str, tmp_path: Path) -> None:
    run = run_contract(prism, "any-token-will-do", tmp_path / "report", "--max-requests", "60")
    assert run.code == 1, run.output
    stateful = {"duplicate_create_conflicts", "get_after_create", "get_after_delete_is_404"}
    assert stateful <= run.failing_checks(), run.output
    assert "a second create of 'example-service': expected 409, got 200" in run.output
    assert "get after deleting 'example-service': expected 404, got 200" in run.output


# --- Interrupted mid-way ---------------------------------------------------------------------


@pytest.mark.slow
def test_interrupted_run_cleans_up(sandbox: LiveSandbox, tmp_path: Path) -> None:
    prefix = "ct-interrupted"
    process = subprocess.Popen(
        contract_command(sandbox.url, "--prefix", prefix, "--max-requests", "2000",
                         "--rate", "8", "--report", str(tmp_path / "report")),
        cwd=ROOT, env=contract_env(sandbox.admin_token),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(s.startswith(prefix) for s in services(sandbox)):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the run made nothing in time"
            time.sleep(0.1)
        time.sleep(1.0)  # a few more creates in flight
        made = [s for s in services(sandbox) if s.startswith(prefix)]
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert made, "nothing was made before the interrupt"
    assert process.returncode == 130, output
    assert "interrupted (SIGINT): cleaning up" in output
    assert "Traceback" not in output
    assert [s for s in services(sandbox) if s.startswith(prefix)] == []
    assert (tmp_path / "report" / "report.html").exists()


# --- The HTML report in headless Chromium -----------------------------------------------------

BROWSE = r"""
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const { chromium } = createRequire(pathToFileURL(process.env.NF_PLAYWRIGHT))("playwright-core");
const browser = await chromium.launch({ executablePath: process.env.NF_CHROMIUM });
const requests = [];
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  page.on("pageerror", (error) => problems.push(String(error)));
  await page.goto(process.env.NF_REPORT_URL);
  await page.screenshot({ path: process.env.NF_SCREENSHOT, fullPage: true });
  const charts = await page.locator("svg rect").count();
  const rows = await page.locator("table.checks tbody tr").count();
  const failures = await page.locator("section.failure").count();
  console.log(JSON.stringify({ requests, problems, charts, rows, failures }));
} finally {
  await browser.close();
}
"""


@pytest.mark.slow
def test_html_report_in_chromium(
    drifting: DriftingServer, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    node = shutil.which("node") or str(ROOT / ".nox" / "tests" / "bin" / "node")
    missing = [what for what, there in (
        ("playwright-core (npm ci --prefix tools/node)", PLAYWRIGHT.exists()),
        (f"Chromium at {CHROMIUM}", os.access(CHROMIUM, os.X_OK)),
        ("node", Path(node).exists()),
    ) if not there]  # fmt: skip
    if missing:
        if os.environ.get("NF_REQUIRE_BROWSER") == "1":
            pytest.fail(f"missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    run = run_contract(f"{drifting.url}/no-request-id", sandbox.admin_token, tmp_path / "report",
                       "--max-requests", SMALL_BUDGET)  # fmt: skip
    assert run.code == 1, run.output
    report = run.report / "report.html"
    script, screenshot = tmp_path / "browse.mjs", tmp_path / "report.png"
    script.write_text(BROWSE, encoding="utf-8")
    done = subprocess.run(
        [node, str(script)],
        env={**os.environ, "NF_PLAYWRIGHT": str(PLAYWRIGHT), "NF_CHROMIUM": CHROMIUM,
             "NF_REPORT_URL": report.as_uri(), "NF_SCREENSHOT": str(screenshot)},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["requests"] == [report.as_uri()], seen["requests"]
    assert seen["problems"] == []
    assert seen["charts"] > 0
    assert seen["rows"] > 10
    assert seen["failures"] > 0
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
