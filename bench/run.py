"""Side-by-side benchmarks: codegen, validation, imports, sandbox load, client, CLI, TypeScript.

Run with the generated package importable (``nox -s bench`` installs it):

    python bench/run.py [--rounds N] [--quick] [--only SECTION ...] [load options]

Every figure is measured in this one run, next to its comparison, and reported
with a ratio. The numbers describe this machine at this moment; they are not
assertions and nothing here fails on a slow result. A tool that fails is
reported and skipped; the run still exits 0. Only a wrong answer fails the run
(exit 1): a disagreement between the models and jsonschema-rs on a body's
verdict, a sandbox create not answered 200 or not found in its database, or
(with ``--only sandbox``) a load section that could not run at all, a client in
the client overhead section answering a create with the wrong service, or
``nf-build`` failing or printing the wrong request in the CLI cold start section,
or the TypeScript package failing to build, pack or install in the TypeScript
section (where a verdict disagreement with Ajv is printed as a warning).
"""

from __future__ import annotations

import argparse
import compileall
import copy
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from cli_start import bench_cli, compile_bytecode
from client_overhead import bench_client
from northflank_build.models import CreateBuildServiceRequest
from pydantic import ValidationError
from report import write_report
from report_figures import FIGURES, floors_table, record
from sandbox_hostile import bench_hostile
from sandbox_load import LoadOptions, bench_sandbox
from spec_variants import METHODS, with_operations
from typescript_client import bench_typescript

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
OPERATION = ("/v1/projects/{projectId}/services/build", "post")
EXAMPLE = "dockerfileBuild"
SCHEMA_NAME = "CreateBuildServiceRequest"
BIN_DIR = Path(sys.executable).parent  # the venv's scripts: ruff, datamodel-codegen, ...

Body = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def tool_env() -> dict[str, str]:
    """The environment for child processes: this interpreter's scripts first on PATH.

    openapi-python-client and datamodel-codegen shell out to ruff/black; without
    them on PATH they silently skip formatting and would look faster than they are.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN_DIR), env.get("PATH", "")])
    return env


def script(name: str) -> str:
    """A console script of this environment, else whatever PATH offers."""
    local = BIN_DIR / name
    return str(local) if local.exists() else shutil.which(name) or name


def has_module(name: str) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, check=False
    )
    return probe.returncode == 0


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a failed run: the last non-empty one of stderr/stdout."""
    lines = [ln for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"


def fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den == 0:
        return "n/a"
    return f"{num / den:.2f}x"


# --------------------------------------------------------------------------- 1. codegen


@dataclass(frozen=True)
class Generator:
    key: str
    label: str
    argv: Callable[[Path], list[str]]  # given a fresh temporary folder


@dataclass
class Timing:
    runs: list[float]
    error: str | None = None
    cpu: list[float] = field(default_factory=list)
    """Each run's CPU time (user + system) of the process and everything it waited for."""

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs and self.error is None else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu and self.error is None else None


def generators() -> tuple[list[Generator], list[str]]:
    """The three generators, and notes on how they were configured."""
    notes: list[str] = []
    dmcg_extra: list[str] = []
    if not (has_module("black") and has_module("isort")):
        dmcg_extra = ["--formatters", "ruff-format"]
        notes.append(
            "datamodel-codegen: black/isort missing, so its default formatters cannot run;"
            " using --formatters ruff-format instead"
        )
    if shutil.which("ruff", path=tool_env()["PATH"]) is None:
        notes.append("ruff not found: openapi-python-client will skip its formatting hooks")
    spec = str(SPEC_PATH)
    gens = [
        Generator(
            "ours",
            "ours (python -m codegen)",
            lambda tmp: [sys.executable, "-m", "codegen", "--out", str(tmp / "out")],
        ),
        Generator(
            "opc",
            "openapi-python-client",
            lambda tmp: [
                script("openapi-python-client"),
                "generate",
                "--path",
                spec,
                "--output-path",
                str(tmp / "x"),
                "--overwrite",
            ],
        ),
        Generator(
            "dmcg",
            "datamodel-codegen (plain)",
            lambda tmp: [
                script("datamodel-codegen"),
                "--input",
                spec,
                "--input-file-type",
                "openapi",
                "--output",
                str(tmp / "models.py"),
                *dmcg_extra,
            ],
        ),
    ]
    return gens, notes


def time_generator(gen: Generator, rounds: int) -> Timing:
    """Median-able wall and CPU times of ``rounds`` fresh processes, each into a new temp folder."""
    timing = Timing(runs=[])
    for _ in range(rounds):
        time_once(gen, timing)
    return timing


def time_once(gen: Generator, timing: Timing) -> None:
    """One fresh run of ``gen`` into a new temp folder, added to ``timing`` (or its error)."""
    if timing.error is not None:
        return
    with tempfile.TemporaryDirectory(prefix=f"nf-bench-{gen.key}-") as tmp:
        argv = gen.argv(Path(tmp))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            argv, cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        timing.error = error_line(proc)
        return
    timing.runs.append(elapsed)
    timing.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def bench_codegen(rounds: int) -> None:
    gens, notes = generators()
    print(
        f"\n1. Codegen wall and CPU time: median of {rounds} fresh processes each, in alternating"
        " rounds, temp output folders"
    )
    for note in notes:
        print(f"   note: {note}")
    compile_bytecode()  # as pip leaves an install: no contestant compiles its imports per run
    compileall.compile_dir(str(ROOT / "codegen"), quiet=2)
    timings = {gen.key: Timing(runs=[]) for gen in gens}
    for gen in gens:
        time_once(gen, Timing(runs=[]))  # warm-up, untimed: the file cache, as for a developer
    for _ in range(rounds):  # A B C A B C ...: drift on the machine hits every generator
        for gen in gens:
            time_once(gen, timings[gen.key])
    print(f"   {'generator':<28}{'median s':>10}{'min s':>9}{'max s':>9}{'CPU s':>9}")
    for gen in gens:
        timing = timings[gen.key]
        record("codegen", gen.key, seconds=timing.median, cpu_seconds=timing.cpu_median)
        if timing.error is not None:
            print(f"   {gen.label:<28}{'FAILED':>10}  {timing.error}")
        else:
            lo, hi = min(timing.runs), max(timing.runs)
            cpu = timing.cpu_median or 0.0
            print(f"   {gen.label:<28}{timing.median:>10.3f}{lo:>9.3f}{hi:>9.3f}{cpu:>9.3f}")
    ours, opc, dmcg = (timings[key] for key in ("ours", "opc", "dmcg"))
    print(
        f"   ratio ours/openapi-python-client = {fmt_ratio(ours.median, opc.median)} wall,"
        f" {fmt_ratio(ours.cpu_median, opc.cpu_median)} CPU;"
        f" ours/datamodel-codegen = {fmt_ratio(ours.median, dmcg.median)} wall,"
        f" {fmt_ratio(ours.cpu_median, dmcg.cpu_median)} CPU  (<1 means ours is faster)"
    )
    bench_codegen_growth(rounds, ours.median)


def bench_codegen_growth(rounds: int, product: float | None) -> None:
    """Ours on the product spec (six operations) and on it cut down to one (spec_variants.py)."""
    count = sum(1 for item in load_spec()["paths"].values() for method in item if method in METHODS)
    with tempfile.TemporaryDirectory(prefix="nf-bench-spec-") as folder:
        spec = Path(folder) / "openapi.yaml"
        document = with_operations(load_spec(), ["createBuildService"])
        spec.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
        gen = Generator(
            "ours-one",
            "ours, 1 operation",
            lambda tmp: [
                sys.executable,
                "-m",
                "codegen",
                "--spec",
                str(spec),
                "--out",
                str(tmp / "out"),
            ],
        )
        timing = time_generator(gen, rounds)
    print(f"   ours by number of operations (median of {rounds}):")
    if timing.median is None:
        print(f"   {gen.label:<28}{'FAILED':>10}  {timing.error}")
        return
    print(f"   {gen.label:<28}{timing.median:>10.3f}")
    if product is None:
        return
    print(f"   {f'ours, {count} operations':<28}{product:>10.3f}")
    extra = (product - timing.median) / (count - 1)
    print(
        f"   each added operation costs {extra * 1000:.0f} ms;"
        f" per operation: {timing.median:.3f} s at 1, {product / count:.3f} s at {count}"
    )


# --------------------------------------------------------------------------- 2. validation


def load_spec() -> Body:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: Body = yaml.load(fh, Loader=loader)
    return spec


def request_example(spec: Body) -> Body:
    path, method = OPERATION
    content = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
    example: Body = content["examples"][EXAMPLE]["value"]
    return example


def variants(example: Body) -> list[tuple[str, bool, Body]]:
    """The body set: (label, expected verdict, body). Deterministic, valid and invalid."""

    def edit(change: Callable[[Body], None]) -> Body:
        body = copy.deepcopy(example)
        change(body)
        return body

    def buildpack(b: Body) -> None:
        storage = b["buildSettings"]["storage"]
        b["buildSettings"] = {
            "storage": storage,
            "buildpack": {"builder": "HEROKU_24", "buildContext": "/", "useCache": True},
        }

    def minimal(b: Body) -> None:
        for key in [k for k in b if k not in {"name", "billing", "vcsData", "buildSettings"}]:
            del b[key]

    return [
        ("spec example (dockerfile)", True, example),
        ("buildpack variant", True, edit(buildpack)),
        ("required keys only", True, edit(minimal)),
        ("bad name", False, edit(lambda b: b.update(name="9 bad--name!"))),
        ("unknown key", False, edit(lambda b: b.update(colour="blue"))),
        (
            "bad storageSize (in enum, > max)",
            False,
            edit(
                lambda b: b["buildSettings"]["storage"]["ephemeralStorage"].update(
                    storageSize=131072
                )
            ),
        ),
        (
            "bad storageSize (not in enum)",
            False,
            edit(
                lambda b: b["buildSettings"]["storage"]["ephemeralStorage"].update(
                    storageSize=20000
                )
            ),
        ),
    ]


def model_ok(body: Body) -> bool:
    try:
        CreateBuildServiceRequest.model_validate(body)
    except ValidationError:
        return False
    return True


def model_json_ok(raw: bytes) -> bool:
    try:
        CreateBuildServiceRequest.model_validate_json(raw)
    except ValidationError:
        return False
    return True


def throughput(check: Callable[[Any], bool], items: Sequence[Any], min_time: float) -> float:
    """Bodies per second: best of 3 timed passes, each at least ``min_time`` seconds long."""
    loops = 1
    while True:  # calibrate
        start = time.perf_counter()
        for _ in range(loops):
            for item in items:
                check(item)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        loops = max(loops * 2, int(loops * min_time * 1.2 / max(elapsed, 1e-9)))
    best = elapsed
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(loops):
            for item in items:
                check(item)
        best = min(best, time.perf_counter() - start)
    return loops * len(items) / best


def bench_validation(min_time: float) -> None:
    spec = load_spec()
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec["components"],
        "$ref": f"#/components/schemas/{SCHEMA_NAME}",
    }
    validator = jsonschema_rs.Draft202012Validator(root)
    cases = variants(request_example(spec))
    bodies = [body for _, _, body in cases]
    raws = [json.dumps(body).encode() for body in bodies]

    print(
        f"\n2. Validation of {SCHEMA_NAME}: {len(bodies)} bodies, best of 3 passes >= {min_time} s"
    )
    mismatches: list[str] = []
    for (label, expected, body), raw in zip(cases, raws, strict=True):
        verdicts = {
            "model_validate": model_ok(body),
            "model_validate_json": model_json_ok(raw),
            "jsonschema-rs": bool(validator.is_valid(body)),
            "jsonschema-rs(json.loads)": bool(validator.is_valid(json.loads(raw))),
        }
        if len(set(verdicts.values())) != 1 or verdicts["jsonschema-rs"] != expected:
            mismatches.append(f"{label}: expected {expected}, got {verdicts}")
        print(f"   {'valid  ' if verdicts['jsonschema-rs'] else 'invalid'}  {label}")
    if mismatches:
        print("\nABORT: the models and jsonschema-rs disagree on these bodies:", file=sys.stderr)
        for line in mismatches:
            print(f"   {line}", file=sys.stderr)
        raise SystemExit(1)
    print("   verdicts agree on every body (models == jsonschema-rs == expected)")

    py_models = throughput(model_ok, bodies, min_time)
    py_rs = throughput(validator.is_valid, bodies, min_time)
    js_models = throughput(model_json_ok, raws, min_time)
    js_rs = throughput(lambda raw: validator.is_valid(json.loads(raw)), raws, min_time)
    print(f"   {'input':<12}{'models body/s':>15}{'jsonschema-rs body/s':>22}{'models/rs':>11}")
    print(f"   {'dict':<12}{py_models:>15,.0f}{py_rs:>22,.0f}{fmt_ratio(py_models, py_rs):>11}")
    print(
        f"   {'JSON bytes':<12}{js_models:>15,.0f}{js_rs:>22,.0f}{fmt_ratio(js_models, js_rs):>11}"
    )
    print(
        "   (models = model_validate / model_validate_json; rs = is_valid / is_valid(json.loads))"
    )


# --------------------------------------------------------------------------- 3. import cost

IMPORT_PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
PYDANTIC = "import pydantic"
PYDANTIC_MODEL = "from pydantic import BaseModel"  # pydantic defers its model machinery
MODELS = "import northflank_build.models"


def import_seconds(statement: str, runs: int) -> float | str:
    """Median in-process import time over ``runs`` fresh interpreters, or an error line."""
    samples: list[float] = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE.format(stmt=statement)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            return error_line(proc)
        samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def importtime_breakdown() -> tuple[float, float] | str:
    """From one ``-X importtime`` run: (pydantic cumulative, northflank_build.* self) in ms."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import northflank_build.models"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return error_line(proc)
    pydantic_cum = 0.0
    own_self = 0.0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if not parts[0].isdigit():
            continue  # the header line
        self_us, cum_us, name = int(parts[0]), int(parts[1]), parts[2]
        if name == "pydantic":
            pydantic_cum = cum_us / 1000
        if name.startswith("northflank_build"):
            own_self += self_us / 1000
    return pydantic_cum, own_self


def bench_imports(runs: int) -> None:
    print(f"\n3. Import cost: median of {runs} fresh interpreters (perf_counter around the import)")
    results = {stmt: import_seconds(stmt, runs) for stmt in (PYDANTIC, PYDANTIC_MODEL, MODELS)}
    for stmt, value in results.items():
        shown = f"{value * 1000:8.1f} ms" if isinstance(value, float) else f"FAILED  {value}"
        print(f"   {stmt:<34}{shown}")
    models = results[MODELS]
    for base in (PYDANTIC, PYDANTIC_MODEL):
        value = results[base]
        if isinstance(value, float) and isinstance(models, float):
            print(f"   models' share beyond `{base}`: {(models - value) * 1000:.1f} ms")
    breakdown = importtime_breakdown()
    if isinstance(breakdown, str):
        print(f"   -X importtime FAILED  {breakdown}")
    else:
        pyd_cum, own = breakdown
        print(
            f"   -X importtime (one run): pydantic cumulative {pyd_cum:.1f} ms,"
            f" northflank_build.* self {own:.1f} ms"
        )


# --------------------------------------------------------------------------- main


SECTIONS = ("codegen", "validation", "imports", "sandbox", "client", "cli", "typescript", "hostile")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: use a whole number >= 1")
    return value


def load_options(args: argparse.Namespace) -> LoadOptions:
    quick = args.quick
    profile_seconds = args.profile_seconds
    if profile_seconds is None:
        profile_seconds = 2 if quick else 4
    opts = LoadOptions(
        duration=args.load_seconds or (2 if quick else 5),
        rounds=args.load_rounds or (1 if quick else 2),
        warmup=args.warmup or (1 if quick else 2),
        connections=args.connections,
        threads=args.wrk_threads,
        profile_seconds=max(profile_seconds, 0),
        profile_out=args.profile_out,
    )
    if opts.threads > opts.connections:
        raise SystemExit("--wrk-threads must not exceed --connections")
    if opts.rounds > 26:
        raise SystemExit("--load-rounds: 26 at most (each round's names carry a letter)")
    return opts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="codegen runs per tool (5)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 rounds, short timings")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable; default: all)",
    )
    load = parser.add_argument_group("sandbox load (section 4)")
    load.add_argument("--load-seconds", type=positive, help="seconds per round and target (5)")
    load.add_argument("--load-rounds", type=positive, help="alternating rounds per target (2)")
    load.add_argument("--warmup", type=positive, help="warm-up seconds per target (2)")
    load.add_argument("--connections", type=positive, default=8, help="open connections (8)")
    load.add_argument("--wrk-threads", type=positive, default=2, help="wrk threads (2)")
    load.add_argument(
        "--profile-seconds",
        type=int,
        help="py-spy sampling seconds per mode (4); 0 skips the profile",
    )
    load.add_argument("--profile-out", type=Path, help="keep py-spy's raw stacks in this folder")
    cli = parser.add_argument_group("CLI cold start (section 6)")
    cli.add_argument("--cli-runs", type=positive, help="timed runs per command (15; --quick: 5)")
    cli.add_argument(
        "--cli-network",
        action="store_true",
        help="also time the official CLI as installed, with its registry update check",
    )
    report = parser.add_argument_group("report")
    report.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="write DIR/index.html (one self-contained page of charts) and DIR/figures.json",
    )
    report.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.json",
        help="with --report: draw a previous run's figures.json beside this run's",
    )
    args = parser.parse_args(argv)
    if args.compare is not None and (args.report is None or not args.compare.is_file()):
        parser.error("--compare needs --report and an existing figures.json")
    sections = set(args.only or SECTIONS)
    rounds = args.rounds or (2 if args.quick else 5)
    min_time = 0.1 if args.quick else 0.5
    import_runs = 3 if args.quick else 5
    opts = load_options(args)

    print(
        f"python {sys.version.split()[0]} | pydantic {version('pydantic')}"
        f" | jsonschema-rs {version('jsonschema-rs')}"
        f" | datamodel-code-generator {version('datamodel-code-generator')}"
        f" | openapi-python-client {version('openapi-python-client')}"
        f" | httpx {version('httpx')}"
    )
    print("Figures are measured side by side in this run; read the ratios, not the absolutes.")
    if "codegen" in sections:
        bench_codegen(rounds)
    if "validation" in sections:
        bench_validation(min_time)
    if "imports" in sections:
        bench_imports(import_runs)
    failed = False
    if "sandbox" in sections:
        outcome = bench_sandbox(request_example(load_spec()), opts)
        failed = outcome is False or (outcome is None and args.only is not None)
    if "client" in sections:
        client_rounds = 6 if args.quick else 28  # short rounds, many of them: paired ratios
        ok = bench_client(
            load_spec(), min_time=min_time / 8, rounds=client_rounds, import_runs=import_runs
        )
        failed = failed or not ok
    if "cli" in sections:
        cli_runs = args.cli_runs or (5 if args.quick else 15)
        ok = bench_cli(request_example(load_spec()), runs=cli_runs, network=args.cli_network)
        failed = failed or not ok
    if "typescript" in sections:
        spec = load_spec()
        ok = bench_typescript(
            spec,
            variants(request_example(spec)),
            min_time=min_time,
            rounds=3 if args.quick else 5,
        )
        failed = failed or not ok
    if "hostile" in sections:
        failed = not bench_hostile() or failed
    print("\nFloors of issue 17 (from this run's figures; 'not measured': its section did not run)")
    print(floors_table(FIGURES))
    if args.report is not None:
        about = [
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
            f" load average {os.getloadavg()[0]:.2f} at the end;"
            f" sections: {', '.join(s for s in SECTIONS if s in sections)}"
        ]
        page = write_report(args.report, FIGURES, args.compare, about)
        print(f"Report: {page} (figures: {page.with_name('figures.json')})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
