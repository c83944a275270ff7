"""The reference page, ``generated/docs/index.html``, as readers and their tools meet it.

* In headless Chromium (the system's, driven by ``tests/docs/page.mjs`` with the
  playwright-core pinned in ``tools/node``), served by a live sandbox at ``/docs``:
  it loads nothing but itself, its tabs, "Expand all", deep links and Copy work,
  every field of the spec is there with its type, badges and constraints (the
  expected set is computed here from ``spec/openapi.yaml``), and without
  JavaScript every example and every ``<details>`` is still there; for every operation. A full-page
  screenshot is kept in ``test-artifacts/docs-page.png``.
* Its examples run as printed, taken from the page itself: curl, ``nf-build`` and the
  Python and TypeScript clients, for every operation, against a live sandbox: each
  twice on a fresh one (no 409 the second time), with the sandbox's state checked
  after, and all of them on one sandbox in a shuffled order. The convention that makes
  this hold (``codegen/render/docs.py``): an example acting on ``example-service``
  first puts it (retry-safe), and the create example sends a name of its own and
  deletes what it made.
* The HTML parses without a single error (html5lib, strict), its ids are unique
  and its fragment links land on them. Every anchor starts with the operation's id
  (``createBuildService.body.name``), so one page holds any number of operations;
  ``tests/test_docs_every_shape.py`` checks a page of many.

Layout checks (rows fit their boxes, no sideways scroll at 800 px, a deep link's row
clear of the sticky header) are measured in the browser, not judged from pixels.

Without ``node`` or playwright-core (``npm ci --prefix tools/node``) the tests that
need them are skipped, unless NF_REQUIRE_NODE=1 (as in ``nox -s tests``) makes that
a failure; without Chromium or curl (system packages), unless NF_REQUIRE_BROWSER=1
(as in CI). ``NF_CHROMIUM`` names another Chromium.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import html5lib
import httpx
import pytest

from tests.cli_run import NF_BUILD, PROJECT, base_env
from tests.live_sandbox import ROOT, LiveSandbox, create_body, start_sandbox
from tests.spec_data import SPEC, oracle_for
from tests.typescript_build import node_env

DOCS = ROOT / "generated" / "docs" / "index.html"
PAGE_SCRIPT = ROOT / "tests" / "docs" / "page.mjs"
TOOLS_NODE = ROOT / "tools" / "node"
PLAYWRIGHT = TOOLS_NODE / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = os.environ.get("NF_CHROMIUM", "/usr/bin/chromium")
ARTIFACT = ROOT / "test-artifacts" / "docs-page.png"
BROWSER_SECONDS = 300  # one run takes a minute or so on a busy machine
RUN_SECONDS = 60

SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
REF_PREFIX = "#/components/schemas/"
METHODS = ("get", "put", "post", "patch", "delete")
OPERATIONS: dict[str, dict[str, Any]] = {
    str(op["operationId"]): op
    for item in SPEC["paths"].values()
    for method, op in item.items()
    if method in METHODS
}
"""Every operation of the (allOf-flattened) spec, by its id: the prefix of its anchors."""
SECTIONS = {
    f"{operation_id}.{section}": (operation_id, prefix)
    for operation_id in OPERATIONS
    for section, prefix in (
        ("request-body", "body"),
        ("responses", "response"),
        ("errors", "error"),
    )
}
"""The page's section id -> (operation, the prefix of its rows' anchors after the operation)."""
EXAMPLE_KEYS = ("curl", "cli", "python", "typescript")
EXAMPLE_BLOCKS = tuple(f"{op}.code.{key}" for op in OPERATIONS for key in EXAMPLE_KEYS)
RESPONSE_EXAMPLES = tuple(f"{op}.response-example" for op in OPERATIONS)
DEEP_LINK = "createBuildService.body.buildSettings.dockerfile.dockerFilePath"
SERVICE = "example-service"
"""The service the get, patch and delete examples act on, which they first put."""
CREATED = "another-example-service"
"""The service the create example makes (a name of its own) and then deletes."""


def _require(missing: list[str]) -> None:
    """Skip for what is missing, or fail when the environment forbids skipping it.

    Node and the npm tools come with ``nox -s tests`` (NF_REQUIRE_NODE=1 there);
    Chromium and curl are system packages, which CI installs and requires
    (NF_REQUIRE_BROWSER=1), and which a machine with only Python may lack.
    """
    if not missing:
        return
    why = f"missing {', '.join(missing)}"
    system = [m for m in missing if m.lower().startswith(("chromium", "curl"))]
    tools = [m for m in missing if m not in system]
    if system and os.environ.get("NF_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (NF_REQUIRE_BROWSER=1 forbids skipping)")
    if tools and os.environ.get("NF_REQUIRE_NODE") == "1":
        pytest.fail(f"{why} (NF_REQUIRE_NODE=1 forbids skipping)")
    pytest.skip(why)


def _run(
    command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = RUN_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="utf-8",
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------- the page's source


def _parse(text: str) -> Any:
    """The page as an ElementTree, from the same parser as browsers' (strict: errors raise)."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(text)


@pytest.fixture(scope="module")
def source() -> str:
    return DOCS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tree(source: str) -> Any:
    return _parse(source)


@pytest.fixture(scope="module")
def blocks(tree: Any) -> dict[str, str]:
    """The text of each example block, unescaped, as the page's own <code> elements hold it."""
    found = {
        element.get("id"): "".join(element.itertext())
        for element in tree.iter("code")
        if element.get("id") in (*EXAMPLE_BLOCKS, *RESPONSE_EXAMPLES)
    }
    assert sorted(found) == sorted((*EXAMPLE_BLOCKS, *RESPONSE_EXAMPLES))
    return found


def test_html_parses_without_errors(source: str) -> None:
    _parse(source)  # html5lib.html5parser.ParseError on the first error


def test_ids_are_unique(tree: Any) -> None:
    ids = [element.get("id") for element in tree.iter() if element.get("id") is not None]
    repeated = sorted({value for value in ids if ids.count(value) > 1})
    assert repeated == []
    assert all(ids), "an empty id attribute"


def test_fragment_links_land_on_ids(tree: Any) -> None:
    ids = {element.get("id") for element in tree.iter()}
    links = [element.get("href") for element in tree.iter("a") if element.get("href")]
    fragments = [unquote(href[1:]) for href in links if href.startswith("#") and href != "#"]
    assert len(fragments) > 100
    assert sorted({f for f in fragments if f not in ids}) == []


def test_every_field_name_links_to_a_row(tree: Any) -> None:
    empty = [
        "".join(element.itertext())
        for element in tree.iter("a")
        if element.get("class") == "name" and element.get("href") == "#"
    ]
    assert empty == []


def test_page_loads_nothing_else(tree: Any) -> None:
    """No stylesheet, script, image or font from elsewhere: the page is one file."""
    outside = [
        f"<{element.tag} {name}={value!r}>"
        for element in tree.iter()
        for name, value in element.attrib.items()
        if name in ("src", "srcset", "poster", "data", "action")
        or (name == "href" and element.tag != "a")
    ]
    assert outside == []


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(status, response)] = [(s, r) for s, r in op["responses"].items() if 200 <= int(s) < 300]
    return status, response


def _first_example(media: dict[str, Any]) -> Any:
    return next(iter(media["examples"].values()))["value"]


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_response_examples_are_the_specs(blocks: dict[str, str], operation_id: str) -> None:
    _, response = _success(OPERATIONS[operation_id])
    media = response["content"]["application/json"]
    shown = json.loads(blocks[f"{operation_id}.response-example"])
    assert shown == _first_example(media)
    oracle_for(media["schema"]["$ref"].removeprefix(REF_PREFIX)).validate(shown)


def test_error_examples_match_their_schema(tree: Any) -> None:
    errors = [
        json.loads("".join(element.itertext()))
        for pre in tree.iter("pre")
        if pre.get("class") == "error-example"
        for element in pre.iter("code")
    ]
    assert errors, "no error example"
    for body in errors:
        oracle_for("ErrorResponse").validate(body)


# --------------------------------------------------------------------------- the examples run


@pytest.fixture
def curl() -> str:
    """curl and jq (the create example reads the new service's id with it): system packages."""
    _require([what for what in ("curl", "jq") if shutil.which(what) is None])
    return "curl"


def _client_env(server: LiveSandbox, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHFLANK_")}
    return {
        **env,
        "NORTHFLANK_BASE_URL": server.url,
        "NORTHFLANK_API_TOKEN": server.admin_token,
        **extra,
    }


def _node_path() -> dict[str, str]:
    """``node_env``'s PATH (the pinned tools first), for the same ``node`` as the other tests."""
    return {"PATH": node_env()["PATH"]}


@dataclass(frozen=True)
class Runner:
    """Runs one example block, as printed, the way its surface is run."""

    folder: Path
    typescript_package: Path | None

    def run(self, block: str, code: str, server: LiveSandbox) -> subprocess.CompletedProcess[str]:
        key = block.rsplit(".", 1)[-1]
        if key == "curl":
            return _run(["bash", "-c", code], cwd=self.folder, env=_client_env(server))
        if key == "cli":
            env = {
                **base_env(self.folder),
                "PATH": f"{NF_BUILD.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "NORTHFLANK_BASE_URL": server.url,
                "NORTHFLANK_API_TOKEN": server.admin_token,
            }
            return _run(["bash", "-c", code], cwd=self.folder, env=env)
        if key == "python":
            script = self.folder / "example.py"
            script.write_text(code, encoding="utf-8")
            return _run([sys.executable, script], cwd=self.folder, env=_client_env(server))
        assert self.typescript_package is not None
        modules = self.folder / "node_modules"
        if not modules.exists():
            modules.mkdir()
            link = modules / "northflank-build"
            link.symlink_to(self.typescript_package, target_is_directory=True)
        script = self.folder / "example.mjs"
        script.write_text(code, encoding="utf-8")
        env = _client_env(server, **_node_path())
        return _run(["node", script], cwd=self.folder, env=env)


@pytest.fixture
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    """The TypeScript package is built (once a session) only for a test that runs it."""
    needs_node = "typescript" in request.node.name or "any_order" in request.node.name
    package = request.getfixturevalue("typescript_package") if needs_node else None
    if "curl" in request.node.name or "any_order" in request.node.name:
        request.getfixturevalue("curl")
    return Runner(tmp_path, package)


def _service(server: LiveSandbox, service_id: str) -> httpx.Response:
    url = f"{server.url}/v1/projects/{PROJECT}/services/{service_id}"
    return httpx.get(url, headers=server.headers, timeout=RUN_SECONDS)


def _put(server: LiveSandbox, name: str) -> None:
    url = f"{server.url}/v1/projects/{PROJECT}/services/build"
    answer = httpx.put(url, json=create_body(name), headers=server.headers, timeout=RUN_SECONDS)
    assert answer.status_code == 200, answer.text


OTHERS = ("Docs Alpha", "Docs Beta", "Docs Gamma")
"""Services a list example walks over (with its page size of 2: two pages)."""


def _check_state(operation_id: str, server: LiveSandbox, stdout: str) -> None:
    """What the operation's example leaves behind, and what it printed of it."""
    if operation_id == "listServices":
        listed = sorted(set(re.findall(r"docs-(?:alpha|beta|gamma)", stdout)))
        assert listed[:2] == ["docs-alpha", "docs-beta"], stdout  # at least the first page
        return
    if operation_id == "createBuildService":
        assert CREATED in stdout, stdout
        assert _service(server, CREATED).status_code == 404, "the create example cleans up"
        return
    if operation_id == "deleteService":
        assert _service(server, SERVICE).status_code == 404
        return
    assert SERVICE in stdout, stdout
    service = _service(server, SERVICE)
    assert service.status_code == 200, service.text
    if operation_id == "patchBuildService":
        patch = _first_example(
            OPERATIONS[operation_id]["requestBody"]["content"]["application/json"]
        )
        data = service.json()["data"]
        assert data["description"] == patch["description"]
        dockerfile = data["buildSettings"]["dockerfile"]
        assert (
            dockerfile["dockerFilePath"] == patch["buildSettings"]["dockerfile"]["dockerFilePath"]
        )


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_example_runs_twice_on_a_fresh_sandbox(
    blocks: dict[str, str], runner: Runner, sandbox: LiveSandbox, operation_id: str, key: str
) -> None:
    """As printed, twice: the second run meets what the first left, and still succeeds."""
    for name in OTHERS:
        _put(sandbox, name)
    block = f"{operation_id}.code.{key}"
    for attempt in (1, 2):
        done = runner.run(block, blocks[block], sandbox)
        assert done.returncode == 0, f"run {attempt}:\n{done.stdout}\n{done.stderr}"
        assert '"status":409' not in done.stdout.replace(" ", ""), done.stdout
        _check_state(operation_id, sandbox, done.stdout)


def test_python_list_example_walks_every_page(
    blocks: dict[str, str], runner: Runner, sandbox: LiveSandbox
) -> None:
    for name in OTHERS:
        _put(sandbox, name)
    done = runner.run("listServices.code.python", blocks["listServices.code.python"], sandbox)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["docs-alpha", "docs-beta", "docs-gamma"]


def test_typescript_list_example_gathers_every_page(
    blocks: dict[str, str], runner: Runner, sandbox: LiveSandbox
) -> None:
    for name in OTHERS:
        _put(sandbox, name)
    block = "listServices.code.typescript"
    done = runner.run(block, blocks[block], sandbox)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["docs-alpha", "docs-beta", "docs-gamma"]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_example_in_any_order(
    blocks: dict[str, str], runner: Runner, sandbox: LiveSandbox, seed: int
) -> None:
    """All the page's examples on one sandbox, shuffled: none fails, none meets a 409."""
    order = list(EXAMPLE_BLOCKS)
    random.Random(seed).shuffle(order)
    failed = {}
    for block in order:
        done = runner.run(block, blocks[block], sandbox)
        if done.returncode != 0 or '"status":409' in done.stdout.replace(" ", ""):
            failed[block] = done.stdout[-500:] + done.stderr[-500:]
    assert failed == {}, order


def test_examples_say_how_they_stay_rerunnable(blocks: dict[str, str]) -> None:
    """Put is shown as the retry-safe way; create cleans up; the others put first."""
    for key in EXAMPLE_KEYS:
        assert "Retry-safe" in blocks[f"putBuildService.code.{key}"], key
        create = blocks[f"createBuildService.code.{key}"]
        for words in ("409 Conflict", "retry-safe way", "Clean up", "Another Example Service"):
            assert words in create, (key, words)
        for operation_id in ("getService", "patchBuildService", "deleteService"):
            code = blocks[f"{operation_id}.code.{key}"]
            assert "put creates it" in code, (operation_id, key)
        assert "put creates it" not in blocks[f"listServices.code.{key}"], key


# --------------------------------------------------------------------------- in the browser


@dataclass(frozen=True)
class Browsed:
    result: dict[str, Any]
    url: str
    screenshot: Path


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


@pytest.fixture(scope="module")
def browsed(tmp_path_factory: pytest.TempPathFactory) -> Browsed:
    """``tests/docs/page.mjs`` once against a live sandbox's ``/docs``."""
    node = shutil.which("node")
    _require(
        [
            what
            for what, present in (
                ("node on PATH", node is not None),
                ("playwright-core (npm ci --prefix tools/node)", PLAYWRIGHT.exists()),
                (f"Chromium at {CHROMIUM} (apt-get install chromium)", _executable(CHROMIUM)),
            )
            if not present
        ]
    )
    folder = tmp_path_factory.mktemp("docs-page")
    screenshot = folder / "docs-page.png"
    server = start_sandbox(folder / "sandbox", "--quiet", "--rate-limit", "off")
    try:
        url = f"{server.url}/docs"
        env = node_env(
            NF_DOCS_URL=url,
            NF_DOCS_SCREENSHOT=str(screenshot),
            NF_CHROMIUM=CHROMIUM,
            NF_PLAYWRIGHT=str(TOOLS_NODE / "package.json"),
            NF_DOCS_DEEP_LINK=DEEP_LINK,
        )
        done = _run(["node", PAGE_SCRIPT], cwd=folder, env=env, timeout=BROWSER_SECONDS)
    finally:
        server.stop()
    if done.returncode != 0:
        pytest.fail(f"tests/docs/page.mjs failed:\n{done.stderr[-4000:]}", pytrace=False)
    if screenshot.exists():
        ARTIFACT.parent.mkdir(exist_ok=True)
        partial = ARTIFACT.with_name(f".{ARTIFACT.name}.{os.getpid()}")
        shutil.copyfile(screenshot, partial)
        partial.replace(ARTIFACT)  # whole, even with several workers writing it
    return Browsed(json.loads(done.stdout), url, screenshot)


def test_page_requests_only_itself(browsed: Browsed) -> None:
    requests = browsed.result["requests"] + browsed.result["noScript"]["requests"]
    others = sorted({r["url"] for r in requests if r["url"].split("#")[0] != browsed.url})
    assert others == []
    assert {r["resourceType"] for r in requests} == {"document"}
    assert browsed.result["status"] == 200
    assert browsed.result["contentType"].startswith("text/html")


def test_page_runs_without_errors(browsed: Browsed) -> None:
    """No console error or warning, no uncaught exception, no CSP violation; standards mode."""
    assert browsed.result["problems"] == []
    assert browsed.result["noScript"]["problems"] == []
    assert browsed.result["compatMode"] == "CSS1Compat"
    assert browsed.result["scriptRan"] is True
    assert browsed.result["title"] == SPEC["info"]["title"]


def test_each_tab_shows_its_panel_only(browsed: Browsed) -> None:
    """Every operation's tabs; each switches its own operation's panels."""
    assert sorted(browsed.result["tabs"]) == sorted(OPERATIONS)
    for operation_id, tabs in browsed.result["tabs"].items():
        assert [tab["label"] for tab in tabs] == ["curl", "nf-build", "Python", "TypeScript"]
        panels = {tab["controls"] for tab in tabs}
        assert panels == {f"{operation_id}.example.{key}" for key in EXAMPLE_KEYS}
        for tab in tabs:
            assert tab["visible"] == [tab["controls"]], tab
            assert set(tab["hidden"]) == panels - {tab["controls"]}, tab
            assert tab["selected"] == [tab["controls"].replace(".example.", ".tab.")], tab


def test_expand_and_collapse_all(browsed: Browsed) -> None:
    """In every section with a tree: every body, response and error envelope."""
    expand = browsed.result["expand"]
    with_body = [op for op, spec in OPERATIONS.items() if "requestBody" in spec]
    assert sorted(expand) == sorted(
        [f"{op}.{section}" for op in OPERATIONS for section in ("responses", "errors")]
        + [f"{op}.request-body" for op in with_body]
    )
    assert expand["createBuildService.request-body"]["before"]["total"] >= 10
    for section, state in expand.items():
        total = state["before"]["total"]
        assert state["before"] == {"total": total, "open": 0}, section
        assert state["afterExpand"] == {"total": total, "open": total}, section
        assert state["afterCollapse"] == {"total": total, "open": 0}, section


def test_examples_in_the_browser_are_the_source_text(
    browsed: Browsed, blocks: dict[str, str], tree: Any
) -> None:
    assert browsed.result["code"] == blocks
    assert browsed.result["errorExamples"] == [
        "".join(code.itertext())
        for pre in tree.iter("pre")
        if pre.get("class") == "error-example"
        for code in pre.iter("code")
    ]


def test_copy_button_copies_its_example(browsed: Browsed) -> None:
    assert sorted(browsed.result["copy"]) == sorted(OPERATIONS)
    for operation_id, copy in browsed.result["copy"].items():
        assert copy["target"] == f"{operation_id}.code.curl"
        assert copy["label"] == "Copied"
        assert copy["clipboard"] == copy["expected"] != ""


def test_hash_change_reveals_a_nested_row(browsed: Browsed) -> None:
    state = browsed.result["deepLink"]["onHashChange"]
    assert state["found"], state
    assert state["targeted"], state
    assert state["closedAncestors"] == [], state
    assert state["inView"], state
    assert state["nameSeen"], state


def test_deep_link_opens_the_rows_ancestors(browsed: Browsed) -> None:
    state = browsed.result["deepLink"]["onLoad"]
    assert state["found"], state
    assert state["targeted"], state
    assert state["visible"], state
    assert state["closedAncestors"] == [], state


def test_deep_link_shows_the_row_below_the_header(browsed: Browsed) -> None:
    state = browsed.result["deepLink"]["onLoad"]
    assert state["nameSeen"], state
    assert state["inView"], state


def test_field_rows_fit_their_boxes(browsed: Browsed) -> None:
    assert browsed.result["layout"]["wide"]["overflowingRows"] == []


def test_narrow_window_does_not_scroll_sideways(browsed: Browsed) -> None:
    narrow = browsed.result["layout"]["narrow"]
    assert narrow["pageWidth"] <= narrow["viewportWidth"], narrow


def test_wide_window_does_not_scroll_sideways(browsed: Browsed) -> None:
    wide = browsed.result["layout"]["wide"]
    assert wide["pageWidth"] <= wide["viewportWidth"], wide


def test_screenshot_is_a_full_page_png(browsed: Browsed) -> None:
    for path in (browsed.screenshot, ARTIFACT):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        assert data[12:16] == b"IHDR", path
        width, height = struct.unpack(">II", data[16:24])
        assert width == 1440, (path, width)
        assert height > 3000, (path, height)  # the whole page, every <details> open
        assert 50_000 < len(data) < 30_000_000, (path, len(data))


def test_without_javascript(browsed: Browsed) -> None:
    """Every example shown with its heading; the script-only controls hidden; the trees there."""
    no_script = browsed.result["noScript"]
    assert no_script["scriptRan"] is False
    assert [p["id"] for p in no_script["panels"]] == [
        f"{op}.example.{key}" for op in browsed.result["operations"] for key in EXAMPLE_KEYS
    ]
    assert sorted(browsed.result["operations"]) == sorted(OPERATIONS)
    for panel in no_script["panels"]:
        assert panel["visible"], panel
        assert panel["headingVisible"], panel
        assert panel["codeVisible"], panel
    assert not no_script["tablistVisible"]
    assert not no_script["copyVisible"]
    assert not no_script["treeToolsVisible"]
    assert no_script["details"] == {
        section: state["before"] for section, state in browsed.result["expand"].items()
    }
    assert no_script["detailsTotal"] == browsed.result["detailsTotal"]
    assert no_script["fieldRows"] == len(browsed.result["fields"])
    assert no_script["summaryOpens"] is True


# --------------------------------------------------------------------------- fields and the spec


@dataclass(frozen=True)
class Field:
    """What the page must show of one property, computed from the spec."""

    required: bool
    type: str
    constraints: tuple[tuple[str, Any], ...]
    enum: tuple[str, ...]
    deprecated: bool
    description: str
    value_description: str
    """The description of an array's items or a map's values, where it has its own."""


STRING_AND_NUMBER_KEYWORDS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
)
ARRAY_KEYWORDS = ("minItems", "maxItems")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref``'s target, resolved in turn, with the keywords beside the ``$ref`` over it."""
    resolved: dict[str, Any] = {}
    ref = node.get("$ref")
    if ref is not None:
        assert ref.startswith(REF_PREFIX), ref
        resolved.update(_resolve(SCHEMAS[ref.removeprefix(REF_PREFIX)]))
    resolved.update((key, value) for key, value in node.items() if key != "$ref")
    return resolved


def _values(schema: dict[str, Any]) -> dict[str, Any] | None:
    """An array's items, or a map's values (an object with only ``additionalProperties``)."""
    if schema.get("type") == "array":
        return _resolve(schema["items"])
    extra = schema.get("additionalProperties")
    if schema.get("type") == "object" and "properties" not in schema and isinstance(extra, dict):
        return _resolve(extra)
    return None


def _type(schema: dict[str, Any]) -> str:
    if "oneOf" in schema:
        return "one of"
    values = _values(schema)
    if values is not None:
        kind = "array" if schema["type"] == "array" else "map"
        return f"{kind} of {_type(values)}"
    return str(schema["type"])


def _words(text: str) -> str:
    """Prose as the page shows it: one space between words, `code` spans without backticks."""
    return " ".join(text.replace("`", "").split())


def _field(schema: dict[str, Any], required: bool) -> Field:
    values = _values(schema)
    constraints = {key: schema[key] for key in ARRAY_KEYWORDS if key in schema}
    shown = values if values is not None else schema
    constraints |= {key: shown[key] for key in STRING_AND_NUMBER_KEYWORDS if key in shown}
    own = _words(schema.get("description", ""))
    of_values = _words((values or {}).get("description", ""))
    return Field(
        required=required,
        type=_type(schema),
        constraints=tuple(sorted(constraints.items())),
        enum=tuple(
            v if isinstance(v, str) else json.dumps(v)
            for v in shown.get("enum", [])
            if _within_bounds(shown, v)
        ),
        deprecated=bool(schema.get("deprecated", False)),
        description=own,
        value_description=of_values if of_values != own else "",
    )


def _within_bounds(schema: dict[str, Any], value: Any) -> bool:
    """Whether an enum value also meets its schema's numeric bounds (the page lists only those)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return (
        value >= schema.get("minimum", value)
        and value <= schema.get("maximum", value)
        and ("exclusiveMinimum" not in schema or value > schema["exclusiveMinimum"])
        and ("exclusiveMaximum" not in schema or value < schema["exclusiveMaximum"])
    )


def _walk(schema: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, Field]]:
    """Every property under ``schema``, in order: each ``oneOf`` branch, each map's values."""
    required = set(schema.get("required", []))
    for name, node in schema.get("properties", {}).items():
        child = _resolve(node)
        here = (*path, name)
        yield ".".join(here), _field(child, name in required)
        values = _values(child)
        if "oneOf" in child:
            for branch in child["oneOf"]:
                yield from _walk(_resolve(branch), here)
        elif "properties" in child:
            yield from _walk(child, here)
        elif values is not None:
            yield from _walk(values, (*here, "*"))


def _media_schema(owner: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in owner:
        owner = SPEC["components"]["responses"][owner["$ref"].rsplit("/", 1)[-1]]
    return _resolve(owner["content"]["application/json"]["schema"])


@functools.cache
def _expected() -> dict[tuple[str, str], list[tuple[str, Field]]]:
    """Per (operation, prefix), (path, field) for every property the spec gives its body,
    success response and error responses, in document order."""
    expected = {}
    for operation_id, op in OPERATIONS.items():
        errors = [r for status, r in op["responses"].items() if int(status) >= 400]
        error_schemas = {json.dumps(_media_schema(r), sort_keys=True) for r in errors}
        assert len(error_schemas) == 1, f"{operation_id}: the page shows one error envelope"
        if "requestBody" in op:
            expected[operation_id, "body"] = list(_walk(_media_schema(op["requestBody"]), ()))
        expected[operation_id, "response"] = list(_walk(_media_schema(_success(op)[1]), ()))
        expected[operation_id, "error"] = list(_walk(_media_schema(errors[0]), ()))
    return expected


TREES = sorted(
    (operation_id, prefix)
    for operation_id, op in OPERATIONS.items()
    for prefix in ("body", "response", "error")
    if prefix != "body" or "requestBody" in op
)
"""Every (operation, prefix) whose rows the page shows."""


CONSTRAINT_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"exactly (\d+) characters", ("minLength", "maxLength")),
    (r"(\d+) to (\d+) characters", ("minLength", "maxLength")),
    (r"at most (\d+) characters", ("maxLength",)),
    (r"at least (\d+) characters", ("minLength",)),
    (r"at least (\d+) items", ("minItems",)),
    (r"at most (\d+) items", ("maxItems",)),
    (r"minimum (\S+)", ("minimum",)),
    (r"maximum (\S+)", ("maximum",)),
    (r"greater than (\S+)", ("exclusiveMinimum",)),
    (r"less than (\S+)", ("exclusiveMaximum",)),
)


def _read_constraints(texts: list[str]) -> tuple[tuple[str, Any], ...]:
    """The page's constraint texts back into JSON Schema keywords."""
    found: dict[str, Any] = {}
    for text in texts:
        # "each item: ..." or "each value: ...": a keyword of the items or values, which the
        # expected fields merge into the field's own.
        text = re.sub(r"^each (?:item|value): ", "", text)
        if text.startswith("pattern: "):
            found["pattern"] = text.removeprefix("pattern: ")
            continue
        for regex, keywords in CONSTRAINT_TEXTS:
            if match := re.fullmatch(regex, text):
                numbers = [json.loads(group) for group in match.groups()]
                if len(numbers) == 1:  # "exactly N characters": both bounds
                    numbers *= len(keywords)
                found |= dict(zip(keywords, numbers, strict=True))
                break
        else:
            raise AssertionError(f"a constraint the test cannot read: {text!r}")
    return tuple(sorted(found.items()))


def _shown(row: dict[str, Any]) -> Field:
    text = row["description"] or ""
    own, of_values = text, ""
    if match := re.search(r"(?:^| )Each (?:item|value): ", text):
        own, of_values = text[: match.start()], text[match.end() :]
    return Field(
        required=row["required"],
        type=row["type"],
        constraints=_read_constraints(row["constraints"]),
        enum=tuple(row["enum"]),
        deprecated=row["deprecated"],
        description=own,
        value_description=of_values,
    )


def _rows(browsed: Browsed) -> dict[tuple[str, str], list[tuple[str, dict[str, Any]]]]:
    """Per (operation, prefix), (path, row) for every li.field the browser saw, in order."""
    rows: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {key: [] for key in TREES}
    for row in browsed.result["fields"]:
        if row["section"] in SECTIONS:
            rows[SECTIONS[row["section"]]].append((row["path"] or row["name"], row))
    return rows


def test_constraint_texts_read_back() -> None:
    assert _read_constraints(["exactly 24 characters"]) == (("maxLength", 24), ("minLength", 24))
    assert _read_constraints(["3 to 54 characters", "pattern: ^a b$"]) == (
        ("maxLength", 54),
        ("minLength", 3),
        ("pattern", "^a b$"),
    )
    assert _read_constraints(["minimum 400", "maximum 599"]) == (
        ("maximum", 599),
        ("minimum", 400),
    )


def test_every_tree_is_on_the_page(browsed: Browsed) -> None:
    seen = {
        SECTIONS[row["section"]] for row in browsed.result["fields"] if row["section"] in SECTIONS
    }
    assert sorted(seen) == TREES


@pytest.mark.parametrize(("operation_id", "prefix"), TREES)
def test_every_spec_field_is_shown(browsed: Browsed, operation_id: str, prefix: str) -> None:
    """The same paths, in the same order, each with its type, badges and constraints."""
    expected = _expected()[operation_id, prefix]
    rows = _rows(browsed)[operation_id, prefix]
    assert [path for path, _ in rows] == [path for path, _ in expected]
    wrong = {
        path: {"spec": want, "page": got}
        for (path, want), (_, row) in zip(expected, rows, strict=True)
        if (got := _shown(row)) != want
    }
    assert wrong == {}


@pytest.mark.parametrize(("operation_id", "prefix"), TREES)
def test_rows_are_anchored_at_their_paths(browsed: Browsed, operation_id: str, prefix: str) -> None:
    """The first row of each path has the id ``<operationId>.<prefix>.<path>``; a repeated one
    has none."""
    seen: set[str] = set()
    for path, row in _rows(browsed)[operation_id, prefix]:
        anchor = f"{operation_id}.{prefix}.{path}"
        assert row["id"] == (None if path in seen else anchor), row
        seen.add(path)
        if row["id"]:
            assert row["href"] == f"#{anchor}", row
        assert row["visible"], f"{anchor} is hidden with every <details> open"
        has_fields = any(p.startswith(f"{path}.") for p, _ in _expected()[operation_id, prefix])
        assert row["parent"] == (row["type"] == "one of" or has_fields), row


def test_deep_link_row_is_in_the_dockerfile_alternative(browsed: Browsed) -> None:
    rows = {row["id"]: row for row in browsed.result["fields"] if row["id"]}
    assert rows[DEEP_LINK]["alternative"] == "Dockerfile build"
    assert rows[DEEP_LINK]["required"] is True


def _parameter(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return dict(SPEC["components"]["parameters"][node["$ref"].rsplit("/", 1)[-1]])
    return node


def _parameter_constraints(schema: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    keys = (*STRING_AND_NUMBER_KEYWORDS, *ARRAY_KEYWORDS)
    return tuple(sorted((key, schema[key]) for key in keys if key in schema))


def test_parameter_tables_are_shown(tree: Any) -> None:
    """For every operation, a table per location, a row per parameter: anchored, with its
    type, badges, description and constraints."""
    shown = []
    for table in tree.iter("table"):
        location = table.get("data-location")
        if location is None:
            continue
        for row in table.iter("tr"):
            if row.get("class") != "parameter":
                continue
            name = next(a for a in row.iter("a") if a.get("class") == "name")
            badges = {
                "".join(b.itertext()) for b in row.iter("span") if "badge" in b.get("class", "")
            }
            cells = row.findall("td")
            description = next(p for p in cells[2].iter("p") if p.get("class") == "description")
            constraints = [
                "".join(item.itertext())
                for ul in cells[2].iter("ul")
                if ul.get("class") == "constraints"
                for item in ul.iter("li")
            ]
            shown.append(
                (
                    row.get("id"),
                    name.get("href"),
                    "".join(name.itertext()),
                    "".join(cells[1].itertext()),
                    "required" in badges,
                    " ".join("".join(description.itertext()).split()),
                    _read_constraints(constraints),
                )
            )
    expected = []
    for operation_id, op in OPERATIONS.items():
        parameters = [_parameter(p) for p in op.get("parameters", [])]
        for location in ("path", "query", "header"):
            for p in parameters:
                if p["in"] != location:
                    continue
                anchor = f"{operation_id}.{location}.{p['name']}"
                expected.append(
                    (
                        anchor,
                        f"#{anchor}",
                        p["name"],
                        p["schema"]["type"],
                        p.get("required", False),
                        _words(p["description"]),
                        _parameter_constraints(p["schema"]),
                    )
                )
    assert sorted(shown) == sorted(expected)
    assert any(row[0].split(".")[1] == "query" for row in expected)


def test_item_and_value_descriptions_are_shown(browsed: Browsed) -> None:
    rows = {row["id"]: row for row in browsed.result["fields"] if row["id"]}
    missing = {
        f"{operation_id}.{prefix}.{path}": field.value_description
        for (operation_id, prefix), fields in _expected().items()
        for path, field in fields
        if field.value_description
        and field.value_description
        not in (rows[f"{operation_id}.{prefix}.{path}"]["description"] or "")
    }
    assert missing == {}


def test_listed_values_are_within_the_bounds(browsed: Browsed) -> None:
    outside = {}
    for row in browsed.result["fields"]:
        bounds = dict(_read_constraints(row["constraints"]))
        low, high = bounds.get("minimum", -math.inf), bounds.get("maximum", math.inf)
        if row["type"] not in ("integer", "number"):
            continue
        numbers = [json.loads(value) for value in row["enum"]]
        if wrong := [n for n in numbers if not low <= n <= high]:
            outside[row["id"] or row["path"]] = wrong
    assert outside == {}
