"""Schemathesis over every operation: stateless (positive and negative data) and stateful
(along the spec's links), every check on, through the run's bounded session.

Each failure is kept, with its check's name, the exchange that shows it and a curl line; the
run goes on to the next case instead of stopping at the first failure. Every name a case sends
to create or put gets the run's prefix, so that the clean-up knows what is ours; Schemathesis
then judges the case as sent (it revalidates a case changed before the call).
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Flaky, FlakyStrategyDefinition, Unsatisfiable
from schemathesis import Case, GenerationMode, Response
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok

from contract.results import CheckResult, Finding
from contract.traffic import BoundedSession, BudgetExhaustedError

__all__ = ["CHECK_NAMES", "FuzzRun", "Fuzzer", "schemathesis_config"]

OPERATIONS_CONFIG = Path(__file__).with_name("schemathesis.toml")
NAME_MAX_LENGTH = 54
MAKERS = frozenset({"createBuildService", "putBuildService"})
STATEFUL_MAX_STEPS = 6
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
"""Every check Schemathesis 4.32.5 has, all on (but two stateful ones on some operations)."""


def schemathesis_config(*, token_env: str, project_id: str, max_examples: int) -> dict[str, Any]:
    """The settings: per-operation statuses from schemathesis.toml, the token by its variable's
    name (Schemathesis reads it itself, so it never sits in the settings), and the project."""
    data = tomllib.loads(OPERATIONS_CONFIG.read_text(encoding="utf-8"))
    data["generation"] = {
        "mode": "all",
        "max-examples": max_examples,
        "deterministic": True,
        "database": "none",
        # 401 is the behaviour check's: the negative cases go to parameters and bodies.
        "with-security-parameters": False,
    }
    data["phases"] = {"stateful": {"max-steps": STATEFUL_MAX_STEPS}}
    data["parameters"] = {"path.projectId": project_id}
    data["auth"] = {"openapi": {"bearerAuth": {"bearer": "${" + token_env + "}"}}}
    return data


def prefixed_name(name: str, prefix: str) -> str:
    """``name`` behind the prefix, cut to the spec's maximum at a word's end."""
    kept = name[: max(0, NAME_MAX_LENGTH - len(prefix) - 1)]
    while kept and (kept[-1].isspace() or kept[-1] == "-"):
        kept = kept[:-1]
    return f"{prefix}-{kept}" if kept else prefix


@dataclass
class FuzzRun:
    """Failures by check name, and how many cases were sent."""

    cases: int = 0
    failures: dict[str, list[Finding]] = field(default_factory=dict)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    stopped: str | None = None
    no_answer: list[Finding] = field(default_factory=list)

    def results(self) -> list[CheckResult]:
        answered = CheckResult("schemathesis.answers_every_case", "Every case gets an answer.")
        answered.runs, answered.findings = self.cases, self.no_answer
        results = [answered]
        for name in CHECK_NAMES:
            result = CheckResult(f"schemathesis.{name}", f"Schemathesis' {name} check")
            result.runs = self.cases
            result.findings = self.failures.get(name, [])
            results.append(result)
        return results


@dataclass
class Fuzzer:
    schema: schemathesis.BaseSchema
    session: BoundedSession
    base_url: str
    project_id: str
    prefix: str
    between_scenarios: Callable[[], None]
    run: FuzzRun = field(default_factory=FuzzRun)

    def prepare(self, case: Case[Any]) -> None:
        """Our project, and our prefix on every name a create or put sends."""
        case.path_parameters = {**(case.path_parameters or {}), "projectId": self.project_id}
        operation_id = case.operation.definition.raw.get("operationId")
        if operation_id in MAKERS and isinstance(case.body, dict):
            name = case.body.get("name")
            if isinstance(name, str):
                case.body = {**case.body, "name": prefixed_name(name, self.prefix)}

    def transport(self) -> dict[str, Any]:
        return {"session": self.session, "base_url": self.base_url}

    def judge(self, case: Case[Any], response: Response) -> None:
        """Every check on the answer; each failure kept once per check, operation and title."""
        self.run.cases += 1
        exchange = self.session.exchanges[-1] if self.session.exchanges else None
        try:
            case.validate_response(response, transport_kwargs=self.transport())
        except FailureGroup as group:
            self._keep(case, response, group.exceptions, exchange)
        except BudgetExhaustedError as spent:  # a probe of Schemathesis' own, past the budget
            self.run.stopped = str(spent)

    def _keep(self, case: Case[Any], response: Response, failures: Any, exchange: Any) -> None:
        curl = case.as_curl_command(headers=dict(response.request.headers), base_url=self.base_url)
        for failure in failures:
            if not isinstance(failure, Failure):
                continue
            check = type(failure).checks[0] if type(failure).checks else type(failure).__name__
            key = (check, case.operation.label, failure.title)
            if key in self.run.seen:
                continue
            self.run.seen.add(key)
            where = _instance_path(failure)
            title = f"{failure.title} at {where}" if where else failure.title
            message = f"{case.operation.label}: {title}\n{failure.message}".strip()
            self.run.failures.setdefault(check, []).append(Finding(message, exchange, curl))

    def stateless(self, cases_per_operation: int) -> None:
        """Positive, then negative data, for every operation."""
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for result in self.schema.get_all_operations():
                if not isinstance(result, Ok):
                    continue  # an operation the spec left unusable: Schemathesis says why
                operation = result.ok()
                if self.run.stopped:
                    return
                self.session.source = f"stateless {mode.value}"
                self._cases(operation.as_strategy(generation_mode=mode), cases_per_operation)

    def _cases(self, strategy: Any, count: int) -> None:
        @hypothesis.settings(
            max_examples=count,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def each(case: Case[Any]) -> None:
            if self.run.stopped:
                return
            self.prepare(case)
            try:
                response = case.call(**self.transport())
            except BudgetExhaustedError as spent:
                self.run.stopped = str(spent)
                return
            except OSError as error:  # a timeout or a dropped connection: this case only
                self.run.no_answer.append(Finding(f"{case.operation.label}: no answer: {error}"))
                return
            self.judge(case, response)

        # Unsatisfiable: nothing to make invalid in this operation (a get without a body).
        with contextlib.suppress(Unsatisfiable):
            each()

    def stateful(self, scenarios: int) -> None:
        """Chains along the spec's links: create -> get -> patch -> get -> delete -> get ..."""
        if self.run.stopped:
            return
        fuzzer = self
        machine: Any = self.schema.as_state_machine()
        self.session.source = "stateful"

        class ContractMachine(machine):  # type: ignore[misc]
            run_settings: ClassVar[hypothesis.settings] = hypothesis.settings(
                max_examples=scenarios,
                stateful_step_count=STATEFUL_MAX_STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )

            def setup(self) -> None:
                # Each scenario starts without the services of the last, so that the same
                # calls get the same answers (Hypothesis takes anything else for flakiness).
                if not fuzzer.run.stopped:
                    fuzzer.between_scenarios()
                fuzzer.session.source = "stateful"

            def before_call(self, case: Case[Any]) -> None:
                fuzzer.prepare(case)

            def call(self, case: Case[Any], **kwargs: Any) -> Response:
                if fuzzer.run.stopped:
                    raise _StopError(fuzzer.run.stopped)
                try:
                    return case.call(**kwargs)
                except BudgetExhaustedError as spent:
                    fuzzer.run.stopped = str(spent)
                    raise _StopError(str(spent)) from None
                except OSError as error:
                    message = f"{case.operation.label}: no answer: {error}"
                    fuzzer.run.no_answer.append(Finding(message))
                    fuzzer.run.stopped = message
                    raise _StopError(message) from None

            def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
                return fuzzer.transport()

            def validate_response(
                self, response: Response, case: Case[Any], *args: Any, **kwargs: Any
            ) -> None:
                fuzzer.run.cases += 1
                exchange = fuzzer.session.exchanges[-1] if fuzzer.session.exchanges else None
                try:
                    super().validate_response(response, case, *args, **kwargs)
                except FailureGroup as group:
                    fuzzer._keep(case, response, group.exceptions, exchange)
                except BudgetExhaustedError as spent:
                    fuzzer.run.stopped = str(spent)

        try:
            ContractMachine.run(settings=ContractMachine.run_settings)
        except _StopError:
            pass
        except (Flaky, FlakyStrategyDefinition) as flaky:
            # Hypothesis replays scenarios and finds they went otherwise the second time: the
            # budget ran out on the way, or the server answers the same calls differently.
            self.run.stopped = self.run.stopped or f"the stateful run ended early: {flaky}"
        except BaseExceptionGroup as group:
            if not group.subgroup(_StopError):
                raise


def _instance_path(failure: Failure) -> str | None:
    """Where in the body a schema failure is, as a JSON path: ``$.data.driftField``."""
    path = getattr(failure, "instance_path", None)
    if path is None:
        return None
    parts = [str(part) for part in path]
    message = str(getattr(failure, "message", ""))
    if unknown := re.search(r"\('([^']+)' was unexpected\)", message):
        parts.append(unknown[1])
    return "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)


class _StopError(Exception):
    """The budget is spent: end the stateful run here."""
