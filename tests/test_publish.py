"""Publishing: both packages uploaded to real local registries, installed back and used.

pypiserver and Verdaccio run on 127.0.0.1 (tests/local_registries.py);
``python -m codegen.publish``, what ``nox -s publish`` runs, uploads the wheel
and sdist with twine and the tarball with ``npm publish``. Then ``pip install
--index-url`` and ``npm install --registry`` put them in fresh folders, each
makes one call against a live sandbox, and a second publish is refused because
the version exists. Before that, a publish whose ``npm publish`` fails is finished
by running it again: the wheel and sdist, already there, are skipped. The
artefacts are built as ``nox -s build`` builds them, and each must carry the
project's LICENSE.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

import codegen.publish as publish
from codegen.package_version import read_package_version
from tests.live_sandbox import ROOT, LiveSandbox
from tests.local_registries import (
    VERDACCIO,
    Registry,
    npm_userconfig,
    start_pypiserver,
    start_verdaccio,
    without_python_overrides,
)
from tests.spec_data import example
from tests.typescript_build import (
    build_typescript_package,
    missing_node_tools,
    node_env,
    skip_unless_required,
)

VERSION = str(read_package_version())
LICENSE = (ROOT / "LICENSE").read_text("utf-8")
TIMEOUT = 300


@dataclass(frozen=True)
class Dist:
    folder: Path
    wheel: Path
    sdist: Path
    tarball: Path


def _run(command: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env or without_python_overrides(),
        capture_output=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The three artefacts, built as `nox -s build` builds them."""
    skip_unless_required(missing_node_tools())
    folder = tmp_path_factory.mktemp("dist")
    installer = ["--installer", "uv"] if shutil.which("uv") else []
    _run([sys.executable, "-m", "build", *installer, "--outdir", folder, "generated/python"], ROOT)
    package = build_typescript_package(tmp_path_factory.mktemp("ts") / "typescript")
    _run(
        ["npm", "pack", package, "--ignore-scripts", "--pack-destination", folder,
         "--loglevel", "warn"],
        ROOT, node_env(),
    )  # fmt: skip
    stem = f"northflank_build-{VERSION}"
    return Dist(
        folder,
        folder / f"{stem}-py3-none-any.whl",
        folder / f"{stem}.tar.gz",
        folder / f"northflank-build-{VERSION}.tgz",
    )


# --------------------------------------------------------------------------- the artefacts


def test_the_wheel_ships_the_license_and_complete_metadata(dist: Dist) -> None:
    stem = f"northflank_build-{VERSION}"
    with zipfile.ZipFile(dist.wheel) as wheel:
        assert wheel.read(f"{stem}.dist-info/licenses/LICENSE").decode().endswith(LICENSE)
        metadata = HeaderParser().parsestr(wheel.read(f"{stem}.dist-info/METADATA").decode())
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert "northflank" in (metadata["Keywords"] or "").split(",")
    assert "Development Status :: 5 - Production/Stable" in metadata.get_all("Classifier")


def test_the_sdist_ships_the_license(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        member = sdist.extractfile(f"northflank_build-{VERSION}/LICENSE")
        assert member is not None
        assert member.read().decode().endswith(LICENSE)


def test_the_npm_tarball_ships_the_license_and_complete_metadata(dist: Dist) -> None:
    with tarfile.open(dist.tarball) as tarball:
        member = tarball.extractfile("package/LICENSE")
        assert member is not None
        assert member.read().decode().endswith(LICENSE)
        manifest = tarball.extractfile("package/package.json")
        assert manifest is not None
        package = json.loads(manifest.read())
    assert package["license"] == "MIT"
    assert package["engines"]["node"]
    assert package["types"] == "./dist/esm/index.d.ts"
    assert set(package["exports"]["."]) == {"import", "require"}
    assert "LICENSE" in package["files"]
    assert package["repository"]["url"].startswith("git+https://")
    assert package["bugs"]["url"].endswith("/issues")
    assert not package.get("dependencies")  # nothing to fetch at install time


# --------------------------------------------------------------------------- the round trip


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Registry]]:
    skip_unless_required(missing_node_tools())
    if not VERDACCIO.exists():
        skip_unless_required(["tools/registry (npm ci --prefix tools/registry)"])
    folder = tmp_path_factory.mktemp("registries")
    pypi = start_pypiserver(folder / "pypi")
    try:
        npm = start_verdaccio(folder / "npm")
    except BaseException:
        pypi.stop()
        raise
    try:
        yield pypi, npm
    finally:
        npm.stop()
        pypi.stop()


def failing_npm(folder: Path) -> Path:
    """A folder with an ``npm`` that refuses ``publish`` and hands anything else on."""
    folder.mkdir()
    real = shutil.which("npm", path=node_env()["PATH"])
    assert real is not None
    script = folder / "npm"
    script.write_text(
        '#!/bin/sh\nif [ "$1" = publish ]; then echo "npm error code E401" >&2; exit 1; fi\n'
        f'exec "{real}" "$@"\n',
        "utf-8",
    )
    script.chmod(0o755)
    return folder


def pypi_has_version_now(pypi: Registry) -> bool:
    return publish.pypi_has_version(f"{pypi.url.rstrip('/')}/simple/", VERSION)


def run_publish(
    dist: Dist, pypi: Registry, npm: Registry, path_first: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **node_env(),
        "TWINE_USERNAME": "publisher",
        "TWINE_PASSWORD": "unused-by-this-index",
        "npm_config_userconfig": str(npm_userconfig(dist.folder, npm)),
    }
    if path_first is not None:
        env["PATH"] = os.pathsep.join([str(path_first), env["PATH"]])
    return subprocess.run(
        [sys.executable, "-m", "codegen.publish", "--dist", str(dist.folder),
         "--pypi-url", pypi.url, "--npm-registry", npm.url],
        cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=TIMEOUT, check=False,
    )  # fmt: skip


def pip_indexes() -> list[str]:
    """pip's own indexes as configured here (PyPI when none is): where dependencies come from."""

    def configured(key: str, variable: str) -> list[str]:
        if os.environ.get(variable):
            return os.environ[variable].split()
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", key],
            capture_output=True, encoding="utf-8", timeout=60, check=False,
        )  # fmt: skip
        return done.stdout.split() if done.returncode == 0 else []

    default = configured("global.index-url", "PIP_INDEX_URL") or ["https://pypi.org/simple"]
    return default + configured("global.extra-index-url", "PIP_EXTRA_INDEX_URL")


def constraints(folder: Path) -> Path:
    """This environment's versions, so the fresh venv's dependencies usually come from cache."""
    pins: dict[str, str] = {}
    for found in importlib.metadata.distributions():
        name = re.sub(r"[-_.]+", "-", found.metadata["Name"] or "").lower()
        if name and name != "northflank-build":
            pins.setdefault(name, found.version)
    path = folder / "constraints.txt"
    path.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())), "utf-8")
    return path


PYTHON_CALL = """
import json, os, sys
import northflank_build
from northflank_build import Client

with Client(token=os.environ["SANDBOX_TOKEN"], base_url=os.environ["SANDBOX_URL"]) as client:
    service = client.create.service.build(project_id="default-project", data=json.load(sys.stdin))
print(json.dumps({"id": service.id, "version": northflank_build.__version__}))
"""

NODE_CALL = """
import { ApiClient } from "northflank-build";
const { SANDBOX_TOKEN: token, SANDBOX_URL: baseUrl, BODY } = process.env;
const client = new ApiClient({ token, baseUrl });
const parameters = { projectId: "default-project" };
const result = await client.create.service.build({ parameters, data: JSON.parse(BODY) });
if (result.error) { console.error(JSON.stringify(result.error)); process.exit(1); }
console.log(JSON.stringify({ id: result.data.id }));
"""


def install_from_pypiserver(pypi: Registry, folder: Path) -> Path:
    """A fresh venv with northflank-build from our index only; its dependencies from pip's own."""
    folder.mkdir(parents=True)
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", venv], folder)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    ours = f"{pypi.url}simple/"
    # First the package alone, from our index alone: no other index can answer for its name.
    _run([*pip, "--index-url", ours, "--no-deps", f"northflank-build=={VERSION}"], folder)
    extra = [arg for index in pip_indexes() for arg in ("--extra-index-url", index)]
    pins = ["--constraint", constraints(folder)]
    _run([*pip, "--index-url", ours, *extra, *pins, f"northflank-build=={VERSION}"], folder)
    return python


@pytest.mark.slow
def test_both_packages_publish_install_and_call_the_sandbox_then_refuse_a_second_publish(
    dist: Dist, registries: tuple[Registry, Registry], sandbox: LiveSandbox, tmp_path: Path
) -> None:
    pypi, npm = registries
    # npm refuses the first time (an npm that fails its publish, first on PATH): twine's
    # upload stays, and the same command run again finishes with the tarball alone.
    stopped = run_publish(dist, pypi, npm, path_first=failing_npm(tmp_path / "failing-npm"))
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "twine: done" in stopped.stdout
    assert "npm publish failed" in stopped.stderr
    assert "run the same publish again" in stopped.stderr
    assert pypi_has_version_now(pypi)
    assert not publish.npm_has_version(npm.url, VERSION)

    published = run_publish(dist, pypi, npm)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "twine: skipped, the wheel and sdist are on the PyPI index already" in published.stdout
    assert "npm publish: done" in published.stdout
    assert f"Published northflank-build {VERSION}" in published.stdout

    body = example("request", "dockerfileBuild")
    call_env = {"SANDBOX_TOKEN": sandbox.admin_token, "SANDBOX_URL": sandbox.url}

    python = install_from_pypiserver(pypi, tmp_path / "python")
    out = subprocess.run(
        [str(python), "-I", "-c", PYTHON_CALL], input=json.dumps(body), cwd=tmp_path,
        env={**without_python_overrides(), **call_env},
        capture_output=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout) == {"id": "example-service", "version": VERSION}

    app = tmp_path / "node-app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "private": true, "type": "module"}')
    npm_env = node_env()
    _run(
        ["npm", "install", "--registry", npm.url, "--no-audit", "--no-fund",
         f"northflank-build@{VERSION}"],
        app, npm_env,
    )  # fmt: skip
    installed = json.loads((app / "node_modules/northflank-build/package.json").read_text())
    assert installed["version"] == VERSION
    (app / "call.mjs").write_text(NODE_CALL, "utf-8")
    body["name"] = "from-npm"
    node_out = _run(["node", "call.mjs"], app, {**npm_env, **call_env, "BODY": json.dumps(body)})
    assert json.loads(node_out) == {"id": "from-npm"}

    again = run_publish(dist, pypi, npm)
    assert again.returncode == 1
    assert f"northflank-build {VERSION} already exists on the PyPI index" in again.stderr
    assert "and the npm registry" in again.stderr
    assert "Traceback" not in again.stderr


# --------------------------------------------------------------------------- refusals before upload


def test_a_missing_changelog_section_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n", "utf-8")
    monkeypatch.setattr(publish, "check_generated_is_current", lambda: None)
    monkeypatch.setattr(publish, "ROOT", tmp_path)
    code = publish.main(
        ["--pypi-url", "http://127.0.0.1:9/", "--npm-registry", "http://127.0.0.1:9/"]
    )
    assert code == 1
    assert f"CHANGELOG.md has no `## [{VERSION}]` section" in capsys.readouterr().err


def test_a_drifted_generated_tree_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    ignore = shutil.ignore_patterns("node_modules", "dist", "__pycache__")
    shutil.copytree(ROOT / "generated", tmp_path / "generated", ignore=ignore)
    readme = tmp_path / "generated" / "python" / "README.md"
    readme.write_text(readme.read_text("utf-8") + "\nedited by hand\n", "utf-8")
    monkeypatch.setattr(publish, "ROOT", tmp_path)
    code = publish.main(
        ["--pypi-url", "http://127.0.0.1:9/", "--npm-registry", "http://127.0.0.1:9/"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "generated/ drifts from the spec" in err
    assert "python/README.md" in err


def test_missing_artefacts_are_named(tmp_path: Path) -> None:
    with pytest.raises(publish.PublishRefusedError, match=r"missing northflank_build-.*\.whl"):
        publish.Artefacts.in_folder(tmp_path, VERSION)


# --------------------------------------------------------------------------- a publish that stopped


def _artefacts(folder: Path) -> publish.Artefacts:
    for name, content in (
        (f"northflank_build-{VERSION}-py3-none-any.whl", b"wheel"),
        (f"northflank_build-{VERSION}.tar.gz", b"sdist"),
        (f"northflank-build-{VERSION}.tgz", b"tarball"),
    ):
        (folder / name).write_bytes(content)
    return publish.Artefacts.in_folder(folder, VERSION)


def _registries(
    monkeypatch: pytest.MonkeyPatch, *, index: str | None, packument: dict[str, object] | None
) -> None:
    """The PyPI index's page and the npm packument, as the two registries would answer."""

    def get(url: str, what: str) -> str | None:
        if "/simple/" in url:
            return index
        return None if packument is None else json.dumps(packument)

    monkeypatch.setattr(publish, "_get", get)


def _index_page(*files: tuple[str, bytes]) -> str:
    links = (
        f'<a href="../../packages/{name}#sha256={hashlib.sha256(content).hexdigest()}">{name}</a>'
        for name, content in files
    )
    return "<html><body>" + "".join(links) + "</body></html>"


def _packument(content: bytes) -> dict[str, object]:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(content).digest()).decode()
    return {"versions": {VERSION: {"dist": {"integrity": integrity}}}}


SIMPLE, NPM = "http://127.0.0.1:9/simple/", "http://127.0.0.1:9/"


def test_a_new_version_goes_to_both(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _registries(monkeypatch, index=None, packument=None)
    uploads = publish.plan_uploads(SIMPLE, NPM, VERSION, _artefacts(tmp_path))
    assert uploads == publish.Uploads(pypi=True, npm=True)


def test_the_same_files_on_pypi_leave_npm_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    artefacts = _artefacts(tmp_path)
    page = _index_page(
        (artefacts.wheel.name, b"wheel"),
        (artefacts.sdist.name, b"sdist"),
        ("other-0.1.tar.gz", b""),
    )
    _registries(monkeypatch, index=page, packument={"versions": {"0.9.0": {}}})
    assert publish.plan_uploads(SIMPLE, NPM, VERSION, artefacts) == publish.Uploads(False, True)


def test_the_same_tarball_on_npm_leaves_pypi_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _registries(monkeypatch, index="<html></html>", packument=_packument(b"tarball"))
    uploads = publish.plan_uploads(SIMPLE, NPM, VERSION, _artefacts(tmp_path))
    assert uploads == publish.Uploads(pypi=True, npm=False)


@pytest.mark.parametrize(
    ("index_files", "packument", "words"),
    [
        pytest.param(
            (("whl", b"wheel"), ("sdist", b"another build")),
            None,
            f"northflank_build-{VERSION}.tar.gz differs",
            id="pypi-other-sdist",
        ),
        pytest.param(
            (("whl", b"wheel"),),
            None,
            f"northflank_build-{VERSION}.tar.gz is not there",
            id="pypi-sdist-missing",
        ),
        pytest.param(
            (), _packument(b"another tarball"), f"northflank-build-{VERSION}.tgz differs", id="npm"
        ),
    ],
)
def test_other_files_under_the_version_are_refused(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    index_files: tuple[tuple[str, bytes], ...],
    packument: dict[str, object] | None,
    words: str,
) -> None:
    artefacts = _artefacts(tmp_path)
    names = {"whl": artefacts.wheel.name, "sdist": artefacts.sdist.name}
    page = _index_page(*((names[key], content) for key, content in index_files))
    _registries(monkeypatch, index=page, packument=packument)
    with pytest.raises(publish.PublishRefusedError) as refused:
        publish.plan_uploads(SIMPLE, NPM, VERSION, artefacts)
    assert words in str(refused.value)
    assert "cut a new one with `nox -s release`" in str(refused.value)


def test_both_registries_holding_the_version_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    artefacts = _artefacts(tmp_path)
    page = _index_page((artefacts.wheel.name, b"wheel"), (artefacts.sdist.name, b"sdist"))
    _registries(monkeypatch, index=page, packument=_packument(b"tarball"))
    with pytest.raises(publish.PublishRefusedError, match="already exists on the PyPI index"):
        publish.plan_uploads(SIMPLE, NPM, VERSION, artefacts)


def test_preflight_of_a_stopped_publish_says_what_is_left(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _index_page((f"northflank_build-{VERSION}-py3-none-any.whl", b"wheel"))
    _registries(monkeypatch, index=page, packument=None)
    monkeypatch.setattr(publish, "check_generated_is_current", lambda: None)
    code = publish.main(["--pypi-url", "http://127.0.0.1:9/", "--npm-registry", NPM, "--preflight"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"northflank-build {VERSION} is on PyPI only" in out
    assert "it goes to npm if the build gives the files PyPI has" in out
