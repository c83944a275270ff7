"""The committed generated/ is exactly what the generator makes from the committed spec."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
from pathlib import Path

import pytest

from codegen.write import is_build_output
from tests.conftest import assert_mypy_strict

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
SPEC_SHA256 = hashlib.sha256(SPEC.read_bytes()).hexdigest()
PACKAGE = Path("python", "northflank_build")
TOOLS = ("datamodel-code-generator", "jinja2", "pydantic", "ruff")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, run_codegen) -> Path:
    """A tree freshly generated from the committed spec, outside the repo."""
    out = tmp_path_factory.mktemp("golden") / "generated"
    result = run_codegen("--out", out)
    assert result.returncode == 0, result.stderr
    return out


def test_regenerated_tree_equals_committed_tree(fresh, assert_same_tree, tmp_path):
    committed = tmp_path / "generated"
    shutil.copytree(ROOT / "generated", committed, ignore=_build_outputs(ROOT / "generated"))
    assert_same_tree(committed, fresh)


def _build_outputs(root: Path):
    """A copytree ``ignore`` that leaves out what building the packages left (README says how)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(root)
        return {name for name in names if is_build_output(relative / name)}

    return ignore


def test_generated_package_passes_mypy_strict(fresh, tmp_path):
    package = fresh / PACKAGE
    assert_mypy_strict(package, tmp_path / "mypy_cache")


def test_every_file_starts_with_the_provenance_line(fresh, read_tree):
    files = read_tree(fresh)
    assert files
    for name, content in files.items():
        first_line = content.decode("utf-8").splitlines()[0]
        assert "northflank-build codegen" in first_line, name
        assert SPEC_SHA256[:16] in first_line, name
        assert "Do not edit" in first_line, name


def test_manifest_records_spec_inputs_and_tools(fresh):
    manifest = json.loads((fresh / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["spec"]["sha256"] == SPEC_SHA256
    inputs = [
        *(p for p in (ROOT / "templates").rglob("*") if p.is_file()),
        *(p for p in (ROOT / "runtime").rglob("*.py") if "__pycache__" not in p.parts),
        *(ROOT / "runtime" / "typescript").glob("*.ts"),
    ]
    assert inputs
    assert manifest["inputs"] == {
        p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs
    }
    assert {tool: manifest["tools"].get(tool) for tool in TOOLS} == {
        tool: importlib.metadata.version(tool) for tool in TOOLS
    }


def test_check_passes_on_the_repo(run_codegen):
    result = run_codegen("--check")
    assert result.returncode == 0, result.stderr


def test_check_names_stale_files_after_a_description_change(tmp_path, run_codegen):
    old = "description: When the service was created, as ISO-8601 in UTC"
    text = SPEC.read_text(encoding="utf-8")
    assert text.count(old) == 1
    spec = tmp_path / "openapi.yaml"
    spec.write_text(
        text.replace(old, "description: When the service was made, as ISO-8601 in UTC"), "utf-8"
    )

    result = run_codegen("--check", "--spec", spec)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "python/northflank_build/models.py (out of date)" in result.stderr
    assert "MANIFEST.json (out of date)" in result.stderr
