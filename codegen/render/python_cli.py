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

from ..body_fields import RESERVED_FLAGS, constraint_notes
from ..ir import Api, Operation, Parameter
from ..names import PythonIdentifier
from ..spec_walk import dereference
from ..templating import render_template
from . import RenderedFile

__all__ = ["CliCommand", "CliParameter", "cli_parameters", "render_python_cli"]


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
class CliCommand:
    """What the template prints of one operation, beside the IR's own fields."""

    operation: Operation
    client_path: tuple[PythonIdentifier, ...]
    """The attributes that reach its method in the Python client: ``get.widget_status``."""
    parameters: tuple[CliParameter, ...]
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


def _help(parameter: Parameter, schema: Mapping[str, Any]) -> str:
    """A path parameter's description as the spec gives it; a query or header
    parameter's with its required-ness, constraints and where it is sent."""
    if parameter.location == "path":
        return parameter.description
    notes = [_sentence(parameter.description)]
    if parameter.deprecated:
        notes.append("Deprecated.")
    if parameter.required:
        notes.append("Required.")
    if parameter.location == "header":
        notes.append(f"Sent as the {parameter.name} header.")
    if not parameter.choices:
        notes += constraint_notes(schema)
    return " ".join(note for note in notes if note)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _as_mapping(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}
