"""One contract run: the plan, the phases under one request budget, the clean-up, the verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contract.behaviours import BEHAVIOURS, TRAFFIC_CHECKS, Context, judge_traffic
from contract.cleanup import Interrupted, Sweeper, signals_interrupt
from contract.cli import Options
from contract.client import ApiClient
from contract.fuzzing import CHECK_NAMES, STATEFUL_MAX_STEPS, Fuzzer, schemathesis_config
from contract.redact import Redactor
from contract.report import write_reports
from contract.results import CheckResult, Outcome, RunResult
from contract.spec import SpecRoutes, load_spec
from contract.traffic import BoundedSession, BudgetExhaustedError, RequestBudget, TokenBucket

__all__ = ["dry_run_plan", "execute"]

BEHAVIOUR_SHARE = 0.35
"""Of the budget, what the behaviour checks may use at most (they need about forty)."""
STATELESS_SHARE = 0.5
"""Of what is left after them, the stateless cases' part; the stateful scenarios get the rest."""
OPERATION_COUNT = 6
REQUESTS_PER_CASE = 2
"""A case, and now and then a probe of Schemathesis' own (ignored_auth)."""


def _split(max_requests: int) -> tuple[int, int]:
    """The behaviour checks' allowance, then the stateless cases per operation and mode."""
    behaviours = int(max_requests * BEHAVIOUR_SHARE)
    stateless = int((max_requests - behaviours) * STATELESS_SHARE)
    per_operation = max(1, stateless // (OPERATION_COUNT * 2 * REQUESTS_PER_CASE))
    return max(behaviours, 60), per_operation


def dry_run_plan(options: Options) -> str:
    behaviours, per_operation = _split(options.max_requests)
    lines = [
        f"Contract run against {options.base_url} (dry run: nothing is sent)",
        f"  spec:      {options.spec}",
        f"  project:   {options.project_id}",
        f"  token:     from ${options.token_env}"
        + (f"; weak token from ${options.weak_token_env}" if options.weak_token_env else ""),
        f"  services:  every name starts with {options.prefix!r}; all deleted at the end",
        f"  requests:  at most {options.max_requests}, at most {options.rate:g}/s"
        " (slower when x-ratelimit-remaining runs low), clean-up aside",
        "  1. sweep: delete services left by an earlier run with this prefix",
        f"  2. behaviour checks (at most {behaviours} requests):",
        *(f"       {b.name}: {b.description}" for b in BEHAVIOURS),
        f"  3. Schemathesis, stateless: {per_operation} positive and {per_operation}"
        " negative cases per operation",
        f"  4. Schemathesis, stateful: scenarios of up to {STATEFUL_MAX_STEPS} steps along"
        " the spec's links, until the budget is spent",
        f"       checks: {', '.join(CHECK_NAMES)}",
        "  5. over all traffic: " + ", ".join(name for name, _, _ in TRAFFIC_CHECKS),
        "  6. clean-up: delete what the run made, then sweep the list for the prefix",
    ]
    if options.report is not None:
        lines.append(
            f"  reports:   {options.report / 'junit.xml'}, {options.report / 'report.html'}"
        )
    return "\n".join(lines)


def _say(redactor: Redactor) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(redactor.text(line), flush=True)

    return say


def execute(options: Options, environ: dict[str, str]) -> int:
    token = environ[options.token_env]
    weak = environ[options.weak_token_env] if options.weak_token_env else None
    redactor = Redactor.of([token, weak])
    say = _say(redactor)
    spec = load_spec(options.spec)
    routes = SpecRoutes.of(spec, options.base_url)
    session = BoundedSession(
        budget=RequestBudget(options.max_requests),
        bucket=TokenBucket(rate=options.rate, burst=max(1.0, options.rate)),
        operation_of=routes.operation_of,
    )
    client = ApiClient(session, options.base_url, options.project_id, token, _create_example(spec))
    sweeper = Sweeper(client, options.prefix)
    result = RunResult(options.base_url, options.project_id, options.prefix)
    started = time.monotonic()
    say(f"Contract run against {options.base_url}, services prefixed {options.prefix!r}")
    with signals_interrupt():
        try:
            _phases(options, spec, client, sweeper, weak, result, say)
        except Interrupted as signal_name:
            result.interrupted = True
            say(f"interrupted ({signal_name}): cleaning up")
        finally:
            sweeper.clean_up()
            result.left_behind = sweeper.left_behind
    result.exchanges = list(session.exchanges)
    result.checks.extend(judge_traffic(result.exchanges))
    result.seconds = time.monotonic() - started
    _summary(result, session.budget.used, say)
    if options.report is not None:
        written = write_reports(result, options.report, redactor)
        say("reports: " + ", ".join(str(path) for path in written))
    if result.interrupted:
        return 130
    return 0 if result.passed else 1


def _create_example(spec: dict[str, Any]) -> dict[str, Any]:
    """The first example of the create body in the spec: valid by the spec's own word."""
    for item in spec["paths"].values():
        operation = item.get("post")
        if isinstance(operation, dict) and operation.get("operationId") == "createBuildService":
            media = operation["requestBody"]["content"]["application/json"]
            example: dict[str, Any] = next(iter(media["examples"].values()))["value"]
            return example
    raise ValueError("the spec has no createBuildService with a request example")


def _phases(
    options: Options,
    spec: dict[str, Any],
    client: ApiClient,
    sweeper: Sweeper,
    weak: str | None,
    result: RunResult,
    say: Callable[[str], None],
) -> None:
    import schemathesis

    session = client.session
    behaviours_allowed, per_operation = _split(options.max_requests)
    try:
        session.source = "sweep"
        sweeper.sweep()
        context = Context(client, options.prefix, weak)
        with session.budget.phase(behaviours_allowed):
            for behaviour in BEHAVIOURS:
                check = CheckResult(behaviour.name, behaviour.description)
                result.checks.append(check)
                session.source = behaviour.name
                behaviour.run(context, check)
                say(f"  {check.outcome.value:7} {behaviour.name}")
        sweeper.delete_made()
        config = schemathesis.Config.from_dict(
            schemathesis_config(
                token_env=options.token_env,
                project_id=options.project_id,
                max_examples=per_operation,
            )
        )
        schema = schemathesis.openapi.from_dict(spec, config=config)
        fuzzer = Fuzzer(schema, session, options.base_url, options.project_id, options.prefix,
                        sweeper.delete_made)  # fmt: skip
        say(f"  Schemathesis, stateless: {per_operation} cases per operation and mode")
        fuzzer.stateless(per_operation)
        say("  Schemathesis, stateful, until the budget is spent")
        fuzzer.stateful(scenarios=max(1, session.budget.left // STATEFUL_MAX_STEPS))
        result.cases = fuzzer.run.cases
        result.checks.extend(fuzzer.run.results())
    except BudgetExhaustedError as spent:
        result.stopped_early = f"the request budget ran out: {spent}"
    except OSError as error:
        result.stopped_early = f"cannot reach {options.base_url}: {error}"
        say(result.stopped_early)


def _summary(result: RunResult, requests_sent: int, say: Callable[[str], None]) -> None:
    say("")
    for check in result.checks:
        mark = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "SKIP"}
        say(f"{mark[check.outcome]} {check.name}")
        for finding in check.findings[:3]:
            first = finding.message.splitlines()[0] if finding.message else ""
            say(f"       {first}")
        if len(check.findings) > 3:
            say(f"       ... and {len(check.findings) - 3} more (see the report)")
    for note in result.left_behind:
        say(f"LEFT BEHIND {note}")
    if result.stopped_early:
        say(f"STOPPED EARLY {result.stopped_early}")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failed)} checks)"
    say(
        f"\n{verdict}: {len(result.checks)} checks, {result.cases} Schemathesis cases,"
        f" {requests_sent} requests in {result.seconds:.1f} s"
    )
