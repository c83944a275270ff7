"""The published artefacts: build the sdist and wheel, install the wheel, use it.

The wheel is built here from ``generated/python`` (sdist first, then the wheel
from the sdist, as ``python -m build`` does, so a file missing from the sdist
breaks the wheel too), installed into a fresh virtual environment of its own,
and driven from there against a live sandbox: the package must work with
nothing of this repository on ``sys.path``, and so must its ``nf-build``
console script, run from the venv's own bin directory.

The fresh environment resolves the dependencies (click, httpx, pydantic, pyyaml,
typing-extensions) from the package index, held to the versions this test
environment has (a constraints file), so the installer's cache usually answers.
uv is used when it is on PATH (the module takes about 10 s), else ``venv`` and
pip (about 20 s).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import northflank_build  # the repository's copy, to compare the installed one with
import pytest

from tests.live_sandbox import ROOT, LiveSandbox
from tests.spec_data import example

DISTRIBUTION = "northflank-build"
PACKAGE = "northflank_build"
# The packages' version, from release.toml (the spec's info.version is the API's).
VERSION = str(tomllib.loads((ROOT / "release.toml").read_text(encoding="utf-8"))["version"])
STEM = f"{PACKAGE}-{VERSION}"
TIMEOUT = 300  # seconds for one build or install; each takes a few


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Venv:
    root: Path
    python: Path

    @property
    def nf_build(self) -> Path:
        """The console script the wheel installs, next to the venv's interpreter."""
        return self.python.with_name("nf-build.exe" if os.name == "nt" else "nf-build")

    def run(self, code: str, *, cwd: Path, env: dict[str, str] | None = None) -> str:
        """Run ``code`` with the venv's interpreter in isolated mode (no PYTHONPATH, no cwd)."""
        done = subprocess.run(
            [str(self.python), "-I", "-c", code],
            cwd=cwd,
            env={**_clean_env(), **(env or {})},
            capture_output=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point Python or the client elsewhere."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith("NORTHFLANK_")
    }


def _run(*command: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    installer = ["--installer", "uv"] if shutil.which("uv") else []
    _run(sys.executable, "-m", "build", *installer, "--outdir", out, "generated/python", cwd=ROOT)
    return Dists(wheel=out / f"{STEM}-py3-none-any.whl", sdist=out / f"{STEM}.tar.gz")


@pytest.fixture(scope="module")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with the wheel installed; its dependencies at this environment's versions."""
    base = tmp_path_factory.mktemp("venv")
    root = base / "venv"
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    constraints = base / "constraints.txt"
    pins: dict[str, str] = {}
    for dist in importlib.metadata.distributions():  # the first of a name is the one imported
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        if name and name != DISTRIBUTION:
            pins.setdefault(name, dist.version)
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())), "utf-8")
    uv = shutil.which("uv")
    install: list[str | Path]
    if uv is not None:
        _run(uv, "venv", "--quiet", "--python", sys.executable, root, cwd=base)
        install = [uv, "pip", "install", "--quiet", "--python", python]
    else:
        _run(sys.executable, "-m", "venv", root, cwd=base)
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(*install, "--constraint", constraints, dists.wheel, cwd=base)
    return Venv(root, python)


def test_wheel_holds_the_package_and_its_metadata(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = HeaderParser().parsestr(wheel.read(f"{STEM}.dist-info/METADATA").decode())
        entry_points = wheel.read(f"{STEM}.dist-info/entry_points.txt").decode()
    assert {f"{PACKAGE}/__init__.py", f"{PACKAGE}/py.typed", f"{PACKAGE}/models.py"} <= names
    assert {name.split("/")[0] for name in names} == {PACKAGE, f"{STEM}.dist-info"}
    assert metadata["Name"] == DISTRIBUTION
    assert metadata["Version"] == VERSION
    assert metadata["Description-Content-Type"] == "text/markdown"
    requires = {re.split(r"[<>=!~; ]", r)[0] for r in metadata.get_all("Requires-Dist") or []}
    assert requires == {"click", "httpx", "pydantic", "pyyaml", "typing-extensions"}
    assert "[console_scripts]\nnf-build = northflank_build._cli:main\n" in entry_points
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])


def test_sdist_holds_the_sources_readme_and_pyproject(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as sdist:
        names = set(sdist.getnames())
    expected = {"pyproject.toml", "README.md", "PKG-INFO", f"{PACKAGE}/py.typed"}
    assert {f"{STEM}/{name}" for name in expected} <= names
    assert f"{STEM}/{PACKAGE}/_client.py" in names


def test_installed_package_comes_from_the_venv_with_the_whole_public_api(
    venv: Venv, tmp_path: Path
) -> None:
    probe = (
        "import json, importlib.resources, northflank_build as nb;"
        "print(json.dumps({'file': nb.__file__, 'version': nb.__version__,"
        " 'all': nb.__all__, 'missing': [n for n in nb.__all__ if not hasattr(nb, n)],"
        " 'typed': importlib.resources.files(nb).joinpath('py.typed').is_file()}))"
    )
    found = json.loads(venv.run(probe, cwd=tmp_path))
    assert Path(found["file"]).resolve().is_relative_to(venv.root.resolve())
    assert found["version"] == VERSION
    assert found["missing"] == []
    assert found["typed"] is True
    assert sorted(found["all"]) == sorted(northflank_build.__all__)
    assert {"Client", "AsyncClient", "ConflictError", "RequestValidationError"} <= set(found["all"])


CREATE = """
import json, os, sys
import northflank_build
from northflank_build import BuildService, Client

body = json.loads(sys.stdin.read())
with Client(token=os.environ["SANDBOX_TOKEN"], base_url=os.environ["SANDBOX_URL"]) as client:
    service = client.create.service.build(project_id="default-project", data=body)
assert isinstance(service, BuildService), type(service)
print(json.dumps({"id": service.id, "file": northflank_build.__file__}))
"""


def test_installed_client_creates_a_service_in_the_sandbox(
    venv: Venv, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(venv.python), "-I", "-c", CREATE],
        input=json.dumps(example("request", "dockerfileBuild")),
        cwd=tmp_path,
        env={**_clean_env(), "SANDBOX_TOKEN": sandbox.admin_token, "SANDBOX_URL": sandbox.url},
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    created = json.loads(done.stdout)
    assert created["id"] == "example-service"
    assert Path(created["file"]).resolve().is_relative_to(venv.root.resolve())


def test_readme_quick_start_runs_as_printed(
    dists: Dists, venv: Venv, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    """The README the wheel carries: its quick start, token and URL from the environment."""
    with zipfile.ZipFile(dists.wheel) as wheel:
        readme = wheel.read(f"{STEM}.dist-info/METADATA").decode()
    quick_start = re.search(r"^## Quick start\n.*?^```python\n(.*?)^```", readme, re.S | re.M)
    assert quick_start is not None, "the README has no quick start"
    env = {"NORTHFLANK_API_TOKEN": sandbox.admin_token, "NORTHFLANK_BASE_URL": sandbox.url}
    assert venv.run(quick_start[1], cwd=tmp_path, env=env).strip() == "example-service"


def _nf_build(venv: Venv, *args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run the venv's ``nf-build``, no colour and its own (empty) context file; its stdout."""
    done = subprocess.run(
        [str(venv.nf_build), *args],
        cwd=cwd,
        env={**_clean_env(), "NO_COLOR": "1", "NF_BUILD_CONFIG": str(cwd / "config.json"), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_installed_cli_is_the_venvs_and_reports_its_version(venv: Venv, tmp_path: Path) -> None:
    assert venv.nf_build.is_file()
    if os.name != "nt":
        shebang = venv.nf_build.read_text(encoding="utf-8").splitlines()[0]
        assert shebang.startswith("#!")
        assert Path(shebang[2:].strip()).parent == venv.python.parent
    assert _nf_build(venv, "--version", cwd=tmp_path, env={}) == f"nf-build, version {VERSION}\n"


def test_installed_cli_creates_a_service_in_the_sandbox(
    venv: Venv, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    body = tmp_path / "example.json"
    body.write_text(json.dumps(example("request", "dockerfileBuild")), encoding="utf-8")
    env = {"NORTHFLANK_API_TOKEN": sandbox.admin_token, "NORTHFLANK_BASE_URL": sandbox.url}
    args = ("create", "service", "build", "--project-id", "default-project", "-f", body.name)
    out = _nf_build(venv, *args, "-o", "json", cwd=tmp_path, env=env)
    created = json.loads(out)
    assert created["id"] == "example-service"
    assert created["name"] == "Example Service"
    assert created["serviceType"] == "build"
