"""`python -m codegen diff`: the corpus of spec pairs, the pattern sampler, git refs, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import regress
import yaml

from codegen.diff import Level, diff_sides, main
from codegen.diff.operations import Side
from codegen.diff.patterns import compare_patterns
from codegen.diff.sources import side_from_document
from tests.spec_diffs.corpus import SPEC, Case, apply_patch, cases

ROOT = Path(__file__).resolve().parent.parent
CASES = list(cases())
JSON_KEYS = {"level", "rule", "pointer", "surface", "message"}


@cache
def _product_spec() -> str:
    return SPEC.read_text(encoding="utf-8")


@cache
def _side(document_json: str, role: str) -> Side:
    """A side per distinct document: most cases share OLD, the product spec."""
    return side_from_document(json.loads(document_json), role.lower(), role)


def _pair(case: Case) -> tuple[Side, Side]:
    spec = yaml.safe_load(_product_spec())
    old = apply_patch(spec, case.base)
    new = apply_patch(old, case.edit)
    return _side(json.dumps(old), "OLD"), _side(json.dumps(new), "NEW")


def test_the_corpus_has_at_least_40_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case) -> None:
    changes = diff_sides(*_pair(case))
    level = max((c.level for c in changes), default=Level.NONE)
    shown = "\n".join(f"{c.level.label} {c.surface} {c.rule}: {c.message}" for c in changes)
    assert level.label == case.level, f"{case.title}\n{shown}"
    if case.rule is None and case.message is None:
        return
    matching = [
        c
        for c in changes
        if (case.rule is None or c.rule == case.rule)
        and (case.surface is None or c.surface == case.surface)
        and (case.message is None or case.message in c.message)
    ]
    assert matching, (
        f"{case.title}: no {case.rule} on {case.surface} with {case.message!r}\n{shown}"
    )


def test_the_issue_example_names_the_cli_flags_and_is_major(
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = next(c for c in CASES if c.name == "issue_example_rename_and_narrow")
    changes = diff_sides(*_pair(case))
    cli = [c.message for c in changes if c.surface == "cli" and c.level is Level.BREAKING]
    assert any("--vcs-data-project-url: removed" in m for m in cli)
    assert any("--vcs-data-repository-url: added, required" in m for m in cli)
    assert any(
        '--build-settings-dockerfile-build-engine: "buildkit" no longer allowed' in m for m in cli
    )


# ------------------------------------------------------------------ the pattern sampler


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$", r"^[a-z0-9]+(-[a-z0-9]+)*$", "narrowed"),
        (r"^[a-z]+$", r"^[a-zA-Z]+$", "widened"),
        (r"^[a-z]+$", r"^[a-y0-9]+$", "both"),
        (r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$", r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$", "same"),
        (None, r"^\d{3}$", "narrowed"),
        (r"^\/([a-z]+\/)*[a-z]*$", None, "widened"),
        (r"^\s+$", r"^[ \t]+$", "narrowed"),  # \s also holds U+00A0, U+2028, ...
        (
            r"^(https:\/\/)?[a-z]{2,}(\.[a-z]{2,})+$",
            r"^https:\/\/[a-z]{2,}(\.[a-z]{2,})+$",
            "narrowed",
        ),
    ],
)
def test_pattern_verdicts_come_with_examples_regress_confirms(
    old: str | None, new: str | None, kind: str
) -> None:
    verdict = compare_patterns(old, new)
    assert verdict.kind == kind, verdict.describe()
    if kind == "same":
        assert verdict.refused is None
        assert verdict.admitted is None
        assert verdict.describe().startswith(f"same on {verdict.samples} samples")
        assert verdict.samples > 100
    if kind in ("narrowed", "both"):
        assert verdict.refused is not None
        assert _ecma(old, verdict.refused)
        assert not _ecma(new, verdict.refused)
    if kind in ("widened", "both"):
        assert verdict.admitted is not None
        assert _ecma(new, verdict.admitted)
        assert not _ecma(old, verdict.admitted)


def _ecma(pattern: str | None, text: str) -> bool:
    return pattern is None or regress.Regex(pattern, "u").find(text) is not None


# ------------------------------------------------------------------ the command line


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "codegen", "diff", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository whose tag v1.0.0 holds the product spec and whose work tree holds
    the issue's example edit."""
    folder = tmp_path_factory.mktemp("repo")
    (folder / "spec").mkdir()
    spec = folder / "spec" / "openapi.yaml"
    shutil.copyfile(SPEC, spec)
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "v1")
    _git(folder, "tag", "v1.0.0")
    case = next(c for c in CASES if c.name == "issue_example_rename_and_narrow")
    edited = apply_patch(yaml.safe_load(_product_spec()), case.edit)
    spec.write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")
    additive = apply_patch(yaml.safe_load(_product_spec()), _case("parameter_deprecated").edit)
    (folder / "additive.yaml").write_text(yaml.safe_dump(additive, sort_keys=False), "utf-8")
    (folder / "broken.yaml").write_text("openapi: [unclosed\n", encoding="utf-8")
    return folder


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_a_git_ref_against_the_work_tree_in_json(repo: Path) -> None:
    done = _run("v1.0.0:spec/openapi.yaml", "spec/openapi.yaml", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == {"bump", "changes"}
    assert payload["bump"] == "major"
    assert all(set(change) == JSON_KEYS for change in payload["changes"])
    assert {c["surface"] for c in payload["changes"]} == {"wire", "python", "cli", "typescript"}
    assert {c["level"] for c in payload["changes"]} <= {"breaking", "additive", "patch"}
    assert any(
        c["surface"] == "cli" and "--vcs-data-project-url" in c["message"]
        for c in payload["changes"]
    )
    assert all(c["pointer"].startswith("#/") for c in payload["changes"])


def test_fail_on_exit_codes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "v1.0.0:spec/openapi.yaml"
    assert main([old, "spec/openapi.yaml", "--fail-on", "breaking"], cwd=repo) == 1
    assert main([old, "additive.yaml", "--fail-on", "breaking"], cwd=repo) == 0
    assert main([old, "additive.yaml", "--fail-on", "additive"], cwd=repo) == 1
    assert main([old, old, "--fail-on", "additive"], cwd=repo) == 0
    report = capsys.readouterr().out
    assert "bump none (no changes)" in report
    assert "bump minor" in report
    assert "ADDITIVE" in report


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("v9.9.9:spec/openapi.yaml", "spec/openapi.yaml", "OLD 'v9.9.9:spec/openapi.yaml'"),
        ("v1.0.0:spec/missing.yaml", "spec/openapi.yaml", "OLD 'v1.0.0:spec/missing.yaml'"),
        ("spec/openapi.yaml", "nowhere.yaml", "NEW 'nowhere.yaml': no such file"),
        ("spec/openapi.yaml", "broken.yaml", "NEW broken.yaml: 1 problem in the spec"),
    ],
)
def test_bad_inputs_exit_2_naming_them(
    repo: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, named: str
) -> None:
    assert main([old, new], cwd=repo) == 2
    captured = capsys.readouterr()
    assert named in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_the_json_contract_on_no_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["v1.0.0:spec/openapi.yaml", "v1.0.0:spec/openapi.yaml", "--json"], cwd=repo) == 0
    assert json.loads(capsys.readouterr().out) == {"bump": "none", "changes": []}
