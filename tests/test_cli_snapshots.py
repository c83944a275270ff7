"""What ``nf-build`` prints does not drift unnoticed: help pages and error reports.

Each case runs the console script (no sandbox: nothing here is sent) with
``NO_COLOR=1`` and ``COLUMNS=80`` and compares one stream with its file under
``snapshots/cli/``. A change fails here until the snapshots are rewritten
(``UPDATE_SNAPSHOTS=1``) and the diff reviewed.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_run import CREATE, Cli, base_env

SNAPSHOTS = Path(__file__).with_name("snapshots") / "cli"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

INVALID_BODY = {
    "name": "1 not a name!",
    "billing": {"buildPlan": 3},
    "vcsData": {"projectUrl": "https://github.com/northflank/gatsby-with-northflank"},
    "buildSettings": {"dockerfile": {"dockerFilePath": "Dockerfile", "dockerWorkDir": "/"}},
    "bogus": True,
}
"""Fails at $.name, $.billing.buildPlan, $.vcsData.projectType, the Dockerfile path and $.bogus."""

NOWHERE = ("--project-id", "p", "--token", "t", "--base-url", "http://127.0.0.1:9")
"""Where nothing listens: were anything sent, the run would fail with exit 3."""


@dataclass(frozen=True)
class Case:
    snapshot: str
    args: tuple[str, ...]
    exit_code: int
    stream: str
    """``stdout`` or ``stderr``: the one compared; the other must be empty."""


CASES = [
    Case("help.txt", ("--help",), 0, "stdout"),
    Case("create-service-build-help.txt", (*CREATE, "--help"), 0, "stdout"),
    Case("patch-service-build-help.txt", ("patch", "service", "build", "--help"), 0, "stdout"),
    Case("context-help.txt", ("context", "--help"), 0, "stdout"),
    Case(
        "validation-error.txt",
        (*CREATE, *NOWHERE, "--no-input", "--dry-run", "-i", json.dumps(INVALID_BODY)),
        2,
        "stderr",
    ),
    Case(
        "usage-error.txt",
        (*CREATE, *NOWHERE, "--dry-run", "--vcs-data-project-type", "svn"),
        2,
        "stderr",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.snapshot for case in CASES])
def test_output_matches_snapshot(case: Case, tmp_path: Path) -> None:
    done = Cli(base_env(tmp_path), tmp_path)(*case.args)
    compared = done.stdout if case.stream == "stdout" else done.stderr
    other = done.stderr if case.stream == "stdout" else done.stdout
    assert done.returncode == case.exit_code, (done.returncode, done.stdout, done.stderr)
    assert other == ""
    snapshot = SNAPSHOTS / case.snapshot
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(compared, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot; run with UPDATE_SNAPSHOTS=1 to write {snapshot}"
    expected = snapshot.read_text(encoding="utf-8")
    if compared != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), compared.splitlines(), "snapshot", "now", lineterm=""
        )
        pytest.fail(
            f"{case.snapshot} changed: review it, then rewrite the snapshots with "
            "UPDATE_SNAPSHOTS=1\n" + "\n".join(diff),
            pytrace=False,
        )


def test_every_snapshot_has_a_case() -> None:
    """A snapshot whose case was removed would go stale unseen."""
    files = {path.name for path in SNAPSHOTS.glob("*.txt")}
    assert files == {case.snapshot for case in CASES}
