"""The reference page of the fixture spec with every shape of operation.

``tests/fixtures/every_shape.yaml`` has eight operations (GET, POST, PUT, PATCH,
DELETE; path, query and header parameters; required, optional and no body;
200, 201, 202 and 204; a paginated list). Its page, generated into a temporary
folder (the ``every_shape_generated`` fixture), must hold all of them on one
page: the HTML parses strictly, ids are unique and every fragment link lands;
the navigation lists each operation; each operation's section shows its
parameter tables, a body only when it has one, its responses by status, and
examples that run as printed against the recording server (``tests/every_shape_server``):
curl, the fixture's Python package and CLI in subprocesses, and its TypeScript
package built and run by Node. In headless
Chromium (``tests/docs/operations.mjs``), a click in the navigation scrolls to
the operation and each operation's tabs switch only its own panels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import html5lib
import pytest
import yaml

from tests.cli_run import base_env
from tests.every_shape_server import EveryShapeServer, RecordedRequest
from tests.live_sandbox import ROOT
from tests.typescript_build import (
    build_typescript_package,
    missing_node_tools,
    node_env,
    skip_unless_required,
)

SPEC_PATH = ROOT / "tests" / "fixtures" / "every_shape.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "patch", "delete")
SCRIPT = ROOT / "tests" / "docs" / "operations.mjs"
TOOLS_NODE = ROOT / "tools" / "node"
PLAYWRIGHT = TOOLS_NODE / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = os.environ.get("NF_CHROMIUM", "/usr/bin/chromium")
TEAM, WIDGET = "default-team", "first-widget"
RUN_SECONDS = 60
BROWSER_SECONDS = 120


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, METHOD, operation) of the spec, paths sorted, methods in the generator's order."""
    for route, item in sorted(SPEC["paths"].items()):
        for method in METHODS:
            if method in item:
                yield route, method.upper(), item[method]


OPERATIONS = {op["operationId"]: (route, method, op) for route, method, op in _operations()}
BODYLESS = sorted(name for name, (_, _, op) in OPERATIONS.items() if "requestBody" not in op)


def _command(operation: dict[str, Any]) -> str:
    """``x-command-path`` as the CLI's words: a string or a YAML list."""
    words = operation["x-command-path"]
    return words if isinstance(words, str) else " ".join(words)


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


@pytest.fixture(scope="module")
def page_path(every_shape_generated: Path) -> Path:
    return every_shape_generated / "docs" / "index.html"


@pytest.fixture(scope="module")
def tree(page_path: Path) -> Any:
    """The page from html5lib, strict: the first parse error raises."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(page_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_id(tree: Any) -> dict[str, Any]:
    return {element.get("id"): element for element in tree.iter() if element.get("id")}


def _code(by_id: dict[str, Any], operation: str, key: str) -> str:
    return "".join(by_id[f"{operation}.code.{key}"].itertext())


# --------------------------------------------------------------------------- the page's source


def test_ids_are_unique(tree: Any) -> None:
    ids = [element.get("id") for element in tree.iter() if element.get("id") is not None]
    assert sorted({value for value in ids if ids.count(value) > 1}) == []
    assert all(ids), "an empty id attribute"


def test_fragment_links_land_on_ids(tree: Any, by_id: dict[str, Any]) -> None:
    links = [element.get("href") for element in tree.iter("a") if element.get("href")]
    fragments = [unquote(href[1:]) for href in links if href.startswith("#")]
    assert len(fragments) > 50
    assert sorted({f for f in fragments if f not in by_id}) == []


def test_one_main_and_a_section_per_operation(tree: Any) -> None:
    assert len(list(tree.iter("main"))) == 1
    sections = [s.get("id") for s in tree.iter("section") if s.get("class") == "operation layout"]
    assert sections == list(OPERATIONS)


def test_nav_lists_every_operation_grouped_by_path(tree: Any) -> None:
    [nav] = [n for n in tree.iter("nav") if n.get("class") == "operations"]
    links = [(a.get("href"), _text(a)) for a in nav.iter("a")]
    assert links == [
        (f"#{name}", f"{method} {op['summary']}") for name, (_, method, op) in OPERATIONS.items()
    ]
    groups = [_text(p) for p in nav.iter("p") if p.get("class") == "nav-group"]
    assert groups == sorted(SPEC["paths"])


def test_each_operation_shows_method_path_summary_and_permission(by_id: dict[str, Any]) -> None:
    for name, (route, method, op) in OPERATIONS.items():
        section = _text(by_id[name])
        assert f"{method} {route}" in section, name
        assert op["summary"] in section, name
        assert op["description"] in section, name
        assert op["x-required-permission"] in section, name


def _parameter_rows(by_id: dict[str, Any], operation: str, location: str) -> dict[str, Any]:
    """Each row of one parameter table: name -> (type, required, constraints, enum, id)."""
    table = by_id[f"{operation}.parameters"].find(f".//table[@data-location='{location}']")
    assert table is not None, f"{operation}: no {location} table"
    rows = {}
    for row in table.iter("tr"):
        if row.get("class") != "parameter":
            continue
        cells = row.findall("td")
        badges = {_text(b) for b in cells[0].iter("span")}
        rows[_text(cells[0].find("a"))] = {
            "id": row.get("id"),
            "type": _text(cells[1]),
            "required": "required" in badges,
            "constraints": [_text(li) for li in cells[2].iter("li")],
            "enum": [_text(c) for p in cells[2].iter("p") if p.get("class") == "enum" for c in p],
        }
    return rows


def test_list_parameters_by_location(by_id: dict[str, Any]) -> None:
    path = _parameter_rows(by_id, "listWidgets", "path")
    assert list(path) == ["teamId"]
    assert path["teamId"]["required"] is True
    assert path["teamId"]["constraints"] == [
        "3 to 40 characters",
        "pattern: ^[a-z0-9]+(-[a-z0-9]+)*$",
    ]
    query = _parameter_rows(by_id, "listWidgets", "query")
    assert list(query) == ["per_page", "page", "cursor", "size"]
    assert query["per_page"]["type"] == "integer"
    assert query["per_page"]["constraints"] == ["minimum 1", "maximum 100"]
    assert query["size"]["enum"] == ["1", "2", "3", "5"], "8 is above the maximum"
    assert query["size"]["id"] == "listWidgets.query.size"
    assert not any(row["required"] for row in query.values())
    header = _parameter_rows(by_id, "listWidgets", "header")
    assert header == {
        "X-Trace-Id": {
            "id": "listWidgets.header.X-Trace-Id",
            "type": "string",
            "required": False,
            "constraints": ["pattern: ^[a-f0-9]{8}$"],
            "enum": [],
        }
    }


def test_delete_and_rebuild_query_parameters(by_id: dict[str, Any]) -> None:
    delete = _parameter_rows(by_id, "deleteWidget", "query")
    assert delete["delete_child_objects"]["type"] == "boolean"
    assert delete["delete_child_objects"]["required"] is False
    rebuild = _parameter_rows(by_id, "rebuildWidget", "query")
    assert rebuild["priority"]["required"] is True
    assert rebuild["priority"]["enum"] == ["1", "2", "3", "5"]


def test_body_only_where_there_is_one(by_id: dict[str, Any]) -> None:
    for name, (_, _, op) in OPERATIONS.items():
        body = by_id.get(f"{name}.request-body")
        if "requestBody" not in op:
            assert body is None, name
            assert not any(key.startswith(f"{name}.body.") for key in by_id), name
            continue
        assert body is not None, name
        required = op["requestBody"].get("required", False)
        note = "Required." if required else "Optional"
        assert _text(body).startswith(f"Request body {note}"), name
    bodyless = {"listWidgets", "getWidget", "deleteWidget", "rebuildWidget", "getWidgetStatus"}
    assert set(BODYLESS) == bodyless


def test_responses_by_status(by_id: dict[str, Any]) -> None:
    for name, (_, _, op) in OPERATIONS.items():
        [status] = [int(s) for s in op["responses"] if 200 <= int(s) < 300]
        heading = by_id[f"{name}.status.{status}"]
        assert _text(heading) == f"{status} {op['responses'][str(status)]['description']}", name
        responses = _text(by_id[f"{name}.responses"])
        assert ("No body." in responses) == (status == 204), name
        for error in (int(s) for s in op["responses"] if int(s) >= 400):
            assert f"{name}.status.{error}" in by_id, (name, error)
    assert "per_page" in _text(by_id["listWidgets.responses"])
    assert "data.widgets" in _text(by_id["listWidgets.responses"])


def test_examples_match_each_operation(by_id: dict[str, Any]) -> None:
    for name, (_, method, op) in OPERATIONS.items():
        curl = _code(by_id, name, "curl")
        assert f"--request {method} " in curl, name
        assert ("--data" in curl) == (name not in BODYLESS and name != "patchWidget"), name
        cli = _code(by_id, name, "cli")
        # A comment may come first: a put's says it is retry-safe.
        command = "\n".join(line for line in cli.splitlines() if not line.startswith("# "))
        assert command.startswith(f"nf-build {_command(op)} "), name
        assert ("Retry-safe" in cli) == (method == "PUT"), name
        assert ("--yes" in cli) == (method == "DELETE"), name
        assert ("-f -" in cli) == ("--data" in curl), name
        python = _code(by_id, name, "python")
        typescript = _code(by_id, name, "typescript")
        assert ("data=" in python) == ("--data" in curl), name
        assert ("  data: " in typescript) == ("--data" in curl), name
    assert _code(by_id, "listWidgets", "cli") == (
        "nf-build list widgets --team-id default-team --per-page 2 --x-trace-id 0a1b2c3d"
    )
    assert "for widget in client.list.widgets(" in _code(by_id, "listWidgets", "python")
    assert "apiClient.list.widgets.all({" in _code(by_id, "listWidgets", "typescript")
    assert "returns None" in _code(by_id, "deleteWidget", "python")
    assert "widget_status(" in _code(by_id, "getWidgetStatus", "python")
    assert "apiClient.get.widgetStatus({" in _code(by_id, "getWidgetStatus", "typescript")
    assert "options: { priority: 1 }" in _code(by_id, "rebuildWidget", "typescript")


# ------------------------------------------------------------------------- examples run as printed


@dataclass(frozen=True)
class Ran:
    done: subprocess.CompletedProcess[str]
    requests: list[RecordedRequest]


def _run_example(operation: str, command: list[str], cwd: Path, env: dict[str, str]) -> Ran:
    """``command`` against a fresh recording server holding the example's widget (unless the
    operation creates it) and three more, for a list of two pages."""
    with EveryShapeServer() as server:
        if operation != "createWidget":
            server.add_widgets(TEAM, 3)
            server.widgets[(TEAM, WIDGET)] = {"id": WIDGET, "name": WIDGET, "size": 1}
        done = subprocess.run(
            command,
            cwd=cwd,
            env={
                **{k: v for k, v in env.items() if not k.startswith("NORTHFLANK_")},
                "NORTHFLANK_BASE_URL": server.url,
                "NORTHFLANK_API_TOKEN": "docs-token",
            },
            capture_output=True,
            encoding="utf-8",
            stdin=subprocess.DEVNULL,
            timeout=RUN_SECONDS,
            check=False,
        )
        return Ran(done, list(server.requests))


def _assert_sent_as_specified(operation: str, ran: Ran) -> None:
    """Success; the first request is the operation's: method, path, query, headers, body."""
    assert ran.done.returncode == 0, ran.done.stdout + ran.done.stderr
    route, method, _ = OPERATIONS[operation]
    request = ran.requests[0]
    url = urlsplit(request.path)
    assert request.method == method
    assert url.path == route.format(teamId=TEAM, widgetId=WIDGET)
    assert request.headers["authorization"] == "Bearer docs-token"
    assert (request.body != b"") == (operation in ("createWidget", "putWidget")), request.body
    assert dict(parse_qsl(url.query)) == EXAMPLE_QUERIES.get(operation, {})
    assert request.headers.get("x-trace-id") == ("0a1b2c3d" if operation == "listWidgets" else None)


EXAMPLE_QUERIES = {"listWidgets": {"per_page": "2"}, "rebuildWidget": {"priority": "1"}}
"""The query each operation's examples send."""
ALL_WIDGETS = [WIDGET, "widget-0", "widget-1", "widget-2"]
"""What a walk of every page of the list prints, in order."""


@pytest.fixture
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        if os.environ.get("NF_REQUIRE_BROWSER") == "1":
            pytest.fail("missing curl (NF_REQUIRE_BROWSER=1 forbids skipping)")
        pytest.skip("missing curl")
    return path


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_curl_example_runs_as_printed(
    curl: str, by_id: dict[str, Any], operation: str, tmp_path: Path
) -> None:
    """The example unchanged; a shell function around curl fails on an error status and
    prints the status last."""
    wrapper = (
        'curl() { command curl --silent --show-error --fail-with-body -w "\\n%{http_code}" "$@"; }'
    )
    script = f"{wrapper}\n{_code(by_id, operation, 'curl')}"
    ran = _run_example(operation, ["bash", "-c", script], tmp_path, dict(os.environ))
    _assert_sent_as_specified(operation, ran)
    [status] = [s for s in OPERATIONS[operation][2]["responses"] if 200 <= int(s) < 300]
    assert ran.done.stdout.rsplit("\n", 1)[-1] == status
    assert len(ran.requests) == 1


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_python_example_runs_as_printed(
    every_shape_generated: Path, by_id: dict[str, Any], operation: str, tmp_path: Path
) -> None:
    """In a subprocess with the fixture's package first on ``PYTHONPATH``."""
    script = tmp_path / "example.py"
    script.write_text(_code(by_id, operation, "python"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(every_shape_generated / "python")}
    ran = _run_example(operation, [sys.executable, str(script)], tmp_path, env)
    _assert_sent_as_specified(operation, ran)
    printed = ran.done.stdout.split()
    if operation == "listWidgets":
        assert printed == ALL_WIDGETS  # every page, walked by the loop
        assert len(ran.requests) == 2
    elif operation == "deleteWidget":
        assert printed == []
    else:
        assert printed == [WIDGET]


@pytest.fixture(scope="module")
def typescript_example_folder(
    every_shape_generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A folder whose ``node_modules/northflank-build`` is the fixture's package, built."""
    skip_unless_required(missing_node_tools())
    folder = tmp_path_factory.mktemp("docs-every-shape-ts")
    package = build_typescript_package(folder / "package", every_shape_generated / "typescript")
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "northflank-build").symlink_to(package, target_is_directory=True)
    return folder


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_typescript_example_runs_as_printed(
    typescript_example_folder: Path, by_id: dict[str, Any], operation: str
) -> None:
    script = typescript_example_folder / f"{operation}.mjs"
    script.write_text(_code(by_id, operation, "typescript"), encoding="utf-8")
    ran = _run_example(operation, ["node", str(script)], typescript_example_folder, node_env())
    _assert_sent_as_specified(operation, ran)
    printed = ran.done.stdout.split()
    if operation == "listWidgets":
        assert printed == ALL_WIDGETS  # .all(): every page
    elif operation == "deleteWidget":
        assert printed == []
    else:
        assert printed == [WIDGET]


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_cli_example_runs_as_printed(
    every_shape_generated: Path, by_id: dict[str, Any], operation: str, tmp_path: Path
) -> None:
    """``nf-build`` on ``PATH`` is the fixture's CLI; the example runs in bash unchanged."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    nf_build = bin_folder / "nf-build"
    nf_build.write_text(
        f"#!{sys.executable}\nfrom northflank_build._cli import main\n\nmain()\n",
        encoding="utf-8",
    )
    nf_build.chmod(0o755)
    env = {
        **base_env(tmp_path),
        "PATH": f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(every_shape_generated / "python"),
    }
    command = ["bash", "-c", _code(by_id, operation, "cli")]
    ran = _run_example(operation, command, tmp_path, env)
    _assert_sent_as_specified(operation, ran)
    assert len(ran.requests) == 1  # one page: the CLI walks on with --all only


# --------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browsed(page_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    missing = [
        what
        for what, present in (
            ("node on PATH", shutil.which("node") is not None),
            ("playwright-core (npm ci --prefix tools/node)", PLAYWRIGHT.exists()),
            (f"Chromium at {CHROMIUM}", os.access(CHROMIUM, os.X_OK)),
        )
        if not present
    ]
    if missing:
        if os.environ.get("NF_REQUIRE_BROWSER") == "1" or os.environ.get("NF_REQUIRE_NODE") == "1":
            pytest.fail(f"missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    folder = tmp_path_factory.mktemp("docs-every-shape")
    env = node_env(
        NF_DOCS_URL=page_path.as_uri(),
        NF_DOCS_SCREENSHOT=str(folder / "window.png"),
        NF_CHROMIUM=CHROMIUM,
        NF_PLAYWRIGHT=str(TOOLS_NODE / "package.json"),
    )
    done = subprocess.run(
        ["node", str(SCRIPT)],
        cwd=folder,
        env=env,
        capture_output=True,
        encoding="utf-8",
        stdin=subprocess.DEVNULL,
        timeout=BROWSER_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"tests/docs/operations.mjs failed:\n{done.stderr[-4000:]}", pytrace=False)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_page_runs_without_problems(browsed: dict[str, Any]) -> None:
    assert browsed["problems"] == []
    assert browsed["operations"] == list(OPERATIONS)


def test_nav_click_scrolls_to_the_operation(browsed: dict[str, Any]) -> None:
    assert [entry["hash"] for entry in browsed["nav"]] == [f"#{name}" for name in OPERATIONS]
    for entry in browsed["nav"]:
        assert entry["found"], entry
        assert entry["scrolled"] > 0, entry
        assert entry["inView"], entry
        assert entry["titleSeen"], entry


def test_tabs_switch_each_operations_panels_only(browsed: dict[str, Any]) -> None:
    tabs = browsed["tabs"]
    assert len(tabs) == 4 * len(OPERATIONS)
    for tab in tabs:
        assert tab["visible"] == [tab["controls"]], tab
        assert tab["selected"] == [tab["tab"]], tab
        assert tab["othersUnchanged"], tab
    assert [t["label"] for t in tabs[:4]] == ["curl", "nf-build", "Python", "TypeScript"]
