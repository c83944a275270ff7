"""Every example of the READMEs runs as printed, against the sandbox of the README's quick start.

The READMEs are ``README.md``, ``generated/python/README.md`` and
``generated/typescript/README.md``; `tests.readme_blocks` says which fenced blocks
run and how their output is checked. In short:

* a block whose first line is ``# not run by the tests: REASON`` (``//`` in
  TypeScript) is skipped, with that reason in the report;
* a ``# => TEXT`` comment (``// => TEXT``) shows a line of output, ``...`` standing
  for any text; the shown lines must come out in order;
* the Python blocks of one file continue each other (one namespace, in order).

The sandbox is the one a reader starts: ``python -m sandbox quickstart`` (what
``nox -s sandbox`` runs), here on a free port, started once per module in a
folder of its own. Each shell and TypeScript block runs in a fresh folder holding
that quick start's ``.sandbox/env``, with its exports in the environment, as in a
fresh shell after ``source .sandbox/env``: shell blocks with ``bash -euo pipefail``
(``nf-build`` on ``PATH``), TypeScript ones as an ES module under real Node with the
built package as ``northflank-build``. Each runs twice, so a second run meets what
the first left (no 409 surprise); the Python blocks of a file run as two passes.
The "Try it" examples also run together, shuffled.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import NF_BUILD
from tests.live_sandbox import ROOT
from tests.readme_blocks import Block, missing_output, read_blocks
from tests.typescript_build import node_env

READMES = {
    "README.md": ROOT / "README.md",
    "generated/python/README.md": ROOT / "generated" / "python" / "README.md",
    "generated/typescript/README.md": ROOT / "generated" / "typescript" / "README.md",
}
BLOCKS = [block for name, path in READMES.items() for block in read_blocks(path, name)]
RUN_SECONDS = 60
START_SECONDS = 30
PASSES = 2
TRY_IT = "## Try it in five minutes"


@dataclass(frozen=True)
class QuickStart:
    """A running ``python -m sandbox quickstart``: its folder and the exports it wrote."""

    folder: Path
    exports: dict[str, str]
    printed: str


def _exports(env_file: Path) -> dict[str, str]:
    """What ``source ENV_FILE`` sets, read by bash itself."""
    done = subprocess.run(
        ["bash", "-c", 'source "$1" && env -0', "bash", str(env_file)],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        check=True,
        timeout=RUN_SECONDS,
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return {name: value for name, value in pairs if name.startswith("NORTHFLANK_")}


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickStart]:
    folder = tmp_path_factory.mktemp("quickstart")
    log = folder / "quickstart.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "sandbox", "quickstart", "--port", "0"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--quiet", "--rate-limit", "off"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    env_file = folder / ".sandbox" / "env"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not env_file.exists() or "Ctrl-C" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the quick start did not hand over:\n{log.read_text()}")
            time.sleep(0.05)
        yield QuickStart(folder, _exports(env_file), log.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def _fresh_folder(tmp_path: Path, quickstart: QuickStart) -> Path:
    """A folder as a reader's checkout has it after the quick start: ``.sandbox/env``."""
    (tmp_path / ".sandbox").mkdir()
    shutil.copy2(quickstart.folder / ".sandbox" / "env", tmp_path / ".sandbox" / "env")
    return tmp_path


def _env(folder: Path, quickstart: QuickStart, **extra: str) -> dict[str, str]:
    """This environment without its own NORTHFLANK_* values, plus the quick start's exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHFLANK_", "NF_BUILD"))}
    path = os.pathsep.join([str(NF_BUILD.parent), node_env()["PATH"]])
    return {
        **env,
        **quickstart.exports,
        "PATH": path,
        "XDG_CONFIG_HOME": str(folder / "config"),  # nf-build's contexts stay in the folder
        "NO_COLOR": "1",
        "COLUMNS": "80",
        **extra,
    }


def _run(command: list[str], folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        stdin=subprocess.DEVNULL,
        timeout=RUN_SECONDS,
        check=False,
    )


def _require_curl(block: Block) -> None:
    if "curl " not in block.code or shutil.which("curl") is not None:
        return
    if os.environ.get("NF_REQUIRE_BROWSER") == "1":
        pytest.fail("missing curl (NF_REQUIRE_BROWSER=1 forbids skipping)")
    pytest.skip("missing curl")


def _run_block(
    block: Block, folder: Path, quickstart: QuickStart, request: pytest.FixtureRequest
) -> subprocess.CompletedProcess[str]:
    """One shell or TypeScript block, as printed, the way a reader runs it."""
    env = _env(folder, quickstart)
    if block.language == "sh":
        _require_curl(block)
        return _run(["bash", "-euo", "pipefail", "-c", block.code], folder, env)
    package: Path = request.getfixturevalue("typescript_package")
    modules = folder / "node_modules"
    if not modules.exists():
        modules.mkdir()
        (modules / "northflank-build").symlink_to(package, target_is_directory=True)
    script = folder / "example.mjs"
    script.write_text(block.code, encoding="utf-8")
    return _run(["node", str(script)], folder, env)


def _assert_ran(block: Block, done: subprocess.CompletedProcess[str], attempt: int) -> None:
    shown = f"{block.id}, run {attempt}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, shown
    assert missing_output(block.shown_output, done.stdout) == [], shown


def _skip_not_run(block: Block) -> None:
    if (reason := block.not_run_because) is not None:
        pytest.skip(f"not run by the tests: {reason}")


# --------------------------------------------------------------------------- the blocks


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.language != "python"],
    ids=lambda b: b.id,
)
def test_shell_and_typescript_blocks_run_as_printed(
    block: Block, quickstart: QuickStart, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _skip_not_run(block)
    folder = _fresh_folder(tmp_path, quickstart)
    for attempt in (1, 2):
        _assert_ran(block, _run_block(block, folder, quickstart, request), attempt)


_NAMESPACE_RUNNER = """
import contextlib, io, json, sys, traceback

blocks = json.load(open(sys.argv[1], encoding="utf-8"))
results = []
for pass_number in range({passes}):
    namespace = {{"__name__": "__main__"}}
    for block in blocks:
        out = io.StringIO()
        error = None
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(block["code"], block["id"], "exec"), namespace)
        except BaseException:
            error = traceback.format_exc()
        results.append({{"id": block["id"], "pass": pass_number + 1,
                         "stdout": out.getvalue(), "error": error}})
json.dump(results, open(sys.argv[2], "w", encoding="utf-8"))
"""


@pytest.fixture(scope="module")
def python_runs(
    quickstart: QuickStart, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """Each README's Python blocks in one namespace, in order, twice: each block's runs."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in READMES:
        blocks = [b for b in BLOCKS if b.file == name and b.language == "python"]
        blocks = [b for b in blocks if b.not_run_because is None]
        if not blocks:
            continue
        folder = _fresh_folder(tmp_path_factory.mktemp("python"), quickstart)
        source = folder / "blocks.json"
        source.write_text(json.dumps([{"id": b.id, "code": b.code} for b in blocks]))
        runner = folder / "run_blocks.py"
        runner.write_text(_NAMESPACE_RUNNER.format(passes=PASSES), encoding="utf-8")
        results = folder / "results.json"
        done = _run(
            [sys.executable, str(runner), str(source), str(results)],
            folder,
            _env(folder, quickstart),
        )
        assert done.returncode == 0, done.stderr
        for result in json.loads(results.read_text()):
            runs.setdefault(result["id"], []).append(result)
    return runs


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.language == "python"],
    ids=lambda b: b.id,
)
def test_python_blocks_run_as_printed(
    block: Block, python_runs: dict[str, list[dict[str, Any]]]
) -> None:
    _skip_not_run(block)
    for run in python_runs[block.id]:
        shown = f"{block.id}, pass {run['pass']}:\n{run['stdout']}\n{run['error'] or ''}"
        assert run["error"] is None, shown
        assert missing_output(block.shown_output, run["stdout"]) == [], shown


# --------------------------------------------------------------------------- the quick start


def _try_it_blocks() -> list[Block]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(TRY_IT) + 1
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("## ")) + 1
    readme = [b for b in BLOCKS if b.file == "README.md" and start < b.line < end]
    return [b for b in readme if b.not_run_because is None]


def test_try_it_has_every_surface() -> None:
    """curl, nf-build, Python and TypeScript, each in a block of its own, after the exports."""
    blocks = _try_it_blocks()
    assert blocks[0].code.startswith("source .sandbox/env"), blocks[0]
    codes = [b.code for b in blocks[1:]]
    assert [b.language for b in blocks[1:]] == ["sh", "sh", "python", "ts"]
    assert "curl " in codes[0]
    assert "nf-build " in codes[1]


@pytest.mark.parametrize("seed", [1, 2])
def test_try_it_examples_in_any_order(
    quickstart: QuickStart, tmp_path: Path, request: pytest.FixtureRequest, seed: int
) -> None:
    """The four "Try it" examples on one sandbox, shuffled: none fails, none meets a 409."""
    order = _try_it_blocks()[1:]
    random.Random(seed).shuffle(order)
    folder = _fresh_folder(tmp_path, quickstart)
    for block in order:
        if block.language == "python":
            script = folder / "example.py"
            script.write_text(block.code, encoding="utf-8")
            done = _run([sys.executable, str(script)], folder, _env(folder, quickstart))
        else:
            done = _run_block(block, folder, quickstart, request)
        _assert_ran(block, done, 1)


def test_quickstart_prints_what_it_writes(quickstart: QuickStart) -> None:
    """The three exports, printed for pasting and written to ``.sandbox/env`` (owner only)."""
    env_file = quickstart.folder / ".sandbox" / "env"
    assert set(quickstart.exports) == {
        "NORTHFLANK_BASE_URL",
        "NORTHFLANK_API_TOKEN",
        "NORTHFLANK_PROJECT_ID",
    }
    assert quickstart.exports["NORTHFLANK_PROJECT_ID"] == "default-project"
    assert quickstart.exports["NORTHFLANK_BASE_URL"].startswith("http://127.0.0.1:")
    header, *exports = env_file.read_text().splitlines()
    assert header.startswith("# python -m sandbox quickstart: token tok_")  # for the next start
    for line in exports:
        assert f"  {line}\n" in quickstart.printed
    assert "source .sandbox/env" in quickstart.printed
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_quickstart_token_can_do_what_the_examples_do_and_no_more(
    quickstart: QuickStart, tmp_path: Path
) -> None:
    """Its token has the four service permissions in the project: not the admin's ``*``."""
    import httpx

    url = quickstart.exports["NORTHFLANK_BASE_URL"]
    token = quickstart.exports["NORTHFLANK_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(f"{url}/v1/projects/default-project/services", headers=headers)
    assert listed.status_code == 200, listed.text
    elsewhere = httpx.get(f"{url}/v1/projects/another-project/services", headers=headers)
    assert elsewhere.status_code in (403, 404), elsewhere.text


def test_every_readme_has_runnable_blocks() -> None:
    """A parser that finds nothing would pass everything: each file has blocks that run."""
    for name in READMES:
        runnable = [b for b in BLOCKS if b.file == name and b.not_run_because is None]
        assert runnable, name
