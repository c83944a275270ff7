"""The README's direct install, as a reader without nox follows it, and `pip install -e .`.

The install lines are read from README.md (the block that names this file), not
copied here: a fresh venv made by ``python -m venv`` with the pip it brings (the
interpreter's bundled one, 23.2 on Python 3.11: no ``--group``) runs its pip line
in a copy of the checkout, then its ``python -m sandbox quickstart`` line serves,
and a put, a list and a delete go through over real HTTP. The package index must be
reachable, as in CI. `pip install -e .` at the root must end with the message that
says what to run instead, and no traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_sandbox import ROOT, create_body
from tests.readme_blocks import Block, read_blocks

INSTALL_SECONDS = 600
START_SECONDS = 60
THIS_FILE = "tests/test_direct_install.py"


def _install_block() -> Block:
    blocks = read_blocks(ROOT / "README.md", "README.md")
    named = [b for b in blocks if b.not_run_because and f"{THIS_FILE} runs it" in b.code]
    assert len(named) == 1, f"README.md has {len(named)} blocks saying {THIS_FILE} runs them"
    return named[0]


def _commands(block: Block) -> list[str]:
    """The block's commands, continuation lines joined, comments dropped."""
    joined = block.code.replace("\\\n", " ")
    lines = [shlex.split(line, comments=True) for line in joined.splitlines()]
    return [shlex.join(words) for words in lines if words]


def _command(block: Block, starts: str) -> list[str]:
    found = [c for c in _commands(block) if c.startswith(starts)]
    assert len(found) == 1, (starts, _commands(block))
    return shlex.split(found[0])


def test_install_line_pins_the_sandbox_group() -> None:
    """The README's requirements are the ``sandbox`` group of pyproject.toml, plus the package."""
    pip = _command(_install_block(), "pip install")
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["sandbox"]
    assert pip[2:] == ["./generated/python", *group]


def _checkout_copy(into: Path) -> Path:
    """What the direct install reads of a checkout, without what builds leave in it."""
    leftovers = shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", "node_modules", "*.db*"
    )
    for part in ("generated", "sandbox", "spec"):
        shutil.copytree(ROOT / part, into / part, ignore=leftovers)
    return into


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Path:
    """A venv of the machine's Python, with the pip that ``python -m venv`` brings."""
    base = getattr(sys, "_base_executable", sys.executable)
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=INSTALL_SECONDS)
    return venv


def _venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


@pytest.fixture
def served(tmp_path: Path, fresh_venv: Path) -> Iterator[dict[str, str]]:
    """The README's pip line, then its quickstart line (on a free port): the exports."""
    block = _install_block()
    checkout = _checkout_copy(tmp_path / "checkout")
    env = _venv_env(fresh_venv)
    pip = subprocess.run(
        _command(block, "pip install"),
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    log = tmp_path / "quickstart.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*_command(block, "python -m sandbox"), "--port", "0", "--quiet"],
            cwd=checkout,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    env_file = checkout / ".sandbox" / "env"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not env_file.exists() or "Ctrl-C" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sandbox did not start:\n{log.read_text()}")
            time.sleep(0.1)
        exports = re.findall(r"^export (\w+)=(\S+)$", env_file.read_text(), re.MULTILINE)
        yield {name: shlex.split(value)[0] for name, value in exports}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


@pytest.mark.slow
def test_readme_direct_install_serves_the_sandbox(served: dict[str, str]) -> None:
    services = (
        f"{served['NORTHFLANK_BASE_URL']}/v1/projects/{served['NORTHFLANK_PROJECT_ID']}/services"
    )
    headers = {"Authorization": f"Bearer {served['NORTHFLANK_API_TOKEN']}"}
    put = httpx.put(f"{services}/build", json=create_body("Direct Install"), headers=headers)
    assert put.status_code == 200, put.text
    listed = httpx.get(services, headers=headers)
    assert [s["id"] for s in listed.json()["data"]["services"]] == ["direct-install"]
    gone = httpx.delete(f"{services}/direct-install", headers=headers)
    assert gone.status_code == 200, gone.text


def test_editable_install_at_the_root_says_what_to_run_instead(fresh_venv: Path) -> None:
    """The root is a workspace: pip ends with our message, and no Python traceback."""
    done = subprocess.run(
        [str(fresh_venv / "bin" / "pip"), "install", "--no-index", "-e", "."],
        cwd=ROOT,
        env=_venv_env(fresh_venv),
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "not a package" in output, output
    assert "pip install ./generated/python" in output, output
    assert "nox -s sandbox" in output, output
    assert "Traceback" not in output, output
