"""The generated half of the ``nf-build`` command line: each operation described as data.

The IR has already flattened each request body into `BodyField` rows (flags,
help, choices, examples); this module turns each parameter into a `CliParameter`
row (flags, kind, choices as JSON text, help with its constraints), the
template prints both, and the runtime's ``_cli_base`` turns them into click commands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..body_fields import RESERVED_FLAGS, BodyField, constraint_notes
from ..ir import Api, Operation, Parameter
from ..names import PythonIdentifier
from ..spec_walk import dereference
from ..templating import render_template
from . import RenderedFile

__all__ = [
    "CliBodyField",
    "CliCommand",
    "CliParameter",
    "body_field_help",
    "cli_body_fields",
    "cli_parameters",
    "render_python_cli",
]


@dataclass(frozen=True)
class CliParameter:
    """A path, query or header parameter as the CLI offers it: one flag, several names."""

    name: str
    python_name: str
    location: str
    kind: str
    flags: tuple[str, ...]
    required: bool
    choices: tuple[str, ...]
    """Its enum values that its bounds admit, as JSON text (``"1"``, ``"small"``)."""
    deprecated: bool
    help: str


@dataclass(frozen=True)
class CliBodyField:
    """A body field as the template prints it: the IR's row and its help text."""

    field: BodyField
    help: str


@dataclass(frozen=True)
class CliCommand:
    """What the template prints of one operation, beside the IR's own fields."""

    operation: Operation
    client_path: tuple[PythonIdentifier, ...]
    """The attributes that reach its method in the Python client: ``get.widget_status``."""
    parameters: tuple[CliParameter, ...]
    body_fields: tuple[CliBodyField, ...]
    returns_body: bool
    """Whether the success response has a body (a 204 has none)."""
    items_key: str | None
    """For a paginated list, the property of ``data`` that holds the items."""


def render_python_cli(api: Api) -> list[RenderedFile]:
    path = PurePosixPath("python") / api.package.import_name / "_cli.py"
    schemas = json.loads(api.schemas_json)
    commands = [
        CliCommand(
            operation=operation,
            client_path=tuple(PythonIdentifier(word) for word in operation.command_path),
            parameters=cli_parameters(operation, schemas),
            body_fields=cli_body_fields(operation, schemas),
            returns_body=operation.success_model is not None,
            items_key=operation.pagination.items_key if operation.pagination else None,
        )
        for operation in api.operations
    ]
    content = render_template(
        "python/_cli.py.jinja", api=api, commands=commands, cli_name=api.package.cli_name
    )
    return [RenderedFile(path, content)]


def cli_parameters(operation: Operation, schemas: Mapping[str, Any]) -> tuple[CliParameter, ...]:
    """``operation``'s parameters as flags; ``schemas``: ``components/schemas`` (parameter
    models included), where each parameter's constraints are read for its help."""
    model = schemas.get(str(operation.parameters_model), {})
    document = {"components": {"schemas": schemas}}
    rows = []
    for parameter in operation.parameters:
        taken = RESERVED_FLAGS.intersection(parameter.flags)
        if taken:
            raise ValueError(
                f"the flag of parameter {parameter.name}, {sorted(taken)[0]}, is taken by the CLI"
            )
        node = model.get("properties", {}).get(parameter.name, {})
        schema = {**_as_mapping(dereference(document, node)), **node}
        rows.append(
            CliParameter(
                name=parameter.name,
                python_name=parameter.python_name,
                location=parameter.location,
                kind=parameter.kind,
                flags=parameter.flags,
                required=parameter.required,
                choices=tuple(
                    c if isinstance(c, str) else json.dumps(c) for c in parameter.choices
                ),
                deprecated=parameter.deprecated,
                help=_help(parameter, schema),
            )
        )
    return tuple(rows)


def cli_body_fields(operation: Operation, schemas: Mapping[str, Any]) -> tuple[CliBodyField, ...]:
    """``operation``'s body fields, each with its help (`body_field_help`)."""
    document = {"components": {"schemas": schemas}}
    root = schemas.get(str(operation.request_model), {})
    return tuple(
        CliBodyField(field, body_field_help(field, _schema_at(document, root, field.path)))
        for field in operation.body_fields
    )


def body_field_help(field: BodyField, schema: Mapping[str, Any]) -> str:
    """A body field's help: its description and notes; with no description, the
    constraint summary instead (what it takes, its notes, default and example), so
    that no flag goes without text. ``schema`` is the field's own (a list's, not its items')."""
    if field.description:
        return field.help
    value = _value_schema(field, schema)
    example = field.example_json or _schema_example(value) or _schema_example(schema)
    notes = [
        _takes(field),
        field.notes,
        f"Default: {json.dumps(value['default'])}." if "default" in value else "",
        f"Example: {example}." if example else "",
    ]
    return " ".join(note for note in notes if note)


_KIND_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "oneOf": "one of the variants",
    "json": "any JSON value",
}


def _takes(field: BodyField) -> str:
    """The field's JSON name and what it takes: ``gpuCount: an integer.`` (the flag
    already spells out its place; a whole path would not wrap in a help column)."""
    if field.choices:
        takes = f"one of {', '.join(field.choices)}"
    elif field.kind == "list":
        takes = f"a list, each item {_KIND_WORDS.get(field.item_kind or 'json')}"
    elif field.kind == "map":
        takes = f"a map, each value {_KIND_WORDS.get(field.item_kind or 'json')}"
    else:
        takes = _KIND_WORDS.get(field.kind, "a value")
    return f"{field.path[-1]}: {takes}."


def _schema_example(schema: Mapping[str, Any]) -> str | None:
    if "example" in schema:
        return json.dumps(schema["example"], ensure_ascii=False)
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return json.dumps(examples[0], ensure_ascii=False)
    return None


def _value_schema(field: BodyField, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """What each value of the field is: a list's items, a map's values, else the field."""
    key = {"list": "items", "map": "additionalProperties"}.get(field.kind)
    value = schema.get(key) if key is not None else None
    return value if isinstance(value, Mapping) else schema


def _schema_at(
    document: Mapping[str, Any], root: Mapping[str, Any], path: tuple[str, ...]
) -> Mapping[str, Any]:
    """The schema of the body field at ``path``, through properties and ``oneOf`` branches,
    its items or values (if any) dereferenced too."""
    node = _merged(document, root)
    for part in path:
        for candidate in (node, *(_merged(document, b) for b in node.get("oneOf", []))):
            properties = _as_mapping(candidate.get("properties"))
            if part in properties:
                node = _merged(document, properties[part])
                break
        else:
            return {}
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), Mapping):
            node = {**node, key: _merged(document, node[key])}
    return node


def _merged(document: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """A ``$ref``'s target with the keywords beside the ``$ref`` laid over it."""
    merged = dict(_as_mapping(dereference(document, node)))
    merged.update((k, v) for k, v in _as_mapping(node).items() if k != "$ref")
    return merged


def _help(parameter: Parameter, schema: Mapping[str, Any]) -> str:
    """A path parameter's description as the spec gives it; a query or header
    parameter's with its required-ness, constraints and where it is sent. With no
    description, what it takes (type, choices, constraints, default) says it instead."""
    if parameter.location == "path" and parameter.description:
        return parameter.description
    notes = [_sentence(parameter.description) or _parameter_takes(parameter, schema)]
    if parameter.deprecated:
        notes.append("Deprecated.")
    if parameter.required:
        notes.append("Required.")
    if parameter.location == "header":
        notes.append(f"Sent as the {parameter.name} header.")
    if not parameter.choices:
        notes += constraint_notes(schema)
    if not parameter.description and "default" in schema:
        notes.append(f"Default: {json.dumps(schema['default'])}.")
    return " ".join(note for note in notes if note)


def _parameter_takes(parameter: Parameter, schema: Mapping[str, Any]) -> str:
    if parameter.choices:
        return f"One of: {', '.join(str(c) for c in parameter.choices)}."
    words = _KIND_WORDS.get(str(schema.get("type")), "a value")
    return f"{words[0].upper()}{words[1:]}."


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _as_mapping(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}
