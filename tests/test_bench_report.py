"""The bench's report, from a small fixture of figures: ``bench/report.py`` and its floors.

The page is self-contained (no script, style sheet, image or font from elsewhere),
has one chart per section, judges every floor of issue 17, and overlays a previous
run's figures when given one. In headless Chromium (the system's, driven by the
playwright-core pinned in ``tools/node``, as in test_contract.py) it loads nothing
but itself; without Chromium or node that one test is skipped, unless
NF_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # the bench's modules import one another flat

import report  # noqa: E402
import report_figures  # noqa: E402

CHROMIUM = os.environ.get("NF_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = ROOT / "tools" / "node" / "node_modules" / "playwright-core" / "package.json"

FIGURES: dict[str, Any] = {
    "sandbox": {
        "sandbox:full": {"rps": 2100.0, "p50": 3.7, "p99": 11.2},
        "sandbox:normal": {"rps": 4000.0, "p50": 1.9, "p99": 6.0},
        "Prism": {"rps": 1800.0, "p50": 4.2, "p99": 9.8},
    },
    "client": {
        "raw httpx (json=, json.loads)": {"us": 100.0},
        "ours (dict, validated)": {"us": 112.0},
        "openapi-python-client": {"us": 180.0},
    },
    "cli": {
        "help": {"wall_ms": 90.0, "cpu_ms": 80.0},
        "dry-run": {"wall_ms": 170.0, "cpu_ms": 160.0},
    },
    "codegen": {"ours": {"seconds": 1.1}, "opc": {"seconds": 1.25}, "dmcg": {"seconds": 0.9}},
}


def _verdicts(figures: Any) -> dict[str, str]:
    return {floor.name: floor.verdict for floor in report_figures.floors(figures)}


def test_floors_are_judged_from_the_figures() -> None:
    assert _verdicts(FIGURES) == {
        "sandbox:full creates/s vs Prism": "not met",  # 1.17x
        "sandbox:normal creates/s vs Prism": "met",  # 2.22x
        "client call vs raw httpx": "met",  # 1.12x
        "CLI --dry-run -o json, cold": "not met",  # 160 ms
        "regeneration": "met",  # 0.88x
    }
    table = report_figures.floors_table(FIGURES)
    assert "0.88x (1.10 s vs 1.25 s)" in table
    assert "p99 11.2 ms vs 9.8 ms" in table


def test_a_section_that_did_not_run_is_not_measured() -> None:
    assert set(_verdicts({"codegen": FIGURES["codegen"]}).values()) == {"met", "not measured"}


def _page(tmp_path: Path, previous: Any | None = None) -> tuple[Path, str]:
    old = None
    if previous is not None:
        old = tmp_path / "old.json"
        old.write_text(json.dumps(previous), encoding="utf-8")
    page = report.write_report(tmp_path / "report", FIGURES, old, ["fixture"])
    return page, page.read_text(encoding="utf-8")


def test_page_is_self_contained_with_one_chart_per_section(tmp_path: Path) -> None:
    page, text = _page(tmp_path)
    assert not re.search(r"<(script|link|img|iframe|object)\b", text)
    assert not re.search(r"\b(src|href)\s*=", text)
    assert "url(" not in text
    assert "@import" not in text
    sections = re.findall(r'<section class="chart".*?</section>', text, re.DOTALL)
    assert len(sections) == len(report.CHARTS)
    assert all(section.count("<svg") == 1 for section in sections)
    assert text.count("<tr>") == 1 + len(report_figures.floors(FIGURES))
    saved = json.loads((page.parent / "figures.json").read_text(encoding="utf-8"))
    assert saved == FIGURES


def test_compare_draws_the_previous_run_beside_this_one(tmp_path: Path) -> None:
    previous = copy.deepcopy(FIGURES)
    previous["codegen"]["ours"]["seconds"] = 1.85
    _, alone = _page(tmp_path)
    _, compared = _page(tmp_path, previous)
    bars = sum(len(series) for chart in report.CHARTS for series in [chart.series])
    assert alone.count('fill="#b8b8b8"') == 0
    assert compared.count("previous run:") >= bars
    assert "1.48x (1.85 s vs 1.25 s)" in compared  # the floors table's previous column


def test_missing_section_says_so(tmp_path: Path) -> None:
    page = report.write_report(tmp_path, {"codegen": FIGURES["codegen"]})
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 1
    assert text.count("Not measured in this run.") == len(report.CHARTS) - 1


BROWSE = r"""
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const { chromium } = createRequire(pathToFileURL(process.env.NF_PLAYWRIGHT))("playwright-core");
const browser = await chromium.launch({ executablePath: process.env.NF_CHROMIUM });
const requests = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(process.env.NF_REPORT_URL);
  const charts = await page.locator("section.chart svg").count();
  const bars = await page.locator("section.chart svg rect").count();
  console.log(JSON.stringify({ requests, charts, bars }));
} finally {
  await browser.close();
}
"""


def test_page_opens_in_chromium_without_requests(tmp_path: Path) -> None:
    node = shutil.which("node") or str(ROOT / ".nox" / "tests" / "bin" / "node")
    missing = [what for what, there in (
        (f"Chromium at {CHROMIUM}", os.access(CHROMIUM, os.X_OK)),
        ("node", Path(node).exists()),
        ("playwright-core (npm ci --prefix tools/node)", PLAYWRIGHT.exists()),
    ) if not there]  # fmt: skip
    if missing:
        if os.environ.get("NF_REQUIRE_BROWSER") == "1":
            pytest.fail(f"missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    page, _ = _page(tmp_path)
    script = tmp_path / "browse.mjs"
    script.write_text(BROWSE, encoding="utf-8")
    done = subprocess.run(
        [node, str(script)],
        env={**os.environ, "NF_PLAYWRIGHT": str(PLAYWRIGHT), "NF_CHROMIUM": CHROMIUM,
             "NF_REPORT_URL": page.as_uri()},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["requests"] == [page.as_uri()]
    assert seen["charts"] == len(report.CHARTS)
    assert seen["bars"] > len(report.CHARTS)
