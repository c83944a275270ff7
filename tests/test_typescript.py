"""The generated TypeScript client: its Node suite, its types, its headers and its package.

* ``tests/ts/*.test.mjs`` run under ``node --test`` against the package built by its
  own ``npm run build`` (the ``typescript_package`` fixture), a live sandbox that
  counts each token's requests, and fault-injecting servers of their own;
* ``tsc --strict --noEmit`` is clean on the package, and on ``tests/ts/typed_usage.ts``
  (a user's code) compiled against the built declarations;
* every generated file starts with the provenance header;
* ``npm pack`` makes a tarball that installs into an empty folder and loads with
  ``require`` and ``import``.

Without ``node``, ``npm`` or the pinned ``tsc`` these tests are skipped, unless
NF_REQUIRE_NODE=1 (as in ``nox -s tests``) makes that a failure.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.sqlite_store import SqliteAdminStore
from sandbox.tokens import hash_token
from tests.cli_run import PROJECT, counting_sandbox, fresh_token
from tests.live_sandbox import ROOT, LiveSandbox
from tests.spec_data import SPEC_PATH, example
from tests.typescript_build import (
    GENERATED_TYPESCRIPT,
    TOOLS_BIN,
    missing_node_tools,
    node_env,
    run,
    shown,
    skip_unless_required,
)

TS_TESTS = ROOT / "tests" / "ts"
NODE_SUITE_SECONDS = 120  # it takes a few
PACKAGE_FILES = {"dist", "src", "LICENSE", "README.md", "package.json"}
"""What the tarball may hold at its top level (under ``package/``)."""


def _tool(name: str, path: str | None = None) -> str | None:
    return shutil.which(name, path=path)


@pytest.fixture(scope="module")
def node_tools() -> dict[str, str]:
    """``node``, ``npm`` and the pinned ``tsc``: skipped without them, unless NF_REQUIRE_NODE=1."""
    found = {
        "node": _tool("node"),
        "npm": _tool("npm"),
        "tsc": _tool("tsc", str(TOOLS_BIN)),
    }
    skip_unless_required(missing_node_tools())
    return {name: path for name, path in found.items() if path is not None}


def link_package(app: Path, typescript_package: Path) -> None:
    """``app/node_modules/northflank-build``: the built package, as an installed dependency."""
    modules = app / "node_modules"
    modules.mkdir(parents=True)
    (modules / "northflank-build").symlink_to(typescript_package, target_is_directory=True)


# --- The Node suite ----------------------------------------------------------


@pytest.fixture
def counting(tmp_path: Path) -> Iterator[LiveSandbox]:
    server = counting_sandbox(tmp_path / "sandbox")
    try:
        yield server
    finally:
        server.stop()


def forbidden_token(server: LiveSandbox) -> str:
    """A token with no permission at all (``token create`` grants at least one)."""
    token = "nfsb_ts_forbidden_" + secrets.token_urlsafe(24)
    store = SqliteAdminStore(server.db)
    try:
        store.create_token(token_hash=hash_token(token), label="ts-forbidden", permissions=())
    finally:
        store.close()
    return token


def summary(output: str) -> dict[str, int]:
    """The counts at the end of Node's spec reporter: ``tests 12``, ``pass 12``..."""
    found = re.findall(r"^\S+ (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)
    return {name: int(count) for name, count in found}


def test_node_suite(
    typescript_package: Path, node_tools: dict[str, str], counting: LiveSandbox
) -> None:
    files = sorted(TS_TESTS.glob("*.test.mjs"))
    assert files, f"no tests in {TS_TESTS}"
    env = {k: v for k, v in node_env().items() if not k.startswith("NORTHFLANK_")}
    env.update(
        NF_TS_PACKAGE=str(typescript_package),
        NF_SANDBOX_URL=counting.url,
        NF_SANDBOX_TOKEN=fresh_token(counting),
        NF_SANDBOX_QUIET_TOKEN=fresh_token(counting),
        NF_SANDBOX_FORBIDDEN_TOKEN=forbidden_token(counting),
        NF_SANDBOX_PROJECT=PROJECT,
        NF_REQUEST_EXAMPLE=json.dumps(example("request", "dockerfileBuild")),
        NF_RESPONSE_EXAMPLE=json.dumps(example("200", "dockerfileBuild")),
        NO_COLOR="1",
    )
    # Node 22+ takes globs, not folders, so the files are named one by one.
    command = [node_tools["node"], "--test", "--test-reporter=spec", *files]
    done = run(command, ROOT, env, timeout=NODE_SUITE_SECONDS)
    sandbox_log = counting.output()[-3000:]
    assert done.returncode == 0, f"{shown(done)}\n--- sandbox log (end)\n{sandbox_log}"
    counts = summary(done.stdout)
    assert counts.get("tests", 0) > 0, shown(done)
    assert counts.get("fail") == 0, shown(done)
    assert counts.get("cancelled") == 0, shown(done)
    assert counts.get("skipped") == 0, shown(done)


# --- Types -------------------------------------------------------------------


@pytest.mark.parametrize("tsconfig", ["tsconfig.json", "tsconfig.cjs.json"])
def test_the_package_type_checks_strictly(
    typescript_package: Path, node_tools: dict[str, str], tsconfig: str
) -> None:
    done = run(
        [node_tools["tsc"], "--strict", "--noEmit", "-p", typescript_package / tsconfig],
        typescript_package,
    )
    assert done.returncode == 0, shown(done)
    assert done.stdout.strip() == "", shown(done)


def test_the_tsconfig_is_strict() -> None:
    options = json.loads((GENERATED_TYPESCRIPT / "tsconfig.json").read_text(encoding="utf-8"))
    assert options["compilerOptions"]["strict"] is True


CONSUMERS = {
    "esm": ({"type": "module"}, {"module": "NodeNext", "moduleResolution": "NodeNext"}),
    "cjs": ({"type": "commonjs"}, {"module": "NodeNext", "moduleResolution": "NodeNext"}),
    "bundler": ({"type": "module"}, {"module": "ESNext", "moduleResolution": "Bundler"}),
}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_a_users_typescript_compiles_against_the_declarations(
    typescript_package: Path, node_tools: dict[str, str], tmp_path: Path, consumer: str
) -> None:
    """``typed_usage.ts`` type-checks, its ``@ts-expect-error`` lines included."""
    manifest, resolution = CONSUMERS[consumer]
    app = tmp_path / "app"
    link_package(app, typescript_package)
    shutil.copy(TS_TESTS / "typed_usage.ts", app / "typed_usage.ts")
    (app / "package.json").write_text(json.dumps({"private": True, **manifest}), encoding="utf-8")
    compiler_options = {
        "strict": True,
        "noEmit": True,
        "exactOptionalPropertyTypes": True,
        "noUncheckedIndexedAccess": True,
        "skipLibCheck": False,
        "target": "ES2022",
        "lib": ["ES2022", "DOM"],
        "types": [],
        **resolution,
    }
    tsconfig = {"compilerOptions": compiler_options, "files": ["typed_usage.ts"]}
    (app / "tsconfig.json").write_text(json.dumps(tsconfig), encoding="utf-8")
    done = run([node_tools["tsc"], "-p", app / "tsconfig.json"], app)
    assert done.returncode == 0, shown(done)


# --- Provenance ----------------------------------------------------------------


def test_every_generated_file_starts_with_the_provenance_header() -> None:
    digest = hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()[:16]
    header = (
        f"Generated by northflank-build codegen from spec/openapi.yaml (sha256 {digest}). "
        "Do not edit."
    )
    expected_first_line = {
        ".ts": f"// {header}",
        ".json": f'{{"_generated": "{header}",',
        ".md": f"<!-- {header} -->",
        "": header,  # LICENSE: plain text, so the header is a plain line
    }
    files = sorted(path for path in GENERATED_TYPESCRIPT.rglob("*") if path.is_file())
    assert {p.relative_to(GENERATED_TYPESCRIPT).as_posix() for p in files} >= {
        "LICENSE",
        "README.md",
        "package.json",
        "tsconfig.json",
        "tsconfig.cjs.json",
        "src/index.ts",
        "src/client.ts",
        "src/types.ts",
        "src/validate.ts",
        "src/runtime.ts",
        "src/validation.ts",
    }
    wrong = []
    for path in files:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        if first != expected_first_line.get(path.suffix):
            wrong.append(f"{path.relative_to(GENERATED_TYPESCRIPT)}: {first[:120]!r}")
    assert not wrong, "\n".join(wrong)


# --- The npm package -------------------------------------------------------------


def test_the_packed_package_installs_and_loads(
    typescript_package: Path, node_tools: dict[str, str], tmp_path: Path
) -> None:
    env = node_env(npm_config_cache=str(tmp_path / "npm-cache"), npm_config_update_notifier="false")
    packed = tmp_path / "packed"
    packed.mkdir()
    npm = node_tools["npm"]
    pack = [npm, "pack", "--ignore-scripts", "--json", "--pack-destination", packed]
    done = run(pack, typescript_package, env)
    assert done.returncode == 0, shown(done)
    (tarball,) = packed.glob("northflank-build-*.tgz")
    (report,) = json.loads(done.stdout)
    assert report["filename"] == tarball.name

    with tarfile.open(tarball) as archive:
        names = sorted(archive.getnames())
    assert all(name.startswith("package/") for name in names), names
    inside = [name.removeprefix("package/") for name in names]
    assert {name.split("/", 1)[0] for name in inside} == PACKAGE_FILES, inside
    assert sorted(entry["path"] for entry in report["files"]) == inside
    for build in ("esm", "cjs"):
        for module in ("index", "client", "runtime", "types", "validate", "validation"):
            assert f"dist/{build}/{module}.js" in inside
            assert f"dist/{build}/{module}.d.ts" in inside
    assert "dist/cjs/package.json" in inside
    assert not [name for name in inside if "tsconfig" in name or name.endswith(".tgz")]

    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(tarball, app / tarball.name)
    install = [npm, "install", "--offline", "--no-audit", "--no-fund", f"./{tarball.name}"]
    done = run(install, app, env)
    assert done.returncode == 0, shown(done)
    installed = app / "node_modules" / "northflank-build"
    assert (installed / "dist" / "esm" / "index.js").is_file()
    assert not (installed / "node_modules").exists()  # no dependencies

    node = node_tools["node"]
    check = (
        "const c = new m.ApiClient({ token: 't', baseUrl: 'http://x.test/' });"
        "console.log(typeof m.ApiClient, typeof m.ConflictError, typeof m.validateBuildService,"
        " c.options.baseUrl, typeof c.create.service.build);"
    )
    expected = "function function function http://x.test function"
    cjs = run(
        [node, "-e", f"const m = require('northflank-build'); {check}"
         "console.log(require.resolve('northflank-build'))"],
        app,
    )  # fmt: skip
    assert cjs.returncode == 0, shown(cjs)
    cjs_lines = cjs.stdout.splitlines()
    assert cjs_lines[0] == expected, shown(cjs)
    assert Path(cjs_lines[1]).as_posix().endswith("node_modules/northflank-build/dist/cjs/index.js")

    esm = run(
        [node, "--input-type=module", "-e",
         f"const m = await import('northflank-build'); {check}"
         "console.log(import.meta.resolve('northflank-build'))"],
        app,
    )  # fmt: skip
    assert esm.returncode == 0, shown(esm)
    esm_lines = esm.stdout.splitlines()
    assert esm_lines[0] == expected, shown(esm)
    assert esm_lines[1].endswith("node_modules/northflank-build/dist/esm/index.js"), shown(esm)
