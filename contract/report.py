"""The run's reports: JUnit XML for CI, and one self-contained HTML page (inline CSS and SVG,
nothing fetched) with every check, each failure's request, answer and curl line, and charts of
status codes and latency by operation. Every text goes through the redactor first."""

from __future__ import annotations

import os
import re
import shlex
import statistics
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from contract.redact import Redactor
from contract.results import Finding, Outcome, RunResult
from contract.traffic import Exchange

__all__ = ["curl_line", "write_reports"]

TEMPLATE = "report.html.j2"
CHART_WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 170
STATUS_COLOURS = {"2": "#2e7d32", "3": "#1565c0", "4": "#ef6c00", "5": "#c62828"}


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with the characters XML 1.0 (and HTML) cannot carry shown as escapes."""
    return _NOT_IN_XML.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def curl_line(x: Exchange) -> str:
    """A curl command that sends the exchange's request again."""
    parts = ["curl", "-i", "-X", x.method, x.url]
    for name, value in x.request_headers.items():
        if name.lower() in ("content-length", "accept-encoding", "connection", "user-agent"):
            continue
        parts += ["-H", f"{name}: {value}"]
    if x.request_body:
        parts += ["--data-raw", x.request_body]
    return " ".join(shlex.quote(part) for part in parts)


def _atomic_write(path: Path, text: str) -> None:
    """Whole or not at all: a reader never sees half a report."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
    os.chmod(handle.name, 0o644)  # a report to share, like any file the run writes
    os.replace(handle.name, path)


def write_reports(result: RunResult, folder: Path, redactor: Redactor) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    junit, html = folder / "junit.xml", folder / "report.html"
    _atomic_write(junit, junit_xml(result, redactor))
    _atomic_write(html, html_report(result, redactor))
    return [junit, html]


def junit_xml(result: RunResult, redactor: Redactor) -> str:
    suite = ET.Element(
        "testsuite",
        name="contract",
        tests=str(len(result.checks)),
        failures=str(len(result.failed)),
        skipped=str(sum(c.outcome is Outcome.SKIPPED for c in result.checks)),
        time=f"{result.seconds:.3f}",
    )
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname="contract", name=check.name)
        if check.outcome is Outcome.FAILED:
            failure = ET.SubElement(
                case,
                "failure",
                message=printable(redactor.text(check.findings[0].message.splitlines()[0])),
            )
            failure.text = printable(
                redactor.text("\n\n".join(_finding_text(f) for f in check.findings))
            )
        elif check.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", message=check.skipped_because or "nothing to judge")
    for note in result.left_behind:
        case = ET.SubElement(suite, "testcase", classname="contract", name="cleanup")
        ET.SubElement(case, "failure", message=redactor.text(f"left behind: {note}"))
    if result.stopped_early:
        case = ET.SubElement(suite, "testcase", classname="contract", name="run")
        ET.SubElement(case, "failure", message=redactor.text(result.stopped_early))
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _finding_text(finding: Finding) -> str:
    lines = [finding.message]
    curl = finding.curl or (curl_line(finding.exchange) if finding.exchange else None)
    if curl:
        lines.append(f"Reproduce with: {curl}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    height: int
    labels: list[tuple[float, str]]
    bars: list[Bar]
    legend: list[tuple[str, str]]


def _operations(exchanges: list[Exchange]) -> list[str]:
    return sorted({x.operation or "other" for x in exchanges})


def status_chart(exchanges: list[Exchange]) -> Chart:
    """Per operation, one bar of its answers split by status code."""
    operations = _operations(exchanges)
    counts = {op: Counter(x.status for x in exchanges if (x.operation or "other") == op)
              for op in operations}  # fmt: skip
    most = max((sum(c.values()) for c in counts.values()), default=1) or 1
    scale = (CHART_WIDTH - LABEL_WIDTH - 10) / most
    bars, labels = [], []
    for row, op in enumerate(operations):
        y, x = 10 + row * (BAR_HEIGHT + 6), float(LABEL_WIDTH)
        labels.append((y + BAR_HEIGHT * 0.7, op))
        for status, n in sorted(counts[op].items()):
            colour = STATUS_COLOURS.get(str(status)[0], "#616161")
            bars.append(Bar(x, y, n * scale, BAR_HEIGHT, colour, f"{op}: {n} answers {status}"))
            x += n * scale
    statuses = sorted({x.status for x in exchanges})
    legend = [(STATUS_COLOURS.get(str(s)[0], "#616161"), str(s)) for s in statuses]
    return Chart("Status codes by operation", 20 + len(operations) * (BAR_HEIGHT + 6), labels,
                 bars, legend)  # fmt: skip


def latency_chart(exchanges: list[Exchange]) -> Chart:
    """Per operation, the median latency, and the slowest answer as a lighter bar behind it."""
    operations = _operations(exchanges)
    times = {op: [x.seconds * 1000 for x in exchanges if (x.operation or "other") == op]
             for op in operations}  # fmt: skip
    slowest = max((max(t) for t in times.values() if t), default=1.0) or 1.0
    scale = (CHART_WIDTH - LABEL_WIDTH - 10) / slowest
    bars, labels = [], []
    for row, op in enumerate(operations):
        y = 10 + row * (BAR_HEIGHT + 6)
        labels.append((y + BAR_HEIGHT * 0.7, op))
        median, most = statistics.median(times[op]), max(times[op])
        bars.append(Bar(LABEL_WIDTH, y, most * scale, BAR_HEIGHT, "#90caf9",
                        f"{op}: slowest {most:.1f} ms"))  # fmt: skip
        bars.append(Bar(LABEL_WIDTH, y, median * scale, BAR_HEIGHT, "#1565c0",
                        f"{op}: median {median:.1f} ms of {len(times[op])}"))  # fmt: skip
    legend = [("#1565c0", "median"), ("#90caf9", f"slowest (longest {slowest:.0f} ms)")]
    return Chart("Latency by operation (ms)", 20 + len(operations) * (BAR_HEIGHT + 6), labels,
                 bars, legend)  # fmt: skip


def _exchange_view(x: Exchange, redactor: Redactor) -> dict[str, Any]:
    return {
        "number": x.number,
        "source": x.source,
        "request": redactor.text(
            "\n".join(
                [f"{x.method} {x.url}"]
                + [f"{k}: {v}" for k, v in redactor.headers(x.request_headers).items()]
                + (["", x.request_body] if x.request_body else [])
            )
        ),
        "response": redactor.text(
            "\n".join(
                [f"HTTP {x.status}"]
                + [f"{k}: {v}" for k, v in redactor.headers(x.response_headers).items()]
                + (["", x.response_body] if x.response_body else [])
            )
        ),
    }


def html_report(result: RunResult, redactor: Redactor) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        finalize=lambda value: printable(value) if isinstance(value, str) else value,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    checks = [
        {
            "name": check.name,
            "description": check.description,
            "outcome": check.outcome.value,
            "runs": check.runs,
            "skipped_because": check.skipped_because,
            "findings": [
                {
                    "message": redactor.text(f.message),
                    "curl": redactor.text(f.curl or (curl_line(f.exchange) if f.exchange else "")),
                    "exchange": _exchange_view(f.exchange, redactor) if f.exchange else None,
                }
                for f in check.findings
            ],
        }
        for check in result.checks
    ]
    counts = Counter(check.outcome.value for check in result.checks)
    return environment.get_template(TEMPLATE).render(
        result=result,
        base_url=redactor.text(result.base_url),
        verdict="passed" if result.passed else "failed",
        counts=counts,
        checks=checks,
        charts=[status_chart(result.exchanges), latency_chart(result.exchanges)],
        chart_width=CHART_WIDTH,
        label_width=LABEL_WIDTH,
        requests=len(result.exchanges),
        left_behind=[redactor.text(note) for note in result.left_behind],
    )
