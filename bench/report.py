"""One self-contained HTML page of a bench run: the floors, and a bar chart per section.

``python bench/run.py --report DIR [--compare OLD.json]`` writes ``DIR/index.html``
and ``DIR/figures.json`` (this run's figures, to compare a later run with). The
charts are SVG written here, inline: the page loads nothing, so it opens from a file,
an archive or a CI artifact alike. With ``--compare``, each bar of this run has the
previous run's figure drawn under it, in grey.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report_figures import floors

__all__ = ["CHARTS", "Chart", "render_page", "write_report"]

PAGE_NAME = "index.html"
FIGURES_NAME = "figures.json"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class Chart:
    """One section's chart: a bar per (name, series), from the section's figures."""

    section: str
    title: str
    unit: str
    series: tuple[Series, ...]
    note: str


CHARTS: tuple[Chart, ...] = (
    Chart(
        "sandbox",
        "Sandbox throughput per target",
        "creates/s",
        (Series("rps", "requests/s", "#2f6fb0"),),
        "Timed rounds of wrk against each target; more is better.",
    ),
    Chart(
        "sandbox",
        "Sandbox latency per target",
        "ms",
        (Series("p50", "p50", "#5aa05a"), Series("p99", "p99", "#c0504d")),
        "Median of the rounds' percentiles; less is better.",
    ),
    Chart(
        "client",
        "Client overhead per contestant",
        "µs a call",
        (Series("us", "µs a call", "#8064a2"),),
        "No network: one httpx.MockTransport; less is better.",
    ),
    Chart(
        "cli",
        "CLI start per command",
        "ms",
        (Series("wall_ms", "wall", "#f79646"), Series("cpu_ms", "CPU", "#4bacc6")),
        "Median of fresh processes; less is better.",
    ),
    Chart(
        "codegen",
        "Regeneration per generator",
        "s",
        (Series("seconds", "wall", "#9bbb59"),),
        "Median of fresh processes into temporary folders; less is better.",
    ),
)

BAR = 14
GAP = 6
LABEL_WIDTH = 250
PLOT_WIDTH = 360
VALUE_WIDTH = 170
PREVIOUS = "#b8b8b8"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 820px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }
td.met { color: #1d7a1d; font-weight: 600; } td.not-met { color: #b22; font-weight: 600; }
td.not-measured { color: #777; }
p.note, p.empty { color: #555; font-size: .9rem; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
"""


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _value(figures: Any, section: str, name: str, key: str) -> float | None:
    value = figures.get(section, {}).get(name, {}).get(key) if isinstance(figures, dict) else None
    return float(value) if isinstance(value, int | float) else None


def chart_svg(chart: Chart, figures: Any, previous: Any | None) -> str | None:
    """The chart as an SVG element, or None when the section has no figures."""
    names = list(figures.get(chart.section, {}))
    rows: list[tuple[str, Series, float, float | None]] = []
    for name in names:
        for series in chart.series:
            value = _value(figures, chart.section, name, series.key)
            if value is None:
                continue
            old = _value(previous, chart.section, name, series.key) if previous else None
            rows.append((name, series, value, old))
    if not rows:
        return None
    top = max(max(value, old or 0.0) for _, _, value, old in rows) or 1.0
    per_row = BAR * (2 if previous else 1) + GAP
    legend = 22
    height = legend + per_row * len(rows) + GAP
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"><title>{html.escape(chart.title)}</title>'
    ]
    x = LABEL_WIDTH
    keys = [(series.label, series.colour) for series in chart.series]
    if previous:
        keys.append(("previous run", PREVIOUS))
    for label, colour in keys:
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="14">{html.escape(label)}</text>')
        x += 24 + 7 * len(label)
    y = legend
    for name, series, value, old in rows:
        label = name if len(chart.series) == 1 else f"{name} · {series.label}"
        length = PLOT_WIDTH * value / top
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR - 3}" text-anchor="end">'
            f"{html.escape(label)}</text>"
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}"'
            f' fill="{series.colour}"><title>{html.escape(label)}: {_number(value)}'
            f" {html.escape(chart.unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR - 3}">{_number(value)}</text>'
        )
        if previous:
            y += BAR
            if old is not None:
                ratio = f"{value / old:.2f}x" if old else "n/a"
                old_length = PLOT_WIDTH * old / top
                parts.append(
                    f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{old_length:.1f}"'
                    f' height="{BAR - 4}" fill="{PREVIOUS}"><title>previous run:'
                    f" {_number(old)} {html.escape(chart.unit)}</title></rect>"
                )
                parts.append(
                    f'<text x="{LABEL_WIDTH + old_length + 4:.1f}" y="{y + BAR - 3}"'
                    f' fill="#777">{_number(old)} (this run: {ratio})</text>'
                )
        y += BAR + GAP
    parts.append("</svg>")
    return "".join(parts)


def _floors_html(figures: Any, previous: Any | None) -> str:
    before = {floor.name: floor for floor in floors(previous)} if previous else {}
    head = "<th>floor</th><th>goal</th><th>verdict</th><th>measured</th>"
    if previous:
        head += "<th>previous run</th>"
    rows = []
    for floor in floors(figures):
        css = floor.verdict.replace(" ", "-")
        cells = (
            f"<td>{html.escape(floor.name)}</td><td>{html.escape(floor.goal)}</td>"
            f'<td class="{css}">{floor.verdict}</td><td>{html.escape(floor.value)}</td>'
        )
        if previous:
            old = before.get(floor.name)
            cells += f"<td>{html.escape(old.value if old else '-')}</td>"
        rows.append(f"<tr>{cells}</tr>")
    table = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    return f'<table class="floors">{table}</table>'


def render_page(
    figures: Any, previous: Any | None = None, title: str = "Bench run", about: Sequence[str] = ()
) -> str:
    """The whole page: the floors, then one section per chart (a note where it has no figures)."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f'<p class="note">{html.escape(line)}</p>' for line in about]
    if previous:
        body.append('<p class="note">Grey bars: the previous run given with --compare.</p>')
    body.append("<h2>Floors of issue 17</h2>")
    body.append(_floors_html(figures, previous))
    for chart in CHARTS:
        slug = chart.title.lower().replace(" ", "-")
        svg = chart_svg(chart, figures, previous)
        content = svg or '<p class="empty">Not measured in this run.</p>'
        body.append(
            f'<section class="chart" id="{slug}"><h2>{html.escape(chart.title)}'
            f" ({html.escape(chart.unit)})</h2>{content}"
            f'<p class="note">{html.escape(chart.note)}</p></section>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_report(
    folder: Path, figures: Any, previous_path: Path | None = None, about: Sequence[str] = ()
) -> Path:
    """Write ``index.html`` and ``figures.json`` into ``folder``; the page's path."""
    previous = json.loads(previous_path.read_text(encoding="utf-8")) if previous_path else None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FIGURES_NAME).write_text(
        json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    page = folder / PAGE_NAME
    page.write_text(render_page(figures, previous, about=about), encoding="utf-8")
    return page
