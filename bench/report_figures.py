"""The run's figures, gathered as the sections measure them; the floors of issue 17.

Each section calls `record` with what it printed; `floors` judges the issue's floors
from them, and ``report.py`` draws them. One run's figures are one JSON object:

    {"sandbox": {target: {"rps", "p50", "p99"}}, "client": {contestant: {"us", "ratio"}},
     "cli": {command: {"wall_ms", "cpu_ms"}}, "codegen": {generator: {"seconds", "cpu_seconds"}}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FIGURES", "SECTIONS", "Floor", "floors", "record"]

SECTIONS = ("sandbox", "client", "cli", "codegen")

Figures = dict[str, dict[str, dict[str, float]]]

FIGURES: Figures = {section: {} for section in SECTIONS}
"""This run's figures, filled in by the sections."""

PRISM = "Prism"
SANDBOX_MODES = ("sandbox:full", "sandbox:normal")
SANDBOX_GOAL = 2.0  # creates/s, at least twice Prism's
RAW_HTTPX = "raw httpx (json=, json.loads)"
OURS_VALIDATED = "ours (dict, validated)"
CLIENT_GOAL = 1.15  # ours (dict, validated) / raw httpx, at most
DRY_RUN = "dry-run"
CLI_CPU_GOAL_MS = 150.0
CODEGEN_OURS, CODEGEN_OPC = "ours", "opc"
CODEGEN_GOAL = 1.0  # ours / openapi-python-client, at most


def record(section: str, name: str, **values: float | None) -> None:
    """Keep ``values`` (None ones dropped) for ``name`` in ``section``."""
    FIGURES[section][name] = {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class Floor:
    """One floor of the issue: its measured ratio or figure against the goal."""

    name: str
    goal: str
    value: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "not met"


def _figure(figures: Any, section: str, name: str, key: str) -> float | None:
    value = figures.get(section, {}).get(name, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _by_prefix(figures: Any, section: str, prefix: str) -> str | None:
    return next((name for name in figures.get(section, {}) if name.startswith(prefix)), None)


def floors(figures: Any) -> list[Floor]:
    """The issue's floors, judged from ``figures`` (this run's, or a saved one's)."""
    found: list[Floor] = []
    prism = _figure(figures, "sandbox", PRISM, "rps")
    for mode in SANDBOX_MODES:
        rps = _figure(figures, "sandbox", mode, "rps")
        p99 = _figure(figures, "sandbox", mode, "p99")
        prism_p99 = _figure(figures, "sandbox", PRISM, "p99")
        goal = f">= {SANDBOX_GOAL:.1f}x Prism's creates/s"
        if rps is None or not prism:
            found.append(Floor(f"{mode} creates/s vs Prism", goal, "-", None))
            continue
        ratio = rps / prism
        latency = f"; p99 {p99:.1f} ms vs {prism_p99:.1f} ms" if p99 and prism_p99 else ""
        value = f"{ratio:.2f}x ({rps:,.0f} vs {prism:,.0f}/s{latency})"
        found.append(Floor(f"{mode} creates/s vs Prism", goal, value, ratio >= SANDBOX_GOAL))
    raw = _figure(figures, "client", RAW_HTTPX, "us")
    ours_name = _by_prefix(figures, "client", OURS_VALIDATED)
    ours = _figure(figures, "client", ours_name, "us") if ours_name else None
    goal = f"<= {CLIENT_GOAL:.2f}x raw httpx"
    if raw and ours is not None:
        paired = _figure(figures, "client", ours_name, "ratio") if ours_name else None
        ratio = paired if paired is not None else ours / raw  # older runs kept no ratio
        value = f"{ratio:.2f}x ({ours:.1f} vs {raw:.1f} us a call)"
        found.append(Floor("client call vs raw httpx", goal, value, ratio <= CLIENT_GOAL))
    else:
        found.append(Floor("client call vs raw httpx", goal, "-", None))
    cpu = _figure(figures, "cli", DRY_RUN, "cpu_ms")
    goal = f"<= {CLI_CPU_GOAL_MS:.0f} ms CPU"
    name = "CLI --dry-run -o json, cold"
    if cpu is None:
        found.append(Floor(name, goal, "-", None))
    else:
        found.append(Floor(name, goal, f"{cpu:.1f} ms CPU", cpu <= CLI_CPU_GOAL_MS))
    ours_s = _figure(figures, "codegen", CODEGEN_OURS, "seconds")
    opc_s = _figure(figures, "codegen", CODEGEN_OPC, "seconds")
    goal = f"<= {CODEGEN_GOAL:.1f}x openapi-python-client"
    if ours_s is None or not opc_s:
        found.append(Floor("regeneration", goal, "-", None))
    else:
        ratio = ours_s / opc_s
        value = f"{ratio:.2f}x ({ours_s:.2f} s vs {opc_s:.2f} s)"
        ours_cpu = _figure(figures, "codegen", CODEGEN_OURS, "cpu_seconds")
        opc_cpu = _figure(figures, "codegen", CODEGEN_OPC, "cpu_seconds")
        if ours_cpu is not None and opc_cpu:
            value += f"; CPU {ours_cpu / opc_cpu:.2f}x"
        found.append(Floor("regeneration", goal, value, ratio <= CODEGEN_GOAL))
    return found


def floors_table(figures: Any) -> str:
    """The floors as a plain-text table, for the end of the run."""
    rows = floors(figures)
    width = max(len(row.name) for row in rows)
    goal_width = max(len(row.goal) for row in rows)
    lines = [f"   {'floor':<{width}}  {'goal':<{goal_width}}  {'verdict':<12}  measured"]
    lines += [
        f"   {row.name:<{width}}  {row.goal:<{goal_width}}  {row.verdict:<12}  {row.value}"
        for row in rows
    ]
    return "\n".join(lines)
