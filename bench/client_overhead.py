"""Client overhead: what one ``client.create.service.build(...)`` costs beyond raw httpx.

Called from ``bench/run.py`` (section 5; ``--only client`` runs it alone). No
network and no server: every contestant sends the same POST through its own
``httpx.Client`` over the same ``httpx.MockTransport``, whose handler answers
200 with the spec's ``dockerfileBuild`` response example. So the figures are
the client-side cost of a call (building the request, httpx's own machinery,
validating and parsing), which is what a client library adds; a real server's
latency comes on top of all of them alike.

Contestants, each given the spec's ``dockerfileBuild`` request example as a dict:

- raw httpx: ``http.post(url, json=body)`` then ``json.loads(response.content)``:
  no validation, no typed result. The baseline.
- ours: ``client.create.service.build(project_id=..., data=body)`` with the
  request validated against the spec and the response parsed into models;
  then the same call with ``skip_validation=True``, and with a
  ``CreateBuildServiceRequest`` built once up front instead of the dict.
- openapi-python-client: its client generated from the same spec into a
  temporary folder during the run, driven with ``sync(...,
  body=BuildServiceFields.from_dict(body))`` (the class named by ``sync``'s
  annotation), which is what a caller holding a dict has to write.

Timing: the contestants take turns, round after round, each round starting with
the next one (so drift on the machine hits all alike); in each round a contestant
makes enough calls to last at least ``min_time`` seconds. A contestant's time is
the median of its rounds' per-call times, with the fastest round beside it; its
ratio to raw httpx is the median of the per-round ratios (its round over raw
httpx's in the same round), which a slow spell of the shared machine moves far
less than a ratio of two medians. Before timing, each contestant's answer is
checked (the created service's id): a wrong answer fails the run.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
from report_figures import record

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
OPERATION = ("/v1/projects/{projectId}/services/build", "post")
EXAMPLE = "dockerfileBuild"
PROJECT = "default-project"
BASE_URL = "http://bench.invalid"
URL = f"{BASE_URL}/v1/projects/{PROJECT}/services/build"
TOKEN = "nfbench-token"
EXPECTED_ID = "example-service"
GOAL = 1.15  # ours, validated, at most this many times raw httpx's per-call time
OURS_IMPORT = "from northflank_build import Client; import northflank_build.models"
"""What a caller of the client loads: the package imports its names lazily, so a bare
``import northflank_build`` loads neither the client (httpx) nor the models (pydantic)."""
IMPORT_PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"

Body = dict[str, Any]


@dataclass
class Contestant:
    label: str
    call: Callable[[], Any]
    result_id: Callable[[Any], str]
    per_call: list[float] = field(default_factory=list)
    """Seconds per call, one entry a round."""
    loops: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)


# --------------------------------------------------------------------------- the spec's examples


def examples(spec: Body) -> tuple[Body, Body]:
    """The request example and the 200 response example of the same name."""
    path, method = OPERATION
    operation = spec["paths"][path][method]
    request = operation["requestBody"]["content"]["application/json"]["examples"][EXAMPLE]
    response = operation["responses"]["200"]["content"]["application/json"]["examples"][EXAMPLE]
    return request["value"], response["value"]


def mock_transport(response_body: bytes) -> httpx.MockTransport:
    headers = {"content-type": "application/json", "x-request-id": "bench"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=response_body)

    return httpx.MockTransport(answer)


# --------------------------------------------------------------------------- the contestants


def raw_httpx(body: Body, transport: httpx.MockTransport) -> Contestant:
    http = httpx.Client(transport=transport, headers={"Authorization": f"Bearer {TOKEN}"})

    def call() -> Any:
        return json.loads(http.post(URL, json=body).content)

    return Contestant("raw httpx (json=, json.loads)", call, lambda r: r["data"]["id"])


def ours(body: Body, transport: httpx.MockTransport) -> list[Contestant]:
    from northflank_build import Client, CreateBuildServiceRequest

    client = Client(token=TOKEN, base_url=BASE_URL, http_client=httpx.Client(transport=transport))
    build = client.create.service.build
    model = CreateBuildServiceRequest.model_validate(body)
    return [
        Contestant(
            "ours (dict, validated)",
            lambda: build(project_id=PROJECT, data=body),
            lambda r: r.id,
        ),
        Contestant(
            "ours (dict, skip_validation)",
            lambda: build(project_id=PROJECT, data=body, skip_validation=True),
            lambda r: r.id,
        ),
        Contestant(
            "ours (model built once)",
            lambda: build(project_id=PROJECT, data=model),
            lambda r: r.id,
        ),
    ]


def openapi_python_client(body: Body, transport: httpx.MockTransport, package: str) -> Contestant:
    api = importlib.import_module(f"{package}.api.services.create_build_service")
    client_module = importlib.import_module(f"{package}.client")
    client = client_module.AuthenticatedClient(base_url=BASE_URL, token=TOKEN)
    client.set_httpx_client(
        httpx.Client(
            base_url=BASE_URL,
            transport=transport,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    )
    request_model = body_class(api.sync)

    def call() -> Any:
        return api.sync(PROJECT, client=client, body=request_model.from_dict(body))

    return Contestant("openapi-python-client", call, lambda r: r.data.id)


def body_class(sync: Callable[..., Any]) -> Any:
    """The class ``sync``'s ``body`` takes, read from its annotations: its name follows how
    the spec composes the request body (an ``allOf`` gets the name of the schema it
    composes), so it is looked up rather than spelled here."""
    hint = typing.get_type_hints(sync)["body"]
    candidates = typing.get_args(hint) or (hint,)
    found = [kind for kind in candidates if hasattr(kind, "from_dict")]
    if len(found) != 1:
        raise TypeError(f"no single model class with from_dict in sync's body: {hint!r}")
    return found[0]


@contextmanager
def generated_opc() -> Iterator[tuple[str | None, str]]:
    """openapi-python-client's package for the spec, importable: (package, note or error)."""
    tool = Path(sys.executable).parent / "openapi-python-client"
    command = str(tool) if tool.exists() else shutil.which("openapi-python-client")
    if command is None:
        yield None, "openapi-python-client is not installed (it is in the bench group)"
        return
    with tempfile.TemporaryDirectory(prefix="nf-bench-opc-") as tmp:
        out = Path(tmp) / "opc"
        env = {**os.environ, "PATH": os.pathsep.join([str(tool.parent), os.environ["PATH"]])}
        argv = [command, "generate", "--path", str(SPEC_PATH), "--output-path", str(out)]
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        packages = [p.parent.name for p in out.glob("*/client.py")] if out.exists() else []
        if proc.returncode != 0 or len(packages) != 1:
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            yield None, lines[-1] if lines else f"no package generated in {out}"
            return
        sys.path.insert(0, str(out))
        try:
            yield packages[0], f"generated in {elapsed:.1f} s into a temporary folder"
        finally:
            sys.path.remove(str(out))
            for name in [m for m in sys.modules if m.split(".")[0] == packages[0]]:
                del sys.modules[name]


# --------------------------------------------------------------------------- timing


def time_loops(call: Callable[[], Any], loops: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start


def calibrate(contestant: Contestant, min_time: float) -> None:
    """Find the loop count for a round of at least ``min_time`` seconds (this warms up too)."""
    loops = 1
    while True:
        elapsed = time_loops(contestant.call, loops)
        if elapsed >= min_time:
            break
        loops = max(loops * 2, int(loops * min_time * 1.2 / max(elapsed, 1e-9)))
    contestant.loops = loops


def run_rounds(contestants: list[Contestant], rounds: int) -> None:
    """Each round, every contestant once, starting one further along each time (so none
    always runs right after the same one)."""
    for round_number in range(rounds):
        start = round_number % len(contestants)
        for contestant in contestants[start:] + contestants[:start]:
            elapsed = time_loops(contestant.call, contestant.loops)
            contestant.per_call.append(elapsed / contestant.loops)


def paired_ratio(contestant: Contestant, base: Contestant) -> float:
    """The median, over the rounds, of ``contestant``'s time a call over ``base``'s in the
    same round: each ratio is of two timings taken moments apart, so a slow spell of the
    machine moves both of them, not the ratio."""
    return statistics.median(
        mine / theirs for mine, theirs in zip(contestant.per_call, base.per_call, strict=True)
    )


def micro(call: Callable[[], Any], min_time: float) -> float:
    """Seconds per call of a small step: best of 3 passes of at least ``min_time``."""
    probe = Contestant("", call, str)
    calibrate(probe, min_time)
    return min(time_loops(call, probe.loops) for _ in range(3)) / probe.loops


# --------------------------------------------------------------------------- import cost


def import_seconds(statement: str, runs: int, env: dict[str, str]) -> float | str:
    """Median in-process import time over ``runs`` fresh interpreters, or an error line."""
    samples: list[float] = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE.format(stmt=statement)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            return lines[-1] if lines else f"exit status {proc.returncode}"
        samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def report_imports(runs: int, opc_package: str | None) -> None:
    print(f"   Import cost: median of {runs} fresh interpreters (perf_counter around the import)")
    env = dict(os.environ)
    statements = [
        "import httpx",
        "import pydantic",
        "import httpx; from pydantic import BaseModel",
        OURS_IMPORT,
    ]
    if opc_package is not None:
        out = next(p for p in sys.path if (Path(p) / opc_package / "client.py").exists())
        env["PYTHONPATH"] = os.pathsep.join([out, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        statements.append(f"import {opc_package}.api.services.create_build_service")
    results = {stmt: import_seconds(stmt, runs, env) for stmt in statements}
    names = {
        stmt: "openapi-python-client's create call module"
        if opc_package is not None and opc_package in stmt
        else stmt
        for stmt in statements
    }
    width = max(len(name) for name in names.values()) + 2
    for stmt, value in results.items():
        shown = f"{value * 1000:8.1f} ms" if isinstance(value, float) else f"FAILED  {value}"
        print(f"   {names[stmt]:<{width}}{shown}")
    ours_s, floor = results[OURS_IMPORT], results[statements[2]]
    if isinstance(ours_s, float) and isinstance(floor, float):
        print(
            f"   northflank_build's client and models beyond `import httpx; from pydantic"
            f" import BaseModel`: {(ours_s - floor) * 1000:.1f} ms"
        )
    extras = [name for name in ("click", "rich", "pygments") if find_spec(name) is not None]
    if extras:
        print(
            f"   note: {', '.join(extras)} installed here, so `import httpx` also loads its"
            " command line (httpx[cli]); without them it is much cheaper"
        )


# --------------------------------------------------------------------------- the section


def bench_client(spec: Body, *, min_time: float, rounds: int, import_runs: int) -> bool:
    """Section 5. False when a contestant gives a wrong answer; a tool that fails is skipped."""
    from northflank_build import CreateBuildServiceRequest, CreateBuildServiceResponse

    request, response = examples(spec)
    response_bytes = json.dumps(response).encode()
    transport = mock_transport(response_bytes)
    print(
        f"\n5. Client overhead: one create call, POST {URL.removeprefix(BASE_URL)}, through"
        f" httpx.MockTransport\n   (200 with the spec's {EXAMPLE} response example,"
        f" {len(response_bytes):,} bytes; request body {len(json.dumps(request)):,} bytes);"
        f"\n   {rounds} alternating rounds, each >= {min_time} s per contestant"
    )
    with generated_opc() as (opc_package, opc_note):
        print(f"   openapi-python-client: {opc_note}")
        contestants = [raw_httpx(request, transport), *ours(request, transport)]
        if opc_package is not None:
            try:
                contestants.append(openapi_python_client(request, transport, opc_package))
            except Exception as error:  # noqa: BLE001 - a tool that fails is reported, skipped
                print(f"   openapi-python-client FAILED to load: {error!r}")
        for contestant in contestants:
            try:
                found = contestant.result_id(contestant.call())
            except Exception as error:  # noqa: BLE001 - reported as a wrong answer
                found = repr(error)
            if found != EXPECTED_ID:
                print(f"\nABORT: {contestant.label} answered {found!r}, not {EXPECTED_ID!r}")
                return False
        for contestant in contestants:
            calibrate(contestant, min_time)
        run_rounds(contestants, rounds)
        report_calls(contestants)
        from northflank_build._checks import CHECKS

        fast_check = CHECKS["CreateBuildServiceRequest"]
        invalid = {**request, "name": "not a valid name!"}
        steps = {
            "CreateBuildServiceRequest.model_validate(body)": lambda: (
                CreateBuildServiceRequest.model_validate(request)
            ),
            'CHECKS["CreateBuildServiceRequest"](body) (fast check)': lambda: fast_check(request),
            "model_validate(invalid body) (raises)": lambda: _refused(
                CreateBuildServiceRequest, invalid
            ),
            "fast check(invalid body)": lambda: fast_check(invalid),
            "CreateBuildServiceResponse.model_validate_json(content)": lambda: (
                CreateBuildServiceResponse.model_validate_json(response_bytes)
            ),
            "json.loads(content)": lambda: json.loads(response_bytes),
        }
        print("   Steps on their own (best of 3 passes):")
        for label, step in steps.items():
            print(f"   {label:<58}{micro(step, min_time / 4) * 1e6:9.1f} us")
        report_imports(import_runs, opc_package)
    return True


def _refused(model: Any, body: Body) -> None:
    try:
        model.model_validate(body)
    except ValueError:  # pydantic's ValidationError is one
        return
    raise AssertionError("the invalid body was accepted")


def report_calls(contestants: list[Contestant]) -> None:
    base = contestants[0]
    print(
        f"   {'contestant':<34}{'us/call':>9}{'fastest':>9}{'vs raw':>8}{'calls/round':>13}"
        "   (vs raw: the median of the rounds' paired ratios)"
    )
    for contestant in contestants:
        ratio = paired_ratio(contestant, base)
        print(
            f"   {contestant.label:<34}{contestant.median * 1e6:9.1f}"
            f"{min(contestant.per_call) * 1e6:9.1f}{ratio:7.2f}x"
            f"{contestant.loops:>13,}"
        )
        record("client", contestant.label, us=contestant.median * 1e6, ratio=ratio)
    validated = next(c for c in contestants if c.label.startswith("ours (dict, validated"))
    ratio = paired_ratio(validated, base)
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(
        f"   goal: ours (dict, validated) <= {GOAL:.2f}x raw httpx: {verdict} ({ratio:.2f}x,"
        f" {(validated.median - base.median) * 1e6:+.1f} us a call)"
    )
