"""The reference page: ``docs/index.html``, one self-contained file per spec.

Everything the page shows is computed here: the request and response bodies
as rows of a tree (each field with its type, whether it is required, and every
constraint), the error responses, and the examples for curl, ``nf-build``, the
Python client and the TypeScript client, each made from the spec's request
example so that it runs, as printed, against the sandbox. The template only
loops over these and prints them.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from ..body_fields import allowed_enum
from ..ir import Api, Operation, Response
from ..literals import python_literal
from ..schema_keywords import length_words
from ..templating import render_template
from . import RenderedFile

__all__ = ["DocsPage", "Example", "TreeRow", "render_docs"]

REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class TreeRow:
    """One step of a body's tree, in document order.

    ``kind``: ``field`` (a leaf), ``open`` / ``close`` (a field with fields
    inside), ``choices`` / ``end-choices`` around a ``oneOf``'s alternatives,
    and ``choice`` / ``end-choice`` around each alternative.
    """

    kind: str
    name: str = ""
    path: str = ""
    """``buildSettings.dockerfile.dockerFilePath``."""
    anchor: str = ""
    """``body.buildSettings.dockerfile.dockerFilePath``; empty where another row already has it."""
    link: str = ""
    """Where the name links: the anchor, or the first row with this path."""
    type: str = ""
    required: bool = False
    deprecated: bool = False
    description: str = ""
    constraints: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    """One tab of examples."""

    key: str
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class ErrorDoc:
    status: int
    description: str
    example_json: str | None


@dataclass(frozen=True)
class DocsPage:
    operation: Operation
    request_rows: tuple[TreeRow, ...]
    response_rows: tuple[TreeRow, ...]
    error_rows: tuple[TreeRow, ...]
    """The error envelope, shared by every error status."""
    success: Response
    errors: tuple[ErrorDoc, ...]
    error_headers: tuple[tuple[str, str, str], ...]
    examples: tuple[Example, ...]
    response_example: str


def render_docs(api: Api) -> list[RenderedFile]:
    schemas = json.loads(api.schemas_json)
    pages = [_page(api, schemas, operation) for operation in api.operations]
    content = render_template("docs/index.html.jinja", api=api, pages=pages)
    return [RenderedFile(PurePosixPath("docs") / "index.html", content)]


def _page(api: Api, schemas: Mapping[str, Any], operation: Operation) -> DocsPage:
    success = next(r for r in operation.responses if 200 <= r.status < 300)
    failures = [r for r in operation.responses if r.status >= 400]
    error_model = next((r.model for r in failures if r.model), None)
    body = json.loads(operation.request_example_json or "{}")
    return DocsPage(
        operation=operation,
        request_rows=_tree(schemas, operation.request_model, "body"),
        response_rows=_tree(schemas, success.model, "response"),
        error_rows=_tree(schemas, error_model, "error"),
        success=success,
        errors=tuple(ErrorDoc(r.status, r.description, _pretty(r.example_json)) for r in failures),
        error_headers=_common_headers(failures),
        examples=_examples(api, operation, body),
        response_example=_pretty(success.example_json) or "",
    )


# --------------------------------------------------------------------------- the trees


def _tree(schemas: Mapping[str, Any], model: str | None, prefix: str) -> tuple[TreeRow, ...]:
    if model is None:
        return ()
    anchors: set[str] = set()
    root = schemas[model]
    return tuple(_properties(schemas, root, (), prefix, anchors))


def _properties(
    schemas: Mapping[str, Any],
    schema: Mapping[str, Any],
    path: tuple[str, ...],
    prefix: str,
    anchors: set[str],
) -> Iterator[TreeRow]:
    required = set(schema.get("required", []))
    for name, child in schema.get("properties", {}).items():
        yield from _field(schemas, child, (*path, name), name in required, prefix, anchors)


def _field(
    schemas: Mapping[str, Any],
    node: Mapping[str, Any],
    path: tuple[str, ...],
    required: bool,
    prefix: str,
    anchors: set[str],
) -> Iterator[TreeRow]:
    schema = _merged(schemas, node)
    label = ".".join(path)
    link = f"{prefix}.{label}"
    anchor = "" if link in anchors else link
    anchors.add(link)
    values = _value_schema(schemas, schema)
    each = "each item" if schema.get("type") == "array" else "each value"
    description = " ".join(str(schema.get("description", "")).split())
    item_text = " ".join(str((values or {}).get("description", "")).split())
    if item_text and item_text != description:
        description = f"{description} {each.capitalize()}: {item_text}".strip()
    constraints = list(_constraints(schema))
    if values is not None:
        constraints += [f"{each}: {c}" for c in _constraints(values)]
    row = TreeRow(
        kind="field",
        name=path[-1],
        path=label,
        anchor=anchor,
        link=link,
        type=_type_label(schemas, schema),
        required=required,
        deprecated=bool(schema.get("deprecated")),
        description=description,
        constraints=tuple(constraints),
        enum=tuple(_shown(v) for v in allowed_enum(values if values is not None else schema)),
    )
    inner = _inner_object(schemas, schema)
    if "oneOf" in schema:
        yield TreeRow(**{**row.__dict__, "kind": "open"})
        yield TreeRow(kind="choices")
        for branch in schema["oneOf"]:
            resolved = _merged(schemas, branch)
            yield TreeRow(
                kind="choice",
                name=str(resolved.get("title", "")),
                description=" ".join(str(resolved.get("description", "")).split()),
            )
            yield from _properties(schemas, resolved, path, prefix, anchors)
            yield TreeRow(kind="end-choice")
        yield TreeRow(kind="end-choices")
        yield TreeRow(kind="close")
    elif inner is not None:
        yield TreeRow(**{**row.__dict__, "kind": "open"})
        inner_path = path if "properties" in schema else (*path, "*")
        yield from _properties(schemas, inner, inner_path, prefix, anchors)
        yield TreeRow(kind="close")
    else:
        yield row


def _merged(schemas: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """A ``$ref``'s target with the keywords beside the ``$ref`` laid over it."""
    merged: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        merged.update(_merged(schemas, schemas[ref[len(REF_PREFIX) :]]))
    merged.update((k, v) for k, v in node.items() if k != "$ref")
    return merged


def _value_schema(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """An array's items or a map's values, whose constraints the field's row shows."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
        return _merged(schemas, schema["items"])
    extra = schema.get("additionalProperties")
    if schema.get("type") == "object" and "properties" not in schema and isinstance(extra, Mapping):
        return _merged(schemas, extra)
    return None


def _inner_object(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object whose fields nest under this row: its own, or each map value's."""
    if "properties" in schema:
        return dict(schema)
    values = _value_schema(schemas, schema)
    if values is not None and "properties" in values:
        return values
    return None


def _type_label(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    if "oneOf" in schema:
        return "one of"
    kind = str(schema.get("type", "any"))
    values = _value_schema(schemas, schema)
    if kind == "array" and values is not None:
        return f"array of {_type_label(schemas, values)}"
    if kind == "object" and values is not None:
        return f"map of {_type_label(schemas, values)}"
    return kind


def _constraints(schema: Mapping[str, Any]) -> Iterator[str]:
    if (length := length_words(schema)) is not None:
        yield length
    if "pattern" in schema:
        yield f"pattern: {schema['pattern']}"
    for key, words in (
        ("minimum", "minimum"),
        ("exclusiveMinimum", "greater than"),
        ("maximum", "maximum"),
        ("exclusiveMaximum", "less than"),
    ):
        if key in schema:
            yield f"{words} {_shown(schema[key])}"
    for key, words in (("minItems", "at least {} items"), ("maxItems", "at most {} items")):
        if key in schema:
            yield words.format(schema[key])


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _common_headers(responses: list[Response]) -> tuple[tuple[str, str, str], ...]:
    """Each header of the error responses: name, description, and the statuses that send it."""
    seen: dict[str, tuple[str, list[int]]] = {}
    for response in responses:
        for name, description in response.headers:
            seen.setdefault(name, (description, []))[1].append(response.status)
    return tuple(
        (
            name,
            description,
            "all" if len(statuses) == len(responses) else ", ".join(map(str, statuses)),
        )
        for name, (description, statuses) in seen.items()
    )


def _pretty(json_text: str | None) -> str | None:
    if json_text is None:
        return None
    return json.dumps(json.loads(json_text), indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- the examples


def _examples(api: Api, operation: Operation, body: Any) -> tuple[Example, ...]:
    parameters = {p.name: p.example for p in operation.path_parameters}
    path = operation.path.format_map(parameters)
    call = ".".join(operation.command_path)
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    curl = "\n".join(
        [
            'curl --header "Content-Type: application/json" \\',
            '  --header "Authorization: Bearer $NORTHFLANK_API_TOKEN" \\',
            f"  --request {operation.method} \\",
            f"  --data {shlex.quote(compact)} \\",
            f'  "${{NORTHFLANK_BASE_URL:-https://api.northflank.com}}{path}"',
        ]
    )
    flags = " ".join(f"{p.flags[0]} {shlex.quote(p.example)}" for p in operation.path_parameters)
    document = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)
    cli = f"{api.package.cli_name} {' '.join(operation.command_path)} {flags} -f - <<'EOF'\n"
    cli += f"{document}EOF"
    python_arguments = "".join(
        f"    {p.python_name}={python_literal(p.example)},\n" for p in operation.path_parameters
    )
    python = (
        f"from {api.package.import_name} import Client\n\n"
        "client = Client()  # NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
        f"service = client.{call}(\n{python_arguments}"
        f"    data={python_literal(body, 1)},\n)\nprint(service.id)"
    )
    ts_parameters = ", ".join(
        f"{p.name}: {json.dumps(p.example)}" for p in operation.path_parameters
    )
    ts_body = json.dumps(body, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    typescript = (
        f'import {{ ApiClient }} from "{api.package.distribution}";\n\n'
        "const apiClient = new ApiClient(); // NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
        f"const {{ data, error }} = await apiClient.{call}({{\n"
        f"  parameters: {{ {ts_parameters} }},\n"
        f"  data: {ts_body},\n}});\n"
        "if (error) throw new Error(`${error.status} ${error.message}`);\n"
        "console.log(data.id);"
    )
    return (
        Example("curl", "curl", "shell", curl),
        Example("cli", api.package.cli_name, "shell", cli),
        Example("python", "Python", "python", python),
        Example("typescript", "TypeScript", "typescript", typescript),
    )
