"""Fixtures shared by the test modules; each group says which modules use it."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.live_sandbox import LiveSandbox, start_sandbox

# --- Running the generator and comparing trees ------------------------------
# Used by test_golden.py, test_determinism.py and test_bad_specs.py.

ROOT = Path(__file__).resolve().parent.parent
CODEGEN_TIMEOUT = 600  # seconds; one run takes a few


def assert_mypy_strict(package: Path, cache: Path) -> None:
    """``mypy --strict`` with the repo's settings (pydantic plugin), as `nox -s typecheck`,
    finds nothing in ``package`` (a generated ``northflank_build``)."""
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(cache),
            str(package),
        ],
        cwd=package.parent,
        env={**os.environ, "MYPYPATH": str(package.parent)},
        capture_output=True,
        encoding="utf-8",
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    modules = len(list(package.rglob("*.py")))
    assert f"no issues found in {modules} source files" in result.stdout


RunCodegen = Callable[..., subprocess.CompletedProcess[str]]
ReadTree = Callable[[Path], dict[str, bytes]]
AssertSameTree = Callable[[Path, Path], None]


def _run_codegen(
    *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m codegen ARGS`` from the repo root, whatever the caller's cwd."""
    return subprocess.run(
        [sys.executable, "-m", "codegen", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        encoding="utf-8",
        timeout=CODEGEN_TIMEOUT,
        check=False,
    )


def _read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative POSIX path; ``__pycache__`` is ignored."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.relative_to(root).parts
    }


def _assert_same_tree(expected: Path, actual: Path) -> None:
    """Byte-for-byte equality of two trees; on failure, which files and one diff."""
    want, got = _read_tree(expected), _read_tree(actual)
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    changed = sorted(name for name in want.keys() & got.keys() if want[name] != got[name])
    if not (missing or extra or changed):
        return
    lines = [f"{actual} differs from {expected}:"]
    lines += [f"  missing: {name}" for name in missing]
    lines += [f"  extra:   {name}" for name in extra]
    lines += [f"  differs: {name}" for name in changed]
    if changed:
        name = changed[0]
        diff = difflib.unified_diff(
            want[name].decode("utf-8", "replace").splitlines(),
            got[name].decode("utf-8", "replace").splitlines(),
            f"{expected.name}/{name}",
            f"{actual.name}/{name}",
            lineterm="",
        )
        lines += ["", *list(diff)[:40]]
    pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture(scope="session")
def run_codegen() -> RunCodegen:
    """Call as ``run_codegen("--out", path, env={"VAR": "value"})``."""
    return _run_codegen


@pytest.fixture(scope="session")
def read_tree() -> ReadTree:
    """Call as ``read_tree(folder)``: ``{relative/posix/path: bytes}``."""
    return _read_tree


@pytest.fixture(scope="session")
def assert_same_tree() -> AssertSameTree:
    """Call as ``assert_same_tree(expected_dir, actual_dir)``."""
    return _assert_same_tree


# --- end of the generator group ---------------------------------------------


# --- A live sandbox over HTTP on 127.0.0.1 ------------------------------------
# Used by the test_sandbox_*.py modules.


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LiveSandbox]:
    """A fresh sandbox (own database, no rate limit), stopped after the test."""
    server = start_sandbox(tmp_path / "sandbox", "--quiet", "--rate-limit", "off")
    try:
        yield server
    finally:
        server.stop()


# --- The TypeScript package ---------------------------------------------------
# Used by test_typescript.py and test_cross_surface_parity.py.


@pytest.fixture(scope="session")
def typescript_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``generated/typescript`` built once per test process: ``dist/esm`` and ``dist/cjs``.

    Without Node and the pinned tools, the tests using it are skipped, unless
    NF_REQUIRE_NODE=1 (as in ``nox -s tests``) makes that a failure.
    """
    from tests.typescript_build import (
        build_typescript_package,
        missing_node_tools,
        skip_unless_required,
    )

    skip_unless_required(missing_node_tools())
    return build_typescript_package(tmp_path_factory.mktemp("typescript") / "northflank-build")


# --- The fixture spec with every shape of operation --------------------------
# Used by the test modules of the surfaces generated from tests/fixtures/every_shape.yaml.

EVERY_SHAPE_SPEC = ROOT / "tests" / "fixtures" / "every_shape.yaml"


@pytest.fixture(scope="session")
def every_shape_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``generated/`` for the fixture spec, made once per test process in a temporary folder.

    Its Python package is also called ``northflank_build``: import it only in a
    subprocess with ``PYTHONPATH=<this>/python``, never in the test process.
    """
    out = tmp_path_factory.mktemp("every-shape") / "generated"
    result = _run_codegen("--spec", EVERY_SHAPE_SPEC, "--out", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out
