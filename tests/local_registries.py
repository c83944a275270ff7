"""Real package registries on 127.0.0.1 for the publishing round trip: pypiserver and Verdaccio.

Both keep their packages in a temporary folder and reach nothing outside:
pypiserver runs with ``--disable-fallback`` (it never redirects to PyPI), and
Verdaccio's configuration has no uplinks. Each listens on a free port found
just before it starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.live_sandbox import ROOT

__all__ = ["REGISTRY_TOOLS", "Registry", "start_pypiserver", "start_verdaccio"]

REGISTRY_TOOLS = ROOT / "tools" / "registry"
VERDACCIO = REGISTRY_TOOLS / "node_modules" / "verdaccio" / "bin" / "verdaccio"
_STARTUP_SECONDS = 60.0
_VERDACCIO_CONFIG = """\
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: -1
uplinks: {{}}
packages:
  "northflank-build":
    access: $all
    publish: $anonymous $authenticated
  "**":
    access: $all
web:
  enable: false
log: {{type: stdout, format: pretty, level: warn}}
"""


@dataclass
class Registry:
    """A running registry: its base URL, its process and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop the registry and everything it started: ``node`` may be a launcher in
        front of the real one, which a signal to the launcher alone would leave running."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return  # the whole group is gone already
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.process.poll()
            try:
                os.killpg(self.process.pid, 0)  # anyone left in the group?
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(command: list[str], folder: Path, url: str, ready_path: str) -> Registry:
    log = folder / "registry.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    registry = Registry(url, process, log)
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited at start:\n{registry.output()}")
        try:
            with urllib.request.urlopen(url + ready_path, timeout=2):
                return registry
        except urllib.error.HTTPError:
            return registry  # it answers: a 404 for an unknown package is fine
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    registry.stop()
    raise RuntimeError(f"{command[0]} did not answer in {_STARTUP_SECONDS} s:\n{registry.output()}")


def start_pypiserver(folder: Path) -> Registry:
    """pypiserver over ``folder/packages``; uploads need no password (``-a . -P .``)."""
    packages = folder / "packages"
    packages.mkdir(parents=True)
    port = _free_port()
    command = [
        sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port", str(port),
        "-a", ".", "-P", ".", "--disable-fallback", str(packages),
    ]  # fmt: skip
    return _start(command, folder, f"http://127.0.0.1:{port}/", "simple/")


def start_verdaccio(folder: Path) -> Registry:
    """Verdaccio 6.8.0 from tools/registry, with no uplinks; anyone may publish northflank-build."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    config.write_text(
        _VERDACCIO_CONFIG.format(storage=folder / "storage", htpasswd=folder / "htpasswd"),
        encoding="utf-8",
    )
    node = shutil.which("node")
    if node is None or not VERDACCIO.exists():
        raise RuntimeError("Verdaccio needs node and `npm ci --prefix tools/registry`")
    port = _free_port()
    command = [node, str(VERDACCIO), "--config", str(config), "--listen", f"127.0.0.1:{port}"]
    return _start(command, folder, f"http://127.0.0.1:{port}/", "-/ping")


def npm_userconfig(folder: Path, registry: Registry) -> Path:
    """An npm config whose token for the registry is a placeholder: npm sends none otherwise,
    and Verdaccio lets anonymous users publish this package."""
    host = registry.url.removeprefix("http:")
    path = folder / "npmrc"
    path.write_text(f"{host}:_authToken=anonymous-publisher\n", encoding="utf-8")
    return path


def without_python_overrides() -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}
