"""`python -m sandbox quickstart`, started twice in one folder: one live token, not two."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live_sandbox import ROOT

START_SECONDS = 60
DB = ".sandbox/sandbox.db"


def _quickstart(folder: Path) -> str:
    """Start a quickstart in ``folder``, wait for its hand-over, stop it; its output."""
    log = folder / "quickstart.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "quickstart", "--port", "0", "--quiet"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while "Ctrl-C" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the quick start did not hand over:\n{log.read_text()}")
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert status == 0, log.read_text()  # SIGTERM right after the hand-over: a clean stop
    return log.read_text()


def _token_id(env_file: Path) -> str:
    text = env_file.read_text()
    match = re.match(r"# python -m sandbox quickstart: token (tok_[0-9a-f]+);", text)
    assert match, text
    return match[1]


def _tokens(folder: Path) -> list[list[str]]:
    """`token list`'s rows after the header: id, created, revoked, label, ..."""
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "token", "list", "--db", DB],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    return [line.split() for line in done.stdout.splitlines()[1:]]


def test_a_second_quickstart_revokes_the_first_ones_token(tmp_path: Path) -> None:
    _quickstart(tmp_path)
    env_file = tmp_path / ".sandbox" / "env"
    first_id = _token_id(env_file)
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    _quickstart(tmp_path)
    second_id = _token_id(env_file)
    assert second_id != first_id
    quickstart_rows = {row[0]: row for row in _tokens(tmp_path) if "quickstart" in row}
    assert set(quickstart_rows) == {first_id, second_id}
    assert quickstart_rows[first_id][2] != "-"  # revoked
    assert quickstart_rows[second_id][2] == "-"  # live

    # The env file still sources as before: the header is a comment.
    sourced = subprocess.run(
        ["bash", "-c", 'source "$1" && printf %s "$NORTHFLANK_API_TOKEN"', "bash", str(env_file)],
        capture_output=True,
        encoding="utf-8",
        check=True,
        timeout=30,
    )
    assert sourced.stdout.startswith("nfsb_")


def test_an_env_file_revoked_by_hand_is_left_be(tmp_path: Path) -> None:
    _quickstart(tmp_path)
    env_file = tmp_path / ".sandbox" / "env"
    first_id = _token_id(env_file)
    subprocess.run(
        [sys.executable, "-m", "sandbox", "token", "revoke", "--db", DB, first_id],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=True,
        timeout=60,
    )
    printed = _quickstart(tmp_path)
    assert "error" not in printed.lower()
    assert "Traceback" not in printed
