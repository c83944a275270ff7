"""The Python client for every shape of operation: the fixture spec's package against its server.

The fixture spec (`tests/fixtures/every_shape.yaml`) is generated into a
temporary folder; a small script per group of checks imports its package in
a subprocess (``PYTHONPATH`` at that tree, never imported here) and calls an
`EveryShapeServer` running in this process, whose ``requests`` show exactly
what arrived, or that nothing did. Each script runs once through `Client` and
once through `AsyncClient`: ``await value(...)`` takes either's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.every_shape_server import EveryShapeServer, RecordedRequest

TEAM = "team-one"
TRACE_ID = "0a1b2c3d"
MODES = ("sync", "async")
TIMEOUT = 60

PRELUDE = """
import asyncio, inspect, json, sys
from northflank_build import *

MODE, URL, TEAM = sys.argv[1:4]
out = {}

def client(**options):
    kind = Client if MODE == "sync" else AsyncClient
    return kind(token="fixture-token", base_url=URL, max_retries=0, **options)

async def value(answer):
    return await answer if inspect.isawaitable(answer) else answer

def dump(model):
    return model.model_dump(mode="json")
"""

EPILOGUE = """
asyncio.run(main())
print(json.dumps(out))
"""


@pytest.fixture
def server() -> Iterator[EveryShapeServer]:
    with EveryShapeServer() as running:
        yield running


def run_script(generated: Path, server: EveryShapeServer, mode: str, script: str) -> Any:
    """Run ``script`` (it defines ``async def main()`` filling ``out``); ``out`` as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHFLANK_")}
    env["PYTHONPATH"] = str(generated / "python")
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + script + EPILOGUE, mode, server.url, TEAM],
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wire(request: RecordedRequest) -> tuple[str, str, list[tuple[str, str]], Any]:
    """What arrived: method, path without its query, query pairs, JSON body or ``None``."""
    path = request.path.split("?", 1)[0]
    return request.method, path, list(request.query), request.json()


def widgets_path(widget: str = "", rest: str = "") -> str:
    return f"/v1/teams/{TEAM}/widgets" + (f"/{widget}{rest}" if widget else "")


# --- Every operation, every method --------------------------------------------------------

OPERATIONS = """
async def main():
    c, raw_c = client(), client().with_raw_response
    team, alpha = {"team_id": TEAM}, {"team_id": TEAM, "widget_id": "alpha"}
    body = {"name": "alpha", "size": 2, "tags": ["no"]}
    out["created"] = dump(await value(c.create.widget(**team, data=body)))
    model = WidgetRequest(name="beta")
    out["created_from_model"] = dump(await value(c.create.widget(**team, data=model)))
    out["got"] = dump(await value(c.get.widget(**alpha)))
    gamma = {"name": "gamma", "size": 3}
    out["put"] = dump(await value(c.put.widget(**team, widget_id="gamma", data=gamma)))
    out["patched"] = dump(await value(c.patch.widget(**alpha, data={"size": 5})))
    out["patched_without_body"] = dump(await value(c.patch.widget(**alpha)))
    out["status"] = dump(await value(c.get.widget_status(**alpha)))
    out["rebuilt"] = dump(await value(c.rebuild.widget(**alpha, priority=3)))
    raw = await value(raw_c.rebuild.widget(**alpha, priority=1))
    out["rebuilt_raw"] = [raw.status_code, dump(raw.parse())]
    out["deleted"] = await value(
        c.delete.widget(**team, widget_id="beta", delete_child_objects=True)
    )
    raw = await value(
        raw_c.delete.widget(**team, widget_id="gamma", delete_child_objects=False)
    )
    out["deleted_raw"] = [raw.status_code, raw.parse(), raw.content.decode()]
    page = await value(
        c.list.widgets(**team, per_page=10, page=1, size=5, x_trace_id="0a1b2c3d")
    )
    out["listed"] = [dump(w) for w in page.items]
    try:
        await value(c.get.widget(**team, widget_id="beta"))
    except NotFoundError as error:
        out["gone"] = error.status_code
"""


@pytest.mark.parametrize("mode", MODES)
def test_every_operation_sends_what_the_spec_says(
    mode: str, every_shape_generated: Path, server: EveryShapeServer
) -> None:
    out = run_script(every_shape_generated, server, mode, OPERATIONS)

    alpha = {"id": "alpha", "name": "alpha", "size": 2, "tags": ["no"]}
    assert out["created"] == alpha
    assert out["created_from_model"] == {"id": "beta", "name": "beta", "size": 1}
    assert out["got"] == alpha
    assert out["put"] == {"id": "gamma", "name": "gamma", "size": 3}
    assert out["patched"] == out["patched_without_body"] == {**alpha, "size": 5}
    assert out["status"] == {"id": "alpha", "state": "on"}
    assert out["rebuilt"] == {"id": "alpha", "state": "yes"}
    assert out["rebuilt_raw"] == [202, {"id": "alpha", "state": "yes"}]
    assert out["deleted"] is None
    assert out["deleted_raw"] == [204, None, ""]
    assert out["listed"] == [{**alpha, "size": 5}]
    assert out["gone"] == 404

    alpha_path = widgets_path("alpha")
    assert [wire(r) for r in server.requests] == [
        ("POST", widgets_path(), [], {"name": "alpha", "size": 2, "tags": ["no"]}),
        ("POST", widgets_path(), [], {"name": "beta"}),
        ("GET", alpha_path, [], None),
        ("PUT", widgets_path("gamma"), [], {"name": "gamma", "size": 3}),
        ("PATCH", alpha_path, [], {"size": 5}),
        ("PATCH", alpha_path, [], None),
        ("GET", widgets_path("alpha", "/status"), [], None),
        ("POST", widgets_path("alpha", "/rebuild"), [("priority", "3")], None),
        ("POST", widgets_path("alpha", "/rebuild"), [("priority", "1")], None),
        ("DELETE", widgets_path("beta"), [("delete_child_objects", "true")], None),
        ("DELETE", widgets_path("gamma"), [("delete_child_objects", "false")], None),
        ("GET", widgets_path(), [("per_page", "10"), ("page", "1"), ("size", "5")], None),
        ("GET", widgets_path("beta"), [], None),
    ]
    for request in server.requests:
        assert request.headers["authorization"] == "Bearer fixture-token"
        assert request.headers["accept"] == "application/json"
        has_body = request.body != b""
        assert ("content-type" in request.headers) is has_body, request
    traced = [r.headers.get("x-trace-id") for r in server.requests]
    assert traced == [None] * 11 + [TRACE_ID, None]  # only the list was given one
    assert server.requests[1].body == b'{"name":"beta"}'


# --- Parameters are checked before anything is sent ----------------------------------------

INVALID = """
async def main():
    c = client()
    cases = [
        ("list.widgets", {"per_page": 101}),
        ("list.widgets", {"per_page": 0}),
        ("list.widgets", {"size": 8}),
        ("list.widgets", {"size": 4}),
        ("list.widgets", {"x_trace_id": "0A1B2C3D"}),
        ("list.widgets", {"per_page": "10"}),
        ("list.widgets", {"per_page": True}),
        ("list.widgets", {"page": 1.5}),
        ("delete.widget", {"widget_id": "alpha", "delete_child_objects": "true"}),
        ("delete.widget", {"widget_id": "alpha", "delete_child_objects": 1}),
        ("rebuild.widget", {"widget_id": "alpha", "priority": 8}),
        ("rebuild.widget", {"widget_id": "alpha", "priority": "3"}),
        ("rebuild.widget", {"widget_id": "alpha", "priority": NOT_GIVEN}),
        ("get.widget", {"widget_id": "Not A Slug"}),
        ("patch.widget", {"widget_id": "alpha", "data": {"size": 4}}),
        ("create.widget", {"data": {"name": "fine-name", "bogus": 1}}),
    ]
    out["refused"] = []
    for call, arguments in cases:
        method = c
        for level in call.split("."):
            method = getattr(method, level)
        try:
            await value(method(team_id=TEAM, **arguments))
        except RequestValidationError as error:
            out["refused"].append([[e.path, e.rule] for e in error.errors])
        else:
            out["refused"].append("sent")
    try:
        await value(c.rebuild.widget(team_id=TEAM, widget_id="alpha"))
    except TypeError as error:
        out["missing"] = str(error)
    out["sent_before_skipping"] = json.loads(
        __import__("urllib.request").request.urlopen(URL + "/_test/requests").read()
    )
    await value(c.list.widgets(team_id=TEAM, per_page=101, skip_validation=True))
"""


@pytest.mark.parametrize("mode", MODES)
def test_invalid_parameters_are_refused_before_sending(
    mode: str, every_shape_generated: Path, server: EveryShapeServer
) -> None:
    out = run_script(every_shape_generated, server, mode, INVALID)
    assert out["refused"] == [
        [["$.per_page", "maximum"]],
        [["$.per_page", "minimum"]],
        [["$.size", "maximum"]],
        [["$.size", "enum"]],
        [['$["X-Trace-Id"]', "pattern"]],
        [["$.per_page", "type"]],
        [["$.per_page", "type"]],
        [["$.page", "type"]],
        [["$.delete_child_objects", "type"]],
        [["$.delete_child_objects", "type"]],
        [["$.priority", "enum"]],  # 8 is in the enum but above its maximum
        [["$.priority", "enum"]],
        [["$.priority", "required"]],
        [["$.widgetId", "pattern"]],
        [["$.size", "enum"]],
        [["$.bogus", "additionalProperties"]],
    ]
    assert "priority" in out["missing"]
    assert out["sent_before_skipping"] == []
    # skip_validation=True sends the value as it is: the server judges.
    assert [wire(r) for r in server.requests] == [
        ("GET", widgets_path(), [("per_page", "101")], None)
    ]


# --- Pagination -------------------------------------------------------------------------------

PAGINATION = """
async def main():
    c = client()
    if MODE == "sync":
        out["every_item"] = [w.id for w in c.list.widgets(team_id=TEAM)]
    else:
        out["every_item"] = [w.id async for w in c.list.widgets(team_id=TEAM)]
    first = await value(c.list.widgets(team_id=TEAM, x_trace_id="0a1b2c3d"))
    out["page_type"] = type(first).__name__
    out["first"] = [first.has_next_page(), first.pagination.cursor, first.pagination.count]
    pages = [first]
    while pages[-1].has_next_page():
        pages.append(await value(pages[-1].next_page()))
    out["pages"] = [[w.id for w in page.items] for page in pages]
    out["last"] = [pages[-1].has_next_page(), pages[-1].pagination.cursor]
    try:
        await value(pages[-1].next_page())
    except ValueError as error:
        out["past_the_last"] = str(error)
    if MODE == "sync":
        out["walked"] = [len(page.items) for page in first.iter_pages()]
        out["from_first"] = [w.id for w in first]
    else:
        out["walked"] = [len(page.items) async for page in first.iter_pages()]
        out["from_first"] = [w.id async for w in first]
    raw = await value(c.with_raw_response.list.widgets(team_id=TEAM, per_page=3))
    page = raw.parse()
    out["raw"] = [raw.status_code, type(page).__name__, [w.id for w in page.items]]
    out["raw_next"] = [w.id for w in (await value(page.next_page())).items]
"""


@pytest.mark.parametrize("mode", MODES)
def test_pages_are_walked_by_cursor(
    mode: str, every_shape_generated: Path, server: EveryShapeServer
) -> None:
    ids = server.add_widgets(TEAM, 7)
    server.add_widgets("another-team", 3)
    out = run_script(every_shape_generated, server, mode, PAGINATION)

    assert out["every_item"] == ids
    assert out["page_type"] == ("SyncPage" if mode == "sync" else "AsyncPage")
    assert out["first"] == [True, ids[1], 2]
    assert out["pages"] == [ids[0:2], ids[2:4], ids[4:6], ids[6:]]
    assert out["last"] == [False, None]
    assert "last page" in out["past_the_last"]
    assert out["walked"] == [2, 2, 2, 1]
    assert out["from_first"] == ids
    assert out["raw"] == [200, out["page_type"], ids[0:3]]
    assert out["raw_next"] == ids[3:6]

    requests = [wire(r) for r in server.requests]
    walk = [("GET", widgets_path(), [], None)] + [
        ("GET", widgets_path(), [("cursor", ids[i])], None) for i in (1, 3, 5)
    ]
    assert requests[0:4] == walk  # every item, by `for` / `async for`
    assert requests[4:8] == walk  # has_next_page / next_page
    assert all(r.headers["x-trace-id"] == TRACE_ID for r in server.requests[4:8])
    assert requests[8:11] == walk[1:]  # iter_pages: the first page is not fetched again
    assert requests[11:14] == walk[1:]  # iterating the first page
    assert requests[14:] == [
        ("GET", widgets_path(), [("per_page", "3")], None),
        ("GET", widgets_path(), [("per_page", "3"), ("cursor", ids[2])], None),
    ]


# --- Forward-compatible responses ------------------------------------------------------------

FORWARD = """
async def main():
    c = client()
    created = await value(c.create.widget(team_id=TEAM, data={"name": "alpha"}))
    out["created"] = [dump(created), created.model_extra]
    page = await value(c.list.widgets(team_id=TEAM))
    out["item_extra"] = [w.model_extra for w in page.items]
    status = await value(c.get.widget_status(team_id=TEAM, widget_id="alpha"))
    out["status"] = [dump(status), status.model_extra]
    strict = client(strict_response_validation=True)
    calls = {
        "client": lambda: strict.get.widget(team_id=TEAM, widget_id="alpha"),
        "with_options": lambda: c.with_options(strict_response_validation=True).get.widget(
            team_id=TEAM, widget_id="alpha"
        ),
        "list": lambda: strict.list.widgets(team_id=TEAM),
        "accepted": lambda: strict.create.widget(team_id=TEAM, data={"name": "beta"}),
    }
    for name, call in calls.items():
        try:
            await value(call())
            out[name] = "parsed"
        except APIResponseValidationError as error:
            out[name] = [error.response.status_code, "surprise" in str(error)]
    raw = await value(strict.with_raw_response.get.widget(team_id=TEAM, widget_id="alpha"))
    try:
        raw.parse()
    except APIResponseValidationError as error:
        out["raw"] = [raw.status_code, "surprise" in str(error)]
    try:
        await value(c.create.widget(team_id=TEAM, data={"name": "gamma", "surprise": True}))
    except RequestValidationError as error:
        out["request"] = [[e.path, e.rule] for e in error.errors]
"""


@pytest.mark.parametrize("mode", MODES)
def test_unknown_response_fields_are_kept_unless_strict(
    mode: str, every_shape_generated: Path, server: EveryShapeServer
) -> None:
    server.extra_response_field = True
    out = run_script(every_shape_generated, server, mode, FORWARD)

    assert out["created"] == [{"id": "alpha", "name": "alpha", "size": 1}, {"surprise": True}]
    assert out["item_extra"] == [{"surprise": True}]
    assert out["status"] == [{"id": "alpha", "state": "on"}, {"surprise": True}]
    for name in ("client", "with_options", "list", "accepted", "raw"):
        # "accepted": the server still created beta; the answer is what was refused.
        assert out[name] == [200 if name != "accepted" else 201, True], name
    # Requests stay strict: the unknown key never left.
    assert out["request"] == [["$.surprise", "additionalProperties"]]
    assert [r.json() for r in server.requests if r.method == "POST"] == [
        {"name": "alpha"},
        {"name": "beta"},
    ]


# --- The fast checks: what a call asks before the models ---------------------------------------

FAST_CASES: list[tuple[str, Any]] = [
    ("ListWidgetsParams", {"teamId": TEAM}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": 100, "page": 1, "size": 5}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": 10.0, "X-Trace-Id": "0a1b2c3d"}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": 101}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": 0}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": 1.5}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": True}),
    ("ListWidgetsParams", {"teamId": TEAM, "per_page": "10"}),
    ("ListWidgetsParams", {"teamId": TEAM, "size": 8}),
    ("ListWidgetsParams", {"teamId": TEAM, "size": 4}),
    ("ListWidgetsParams", {"teamId": TEAM, "size": 3.0}),
    ("ListWidgetsParams", {"teamId": TEAM, "X-Trace-Id": "0A1B2C3D"}),
    ("ListWidgetsParams", {"teamId": TEAM, "X-Trace-Id": "0a1b2c3d\n"}),
    ("ListWidgetsParams", {"teamId": TEAM, "unknown": 1}),
    ("ListWidgetsParams", {}),
    ("RebuildWidgetParams", {"teamId": TEAM, "widgetId": "alpha", "priority": 3}),
    ("RebuildWidgetParams", {"teamId": TEAM, "widgetId": "alpha", "priority": 8}),
    ("RebuildWidgetParams", {"teamId": TEAM, "widgetId": "alpha", "priority": True}),
    ("RebuildWidgetParams", {"teamId": TEAM, "widgetId": "alpha"}),
    ("DeleteWidgetParams", {"teamId": TEAM, "widgetId": "alpha", "delete_child_objects": True}),
    ("DeleteWidgetParams", {"teamId": TEAM, "widgetId": "alpha", "delete_child_objects": 1}),
    ("GetWidgetParams", {"teamId": TEAM, "widgetId": "Not A Slug"}),
    ("GetWidgetParams", {"teamId": TEAM, "widgetId": "al"}),
    ("WidgetRequest", {"name": "alpha", "size": 2, "tags": ["no", "a_1"]}),
    ("WidgetRequest", {"name": "alpha", "tags": ["\u00e9"]}),
    ("WidgetRequest", {"name": "alpha", "tags": ["a\n"]}),
    ("WidgetRequest", {"name": "fine-name", "bogus": 1}),
    ("WidgetRequest", {"size": 2}),
    ("WidgetRequest", []),
    ("WidgetPatch", {}),
    ("WidgetPatch", {"size": 4}),
    ("WidgetPatch", {"size": 5, "tags": []}),
    ("WidgetPatch", {"name": "alpha"}),
]

FAST = """
async def main():
    import pydantic
    from northflank_build import _checks

    out["verdicts"] = [_checks.CHECKS[name](value) for name, value in json.loads(CASES)]
    asked, validated = [], []
    for name, check in list(_checks.CHECKS.items()):
        def counted(value, name=name, check=check):
            asked.append(name)
            return check(value)
        _checks.CHECKS[name] = counted
    model_validate = pydantic.BaseModel.model_validate.__func__

    def watched(cls, *args, **kwargs):
        validated.append(cls.__name__)
        return model_validate(cls, *args, **kwargs)

    pydantic.BaseModel.model_validate = classmethod(watched)
    c = client()
    team, alpha = {"team_id": TEAM}, {"team_id": TEAM, "widget_id": "alpha"}
    await value(c.create.widget(**team, data={"name": "alpha", "size": 2, "tags": ["no"]}))
    await value(c.patch.widget(**alpha, data={"size": 5}))
    await value(c.rebuild.widget(**alpha, priority=3))
    await value(c.list.widgets(**team, per_page=10, size=5, x_trace_id="0a1b2c3d"))
    valid_validated = list(validated)
    try:
        await value(c.create.widget(**team, data={"name": "alpha", "bogus": 1}))
    except RequestValidationError as error:
        out["refused"] = [[e.path, e.rule, e.message] for e in error.errors]
    out["asked"] = sorted(set(asked))
    out["validated"] = sorted(set(valid_validated))
    out["validated_after_refusal"] = sorted(set(validated) - set(valid_validated))
"""


def _every_shape_oracle(name: str) -> Any:
    import jsonschema_rs
    import yaml

    from codegen.ir import with_parameter_models
    from tests.conftest import EVERY_SHAPE_SPEC

    document = yaml.safe_load(Path(EVERY_SHAPE_SPEC).read_text(encoding="utf-8"))
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": json.loads(json.dumps(with_parameter_models(document)["components"])),
        "$ref": f"#/components/schemas/{name}",
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)


@pytest.mark.parametrize("mode", MODES)
def test_calls_ask_the_fast_checks_first(
    mode: str, every_shape_generated: Path, server: EveryShapeServer
) -> None:
    """Each Params and body schema of the fixture has a fast check that gives the spec's
    verdict; a valid call asks it and never the models; an invalid one gets the models'
    field errors, as ever."""
    script = f"CASES = {json.dumps(json.dumps(FAST_CASES))}\n" + FAST
    out = run_script(every_shape_generated, server, mode, script)
    expected = [_every_shape_oracle(name).is_valid(value) for name, value in FAST_CASES]
    assert out["verdicts"] == expected, [
        (case, verdict)
        for case, verdict, want in zip(FAST_CASES, out["verdicts"], expected, strict=True)
        if verdict != want
    ]
    assert True in expected
    assert False in expected
    assert {"ListWidgetsParams", "RebuildWidgetParams", "WidgetRequest", "WidgetPatch"} <= set(
        out["asked"]
    )
    assert not [name for name in out["validated"] if name in out["asked"]]
    assert out["validated_after_refusal"] == ["WidgetRequest"]
    assert out["refused"] == [["$.bogus", "additionalProperties", out["refused"][0][2]]]
