"""What a run found: one `CheckResult` per named check, and the run around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from contract.traffic import Exchange

__all__ = ["CheckResult", "Finding", "Outcome", "RunResult"]


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    """One way the server broke a check: what, and the exchange that shows it (if any)."""

    message: str
    exchange: Exchange | None = None
    curl: str | None = None
    """A command that sends the failing request again (secrets still in: redact to show)."""


@dataclass
class CheckResult:
    name: str
    description: str
    findings: list[Finding] = field(default_factory=list)
    runs: int = 0
    """How many requests or cases the check judged."""
    skipped_because: str | None = None

    @property
    def outcome(self) -> Outcome:
        if self.findings:
            return Outcome.FAILED
        if self.skipped_because is not None or self.runs == 0:
            return Outcome.SKIPPED
        return Outcome.PASSED

    def fail(self, message: str, exchange: Exchange | None = None, curl: str | None = None) -> None:
        self.findings.append(Finding(message, exchange, curl))


@dataclass
class RunResult:
    base_url: str
    project_id: str
    prefix: str
    checks: list[CheckResult] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    cases: int = 0
    """Schemathesis cases sent (stateless and stateful steps)."""
    seconds: float = 0.0
    interrupted: bool = False
    stopped_early: str | None = None
    """Why the run stopped before its plan was done: the request budget, a connection error."""
    left_behind: list[str] = field(default_factory=list)
    """Services the server reported making from our requests that the clean-up could not delete."""

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if check.outcome is Outcome.FAILED]

    @property
    def passed(self) -> bool:
        return not (self.failed or self.interrupted or self.left_behind or self.stopped_early)

    def check(self, name: str) -> CheckResult:
        return next(check for check in self.checks if check.name == name)
