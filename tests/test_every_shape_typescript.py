"""The TypeScript client of the fixture spec with every shape of operation.

``tests/fixtures/every_shape.yaml`` is generated into a temporary folder (the
``every_shape_generated`` fixture) and its TypeScript package built by its own
``npm run build``; then:

* ``tsc --strict --noEmit`` is clean on it, and on ``tests/ts/every_shape/typed_usage.ts``
  (a user's code, its ``@ts-expect-error`` lines included) against its declarations;
* shared models are imported and declared once;
* ``tests/ts/every_shape/*.test.mjs`` run under ``node --test`` against the recording
  server (``python -m tests.every_shape_server``, started by the Node suite itself).

Without ``node``, ``npm`` or the pinned ``tsc`` these tests are skipped, unless
NF_REQUIRE_NODE=1 makes that a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_sandbox import ROOT
from tests.typescript_build import (
    TOOLS_BIN,
    build_typescript_package,
    missing_node_tools,
    node_env,
    shown,
    skip_unless_required,
)
from tests.typescript_build import run as run_node

TS_TESTS = ROOT / "tests" / "ts" / "every_shape"
NODE_SUITE_SECONDS = 180


@pytest.fixture(scope="module")
def package(every_shape_generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture spec's TypeScript package, built."""
    skip_unless_required(missing_node_tools())
    into = tmp_path_factory.mktemp("every-shape-ts") / "northflank-build"
    return build_typescript_package(into, every_shape_generated / "typescript")


def run(
    command: list[str | Path], cwd: Path, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """A Node run with no NORTHFLANK_* settings of the caller's, and the recording server's."""
    env = {k: v for k, v in node_env().items() if not k.startswith("NORTHFLANK_")}
    env.update(NF_PYTHON=sys.executable, NF_ROOT=str(ROOT), NO_COLOR="1", **extra_env)
    return run_node(command, cwd, env, timeout)


@pytest.mark.parametrize("tsconfig", ["tsconfig.json", "tsconfig.cjs.json"])
def test_the_package_type_checks_strictly(package: Path, tsconfig: str) -> None:
    done = run([TOOLS_BIN / "tsc", "--strict", "--noEmit", "-p", package / tsconfig], package)
    assert done.returncode == 0, shown(done)


def test_a_users_typescript_compiles_against_the_declarations(
    package: Path, tmp_path: Path
) -> None:
    """``typed_usage.ts`` type-checks, its ``@ts-expect-error`` lines included."""
    app = tmp_path / "app"
    (app / "node_modules").mkdir(parents=True)
    (app / "node_modules" / "northflank-build").symlink_to(package, target_is_directory=True)
    shutil.copy(TS_TESTS / "typed_usage.ts", app / "typed_usage.ts")
    (app / "package.json").write_text('{"private": true, "type": "module"}', encoding="utf-8")
    compiler_options = {
        "strict": True,
        "noEmit": True,
        "exactOptionalPropertyTypes": True,
        "noUncheckedIndexedAccess": True,
        "target": "ES2022",
        "lib": ["ES2022", "DOM"],
        "types": [],
        "module": "NodeNext",
        "moduleResolution": "NodeNext",
    }
    tsconfig = {"compilerOptions": compiler_options, "files": ["typed_usage.ts"]}
    (app / "tsconfig.json").write_text(json.dumps(tsconfig), encoding="utf-8")
    done = run([TOOLS_BIN / "tsc", "-p", app / "tsconfig.json"], app)
    assert done.returncode == 0, shown(done)


def test_shared_models_are_imported_and_declared_once(every_shape_generated: Path) -> None:
    src = every_shape_generated / "typescript" / "src"
    client = (src / "client.ts").read_text(encoding="utf-8")
    imported = re.findall(r"^  (\w+),$", client, re.M)
    assert "WidgetRequest" in imported  # createWidget and putWidget both send one
    assert "validateWidgetResponse" in imported  # five operations answer with one
    assert len(imported) == len(set(imported)), imported
    for module in ("types.ts", "validate.ts", "client.ts"):
        text = (src / module).read_text(encoding="utf-8")
        declared = re.findall(r"^export (?:interface|type|const|class) (\w+)", text, re.M)
        assert len(declared) == len(set(declared)), (module, declared)
    types = (src / "types.ts").read_text(encoding="utf-8")
    assert "export type WidgetSize = 1 | 2 | 3 | 5;" in types  # the enum narrowed by its maximum


def summary(output: str) -> dict[str, int]:
    """The counts at the end of Node's spec reporter: ``tests 12``, ``pass 12``..."""
    found = re.findall(r"^\S+ (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)
    return {name: int(count) for name, count in found}


def test_node_suite_against_the_recording_server(package: Path) -> None:
    files = sorted(TS_TESTS.glob("*.test.mjs"))
    assert files, f"no tests in {TS_TESTS}"
    node = shutil.which("node")
    assert node is not None
    command = [node, "--test", "--test-reporter=spec", *files]
    done = run(command, ROOT, timeout=NODE_SUITE_SECONDS, NF_TS_PACKAGE=str(package))
    assert done.returncode == 0, shown(done)
    counts = summary(done.stdout)
    assert counts.get("tests", 0) >= 20, shown(done)
    assert counts.get("fail") == 0, shown(done)
    assert counts.get("cancelled") == 0, shown(done)
    assert counts.get("skipped") == 0, shown(done)
