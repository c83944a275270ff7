"""The generated TypeScript package, built by its own ``npm run build``, for the Node tests.

The compiler is the pinned one of ``tools/node`` (installed by ``nox -s tests``),
put first on ``PATH`` so the package's build script finds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live_sandbox import ROOT

__all__ = [
    "GENERATED_TYPESCRIPT",
    "TOOLS_BIN",
    "build_typescript_package",
    "missing_node_tools",
    "node_env",
    "run",
    "shown",
    "skip_unless_required",
]

GENERATED_TYPESCRIPT = ROOT / "generated" / "typescript"
TOOLS_BIN = ROOT / "tools" / "node" / "node_modules" / ".bin"


def node_env(**extra: str) -> dict[str, str]:
    """This environment with the pinned Node tools first on ``PATH``."""
    return {**os.environ, "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def missing_node_tools() -> list[str]:
    """What building and running the TypeScript package needs and this machine lacks."""
    wanted = (
        ("node on PATH", shutil.which("node") is not None),
        ("npm on PATH", shutil.which("npm") is not None),
        ("tools/node (npm ci --prefix tools/node)", (TOOLS_BIN / "tsc").exists()),
    )
    return [what for what, present in wanted if not present]


def skip_unless_required(missing: list[str], flag: str = "NF_REQUIRE_NODE") -> None:
    """Skip the test for what is missing, or fail it when ``flag=1`` forbids skipping."""
    if not missing:
        return
    why = f"missing {', '.join(missing)}"
    if os.environ.get(flag) == "1":
        pytest.fail(f"{why} ({flag}=1 forbids skipping)")
    pytest.skip(why)


def build_typescript_package(into: Path, source: Path = GENERATED_TYPESCRIPT) -> Path:
    """A copy of ``source`` (``generated/typescript``) in ``into``, built to ``dist/esm`` and
    ``dist/cjs``."""
    if not (TOOLS_BIN / "tsc").exists():
        raise RuntimeError("tools/node is not installed: run `npm ci --prefix tools/node`")
    shutil.copytree(source, into)
    done = subprocess.run(
        ["npm", "run", "--silent", "build"],
        cwd=into,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm run build failed:\n{done.stdout}\n{done.stderr}")
    return into


def run(
    command: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A Node tool's run, text captured; ``env`` defaults to `node_env`."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env if env is not None else node_env(),
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def shown(done: subprocess.CompletedProcess[str]) -> str:
    """A finished run's exit code and output, for an assertion message."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
