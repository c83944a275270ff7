"""The CLI's flags come from the spec: a property added to the spec is a flag of the command.

A tiny OpenAPI 3.1 spec goes through the generator's own stages (load,
validate, IR) and the CLI renderer; each kind of property added to it must
show up as its flag in the IR, in the rendered ``_cli.py``, and as a working
click option that puts its value at the property's JSON path. Then, on the
real spec, every choice a flag offers must be a value the models accept, and
every enum value it leaves out one they refuse.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from northflank_build import models
from northflank_build._cli_base import build_cli
from northflank_build._errors import field_errors
from pydantic import ValidationError

from codegen.body_fields import BodyField
from codegen.ir import Api, Operation
from codegen.pipeline import load_api
from codegen.render.python_cli import render_python_cli
from tests.spec_data import SPEC, SPEC_PATH, example

BASE_FLAGS = {"--name", "--size"}


def tiny_spec() -> dict[str, Any]:
    """One operation with a command path, a permission, a path parameter and a small body."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tiny API", "version": "0.0.1"},
        "paths": {
            "/v1/widgets/{widgetId}/parts": {
                "post": {
                    "operationId": "createPart",
                    "summary": "Create part",
                    "description": "Creates a part of a widget.",
                    "x-required-permission": "Widgets > Parts > Create",
                    "x-command-path": "create widget part",
                    "parameters": [
                        {
                            "name": "widgetId",
                            "in": "path",
                            "required": True,
                            "description": "ID of the widget",
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CreatePartRequest"},
                                "examples": {"basic": {"value": {"name": "Bolt", "size": 3}}},
                            }
                        },
                    },
                    "responses": {"200": {"description": "The new part."}},
                }
            }
        },
        "components": {
            "schemas": {
                "CreatePartRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "description": "The part's name",
                            "minLength": 3,
                            "maxLength": 20,
                        },
                        "size": {"type": "integer", "minimum": 1},
                    },
                }
            }
        },
    }


def build(folder: Path, spec: Mapping[str, Any]) -> Api:
    """The IR of ``spec``, through the generator's own load and validation."""
    path = folder / "openapi.yaml"
    path.write_text(yaml.safe_dump(dict(spec), sort_keys=False), encoding="utf-8")
    return load_api(path)


def only_operation(api: Api) -> Operation:
    (operation,) = api.operations
    return operation


def fields_by_flag(operation: Operation) -> dict[str, BodyField]:
    return {field.flag: field for field in operation.body_fields if field.flag}


def rendered_cli(api: Api) -> str:
    (file,) = render_python_cli(api)
    assert file.path.as_posix() == "python/northflank_build/_cli.py"
    return file.content


def cli_group(source: str) -> click.Group:
    """The click group the rendered ``_cli.py`` describes, built by the package's runtime."""
    module = ModuleType("tiny_cli")
    exec(compile(source, "<rendered _cli.py>", "exec"), module.__dict__)
    return build_cli(module.COMMANDS, prog="nf-build", version="0.0.1")


def part_command(group: click.Group) -> click.Command:
    ctx = click.Context(group)
    widget = group.get_command(ctx, "create")
    assert isinstance(widget, click.Group)
    widget = widget.get_command(ctx, "widget")
    assert isinstance(widget, click.Group)
    command = widget.get_command(ctx, "part")
    assert command is not None
    return command


def option(command: click.Command, flag: str) -> click.Option:
    (found,) = [p for p in command.params if isinstance(p, click.Option) and flag in p.opts]
    return found


def dry_run_body(group: click.Group, folder: Path, *args: str) -> Any:
    """The body ``create widget part ARGS --dry-run`` would send (the tiny spec has no models)."""
    runner = CliRunner(env={"NF_BUILD_CONFIG": str(folder / "config.json"), "NO_COLOR": "1"})
    result = runner.invoke(
        group,
        [
            *("create", "widget", "part", "--widget-id", "w1", "--token", "t"),
            *args,
            *("--no-input", "--skip-validation", "--dry-run", "-o", "json"),
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    request = json.loads(result.stdout)
    assert request["url"] == "https://api.northflank.com/v1/widgets/w1/parts"
    return request["body"]


# --- The tiny spec -------------------------------------------------------------------------


def test_the_tiny_specs_operation_and_flags(tmp_path: Path) -> None:
    operation = only_operation(build(tmp_path, tiny_spec()))
    assert operation.command_path == ("create", "widget", "part")
    assert operation.required_permission == "Widgets > Parts > Create"
    assert [p.flags for p in operation.path_parameters] == [
        ("--widget-id", "--widgetId", "--widget")
    ]
    flags = fields_by_flag(operation)
    assert set(flags) == BASE_FLAGS
    name = flags["--name"]
    assert (name.path, name.kind, name.required, name.short_flag) == (
        ("name",),
        "string",
        True,
        "-n",
    )
    assert name.help == "The part's name. Required. 3 to 20 characters."
    assert name.example_json == '"Bolt"'
    size = flags["--size"]
    assert (size.path, size.kind, size.required, size.short_flag) == (
        ("size",),
        "integer",
        False,
        "-s",
    )
    assert size.help == "Must be >= 1."
    command = part_command(cli_group(rendered_cli(build(tmp_path, tiny_spec()))))
    assert option(command, "--size").type is click.INT
    assert option(command, "--widget-id").opts == ["--widget-id", "--widgetId", "--widget"]


NEW_PROPERTIES = [
    pytest.param(
        "colorName",
        {"type": "string", "description": "The colour"},
        ("--color-name", ("colorName",), "string", None, ()),
        ["--color-name", "teal"],
        {"colorName": "teal"},
        id="scalar",
    ),
    pytest.param(
        "labels",
        {"type": "array", "items": {"type": "string"}},
        ("--label", ("labels",), "list", "string", ()),
        ["--label", "a", "--label", "b"],
        {"labels": ["a", "b"]},
        id="list-of-strings",
    ),
    pytest.param(
        "gauge",
        {"type": "integer", "enum": [1, 2, 4, 8, 16], "maximum": 4},
        ("--gauge", ("gauge",), "integer", None, ("1", "2", "4")),
        ["--gauge", "4"],
        {"gauge": 4},
        id="enum-with-maximum",
    ),
    pytest.param(
        "dimensions",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"widthMm": {"type": "number"}, "heightMm": {"type": "number"}},
        },
        ("--dimensions-width-mm", ("dimensions", "widthMm"), "number", None, ()),
        ["--dimensions-width-mm", "12.5"],
        {"dimensions": {"widthMm": 12.5}},
        id="nested-object-field",
    ),
]


@pytest.mark.parametrize(("name", "schema", "expected", "args", "body"), NEW_PROPERTIES)
def test_a_property_added_to_the_spec_becomes_a_flag(
    tmp_path: Path,
    name: str,
    schema: dict[str, Any],
    expected: tuple[Any, ...],
    args: list[str],
    body: dict[str, Any],
) -> None:
    flag, path, kind, item_kind, choices = expected
    spec = tiny_spec()
    before = build(tmp_path, spec)
    assert flag not in fields_by_flag(only_operation(before))
    assert f'"{flag}"' not in rendered_cli(before)

    spec["components"]["schemas"]["CreatePartRequest"]["properties"][name] = schema
    after = build(tmp_path, spec)
    flags = fields_by_flag(only_operation(after))
    assert set(flags) - BASE_FLAGS >= {flag}
    field = flags[flag]
    assert (field.path, field.kind, field.item_kind, field.choices) == (
        path,
        kind,
        item_kind,
        choices,
    )
    assert field.required is False

    source = rendered_cli(after)
    assert f'flag="{flag}",' in source
    command = part_command(cli_group(source))
    added = option(command, flag)
    assert added.multiple is (kind == "list")
    if choices:
        assert isinstance(added.type, click.Choice)
        assert tuple(added.type.choices) == choices
    assert dry_run_body(cli_group(source), tmp_path, "--name", "Bolt", *args) == {
        "name": "Bolt",
        **body,
    }


def test_a_choice_the_maximum_excludes_is_refused_by_the_flag(tmp_path: Path) -> None:
    spec = tiny_spec()
    gauge = {"type": "integer", "enum": [1, 2, 4, 8, 16], "maximum": 4}
    spec["components"]["schemas"]["CreatePartRequest"]["properties"]["gauge"] = gauge
    group = cli_group(rendered_cli(build(tmp_path, spec)))
    runner = CliRunner(env={"NF_BUILD_CONFIG": str(tmp_path / "config.json")})
    result = runner.invoke(
        group, ["create", "widget", "part", "--widget-id", "w", "--gauge", "8", "--dry-run"]
    )
    assert result.exit_code == 2
    assert "'8' is not one of '1', '2', '4'" in result.stderr


def test_query_and_header_parameters_added_to_the_spec_become_flags(tmp_path: Path) -> None:
    """Each kind of parameter becomes a typed flag; the dry run puts it in the query or headers."""
    spec = tiny_spec()
    operation = spec["paths"]["/v1/widgets/{widgetId}/parts"]["post"]
    operation["parameters"] += [
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 100}},
        {
            "name": "gauge",
            "in": "query",
            "schema": {"type": "integer", "enum": [1, 2, 8], "maximum": 4},
        },
        {"name": "dry_run_only", "in": "query", "schema": {"type": "boolean"}},
        {
            "name": "X-Trace-Id",
            "in": "header",
            "required": True,
            "description": "A trace id",
            "schema": {"type": "string", "pattern": "^[a-f0-9]{8}$"},
        },
    ]
    source = rendered_cli(build(tmp_path, spec))
    command = part_command(cli_group(source))
    assert option(command, "--per-page").opts == ["--per-page", "--per_page"]
    assert option(command, "--per-page").type.name == "integer"
    gauge = option(command, "--gauge")
    assert isinstance(gauge.type, click.Choice)
    assert tuple(gauge.type.choices) == ("1", "2")
    flag = option(command, "--dry-run-only")
    assert (flag.is_flag, flag.opts, flag.secondary_opts) == (
        True,
        ["--dry-run-only", "--dry_run_only"],
        ["--no-dry-run-only"],
    )
    trace = option(command, "--x-trace-id")
    assert trace.opts == ["--x-trace-id", "--X-Trace-Id"]
    assert (
        trace.help
        == "A trace id. Required. Sent as the X-Trace-Id header. Must match ^[a-f0-9]{8}$"
    )
    runner = CliRunner(env={"NF_BUILD_CONFIG": str(tmp_path / "config.json"), "NO_COLOR": "1"})
    result = runner.invoke(
        cli_group(source),
        [
            *("create", "widget", "part", "--widget-id", "w1", "--name", "Bolt"),
            *("--per_page", "7", "--gauge", "2", "--dry-run-only", "--X-Trace-Id", "0a1b2c3d"),
            *("--no-input", "--skip-validation", "--dry-run", "-o", "json"),
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    request = json.loads(result.stdout)
    assert request["url"] == (
        "https://api.northflank.com/v1/widgets/w1/parts?per_page=7&gauge=2&dry_run_only=true"
    )
    assert request["headers"] == {"content-type": "application/json", "X-Trace-Id": "0a1b2c3d"}


# --- The real spec's choices ------------------------------------------------------------------


def schema_at(path: tuple[str, ...]) -> dict[str, Any]:
    """The real spec's schema of the request body at ``path``, through refs and oneOf branches."""
    node = resolved(SPEC["components"]["schemas"]["CreateBuildServiceRequest"])
    for part in path:
        if "oneOf" in node:
            branches = [resolved(b) for b in node["oneOf"]]
            node = next(b for b in branches if part in b.get("properties", {}))
        node = resolved(node["properties"][part])
    return node


def resolved(node: Mapping[str, Any]) -> dict[str, Any]:
    """A ``$ref``'s target with the keywords beside the ``$ref`` laid over it."""
    result: dict[str, Any] = {}
    if "$ref" in node:
        result.update(resolved(SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]))
    result.update((k, v) for k, v in node.items() if k != "$ref")
    return result


def real_fields() -> tuple[BodyField, ...]:
    return next(op for op in load_api(SPEC_PATH).operations if op.body_fields).body_fields


def example_with(fields: tuple[BodyField, ...], field: BodyField, value: Any) -> dict[str, Any]:
    """The spec's request example with ``value`` at ``field``'s path (in its oneOf branch)."""
    body: dict[str, Any] = copy.deepcopy(example("request", "dockerfileBuild"))
    for one_of in (f for f in fields if f.kind == "oneOf"):
        depth = len(one_of.path)
        if field.path[:depth] == one_of.path:
            node = body
            for part in one_of.path[:-1]:
                node = node[part]
            if field.path[depth] not in node[one_of.path[-1]]:
                node[one_of.path[-1]] = {}  # the example is in another branch
    node = body
    for part in field.path[:-1]:
        node = node.setdefault(part, {})
    node[field.path[-1]] = value
    return body


def verdict(body: dict[str, Any]) -> list[tuple[str, str]]:
    model = models.CreateBuildServiceRequest
    try:
        model.model_validate(body)
    except ValidationError as error:
        return [(e.path, e.rule) for e in field_errors(model, error)]
    return []


def test_every_offered_choice_validates_and_every_left_out_value_does_not() -> None:
    fields = real_fields()
    with_choices = [f for f in fields if f.choices]
    assert {f.label for f in with_choices} >= {
        "vcsData.projectType",
        "buildSettings.buildpack.builder",
        "buildSettings.storage.ephemeralStorage.storageSize",
    }
    left_out_anywhere = 0
    for field in with_choices:
        enum = schema_at(field.path)["enum"]
        kind = field.item_kind or field.kind
        offered = [c if kind == "string" else json.loads(c) for c in field.choices]
        assert set(offered) <= set(enum), field.label
        for value in offered:
            assert verdict(example_with(fields, field, value)) == [], (field.label, value)
        for value in (v for v in enum if v not in offered):
            left_out_anywhere += 1
            problems = verdict(example_with(fields, field, value))
            assert problems == [("$." + field.label, "enum")], (field.label, value, problems)
    assert left_out_anywhere >= 3 * 2  # 131072, 262144 and 524288, in both storage fields
