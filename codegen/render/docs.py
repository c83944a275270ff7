"""The reference page: ``docs/index.html``, one self-contained file for every operation.

Everything the page shows is computed here, per operation: its parameters as
tables by location, the request and response bodies as rows of a tree (each
field with its type, whether it is required, and every constraint), the
responses by status, the error responses, and the examples for curl,
``nf-build``, the Python client and the TypeScript client, each made from the
spec's examples so that it runs, as printed, against a server of the spec.
Every anchor starts with the operation's id (``createBuildService.body.name``),
so one page holds any number of operations. The template only loops over
these and prints them.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode

import yaml

from ..body_fields import allowed_enum
from ..ir import Api, Operation, Parameter, Response
from ..literals import python_literal
from ..names import PythonIdentifier, TsIdentifier, split_words
from ..schema_keywords import length_words
from ..templating import render_template
from . import RenderedFile

__all__ = [
    "DocsPage",
    "Example",
    "NavEntry",
    "NavGroup",
    "OperationDoc",
    "ParameterTable",
    "StatusDoc",
    "TreeRow",
    "docs_page",
    "render_docs",
]

REF_PREFIX = "#/components/schemas/"
LOCATION_TITLES = {"path": "Path parameters", "query": "Query parameters", "header": "Headers"}
PER_PAGE_EXAMPLE = 2
"""The page size a list's examples ask for."""
BASE_URL = "${NORTHFLANK_BASE_URL:-https://api.northflank.com}"
TS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class TreeRow:
    """One step of a body's tree, in document order; also one row of a parameter table.

    ``kind``: ``field`` (a leaf), ``open`` / ``close`` (a field with fields
    inside), ``choices`` / ``end-choices`` around a ``oneOf``'s alternatives,
    and ``choice`` / ``end-choice`` around each alternative.
    """

    kind: str
    name: str = ""
    path: str = ""
    """``buildSettings.dockerfile.dockerFilePath``."""
    anchor: str = ""
    """``createBuildService.body.buildSettings.dockerfile.dockerFilePath``; empty where
    another row already has it."""
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
    tab_id: str
    """``createBuildService.tab.curl``."""
    panel_id: str
    code_id: str


@dataclass(frozen=True)
class ErrorDoc:
    status: int
    description: str
    example_json: str | None
    anchor: str


@dataclass(frozen=True)
class ParameterTable:
    """The parameters of one location (path, query or header) of one operation."""

    location: str
    title: str
    anchor: str
    """``listWidgets.query``."""
    rows: tuple[TreeRow, ...]
    """One ``field`` row per parameter, anchored at ``<operationId>.<location>.<name>``."""


@dataclass(frozen=True)
class StatusDoc:
    """A success response: its status, headers, body tree and example, or that it has none."""

    status: int
    description: str
    anchor: str
    headers: tuple[tuple[str, str], ...]
    rows: tuple[TreeRow, ...]
    has_body: bool
    example_json: str
    """Pretty JSON; empty when the response has no body or no example."""
    pagination_note: str
    """How to walk the pages (Markdown ``code`` spans), for a paginated list; else empty."""


@dataclass(frozen=True)
class OperationDoc:
    """Everything the page shows of one operation."""

    operation: Operation
    anchor: str
    """The operation's id: the section's id and every anchor's prefix."""
    section_ids: Mapping[str, str]
    """``parameters``, ``request-body``, ``responses``, ``errors``, ``examples`` -> their ids."""
    parameter_tables: tuple[ParameterTable, ...]
    request_rows: tuple[TreeRow, ...]
    body_note: str
    """``Required.`` or ``Optional: the call may be made without a body.``; empty with no body."""
    success: StatusDoc
    errors: tuple[ErrorDoc, ...]
    error_rows: tuple[TreeRow, ...]
    """The error envelope, shared by every error status."""
    error_headers: tuple[tuple[str, str, str], ...]
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class NavEntry:
    anchor: str
    method: str
    summary: str


@dataclass(frozen=True)
class NavGroup:
    """The operations of one path, as the navigation lists them."""

    title: str
    entries: tuple[NavEntry, ...]


@dataclass(frozen=True)
class DocsPage:
    nav: tuple[NavGroup, ...]
    operations: tuple[OperationDoc, ...]


def render_docs(api: Api) -> list[RenderedFile]:
    page = docs_page(api)
    content = render_template("docs/index.html.jinja", api=api, page=page)
    return [RenderedFile(PurePosixPath("docs") / "index.html", content)]


def docs_page(api: Api) -> DocsPage:
    schemas = json.loads(api.schemas_json)
    operations = tuple(_operation_doc(api, schemas, op) for op in api.operations)
    anchors = [doc.anchor for doc in operations]
    if len(set(anchors)) != len(anchors):
        raise ValueError(f"two operations share an operationId: {sorted(anchors)}")
    return DocsPage(nav=_nav(api.operations), operations=operations)


def _nav(operations: tuple[Operation, ...]) -> tuple[NavGroup, ...]:
    """The operations grouped by path, in the IR's order (paths sorted, then by method)."""
    groups: dict[str, list[NavEntry]] = {}
    for op in operations:
        entry = NavEntry(op.operation_id, op.method, op.summary or op.operation_id)
        groups.setdefault(op.path, []).append(entry)
    return tuple(NavGroup(path, tuple(entries)) for path, entries in groups.items())


def _operation_doc(api: Api, schemas: Mapping[str, Any], op: Operation) -> OperationDoc:
    prefix = op.operation_id
    success = next(r for r in op.responses if r.status == op.success_status)
    failures = [r for r in op.responses if r.status >= 400]
    error_model = next((r.model for r in failures if r.model), None)
    body = _body_example(api, op)
    return OperationDoc(
        operation=op,
        anchor=prefix,
        section_ids={
            key: f"{prefix}.{key}"
            for key in ("parameters", "request-body", "responses", "errors", "examples")
        },
        parameter_tables=_parameter_tables(schemas, op),
        request_rows=_tree(schemas, op.request_model, f"{prefix}.body"),
        body_note=_body_note(op),
        success=StatusDoc(
            status=success.status,
            description=success.description,
            anchor=f"{prefix}.status.{success.status}",
            headers=success.headers,
            rows=_tree(schemas, success.model, f"{prefix}.response"),
            has_body=success.model is not None,
            example_json=_pretty(success.example_json) or "",
            pagination_note=_pagination_note(op),
        ),
        errors=tuple(
            ErrorDoc(
                r.status, r.description, _pretty(r.example_json), f"{prefix}.status.{r.status}"
            )
            for r in failures
        ),
        error_rows=_tree(schemas, error_model, f"{prefix}.error"),
        error_headers=_common_headers(failures),
        examples=_examples(api, schemas, op, body),
    )


def _body_note(op: Operation) -> str:
    if not op.has_body:
        return ""
    return "Required." if op.body_required else "Optional: the call may be made without a body."


def _pagination_note(op: Operation) -> str:
    if op.pagination is None:
        return ""
    items = f"data.{op.pagination.items_key}"
    return (
        f"A page of a list: the items are in `{items}`. Ask for `per_page` items (and a "
        "`page` number); while `pagination.hasNextPage` is true, the next page is the same "
        "call with `cursor` set to `pagination.cursor`. The Python client's result iterates "
        "over every page's items; the TypeScript client's `.all()` gathers them."
    )


# --------------------------------------------------------------------------- the parameters


def _parameter_tables(schemas: Mapping[str, Any], op: Operation) -> tuple[ParameterTable, ...]:
    if op.parameters_model is None:
        return ()
    properties = schemas[op.parameters_model].get("properties", {})
    tables = []
    for location, parameters in (
        ("path", op.path_parameters),
        ("query", op.query_parameters),
        ("header", op.header_parameters),
    ):
        if not parameters:
            continue
        prefix = f"{op.operation_id}.{location}"
        rows = tuple(_parameter_row(schemas, properties[p.name], p, prefix) for p in parameters)
        tables.append(ParameterTable(location, LOCATION_TITLES[location], prefix, rows))
    return tuple(tables)


def _parameter_row(
    schemas: Mapping[str, Any], node: Mapping[str, Any], parameter: Parameter, prefix: str
) -> TreeRow:
    """The parameter's row: constraints from its schema; type, deprecation and the enum
    values its bounds admit as the IR gives them."""
    row = next(_field(schemas, node, (parameter.name,), parameter.required, prefix, set()))
    return replace(
        row,
        type=parameter.kind,
        deprecated=parameter.deprecated,
        enum=tuple(_shown(value) for value in parameter.choices),
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


def _body_example(api: Api, op: Operation) -> Any | None:
    """The body the examples send: the operation's own example, else that of another
    operation with the same body model; none for an optional body without one."""
    if not op.has_body:
        return None
    for candidate in (op, *api.operations):
        if candidate.request_model == op.request_model and candidate.request_example_json:
            return json.loads(candidate.request_example_json)
    return {} if op.body_required else None


def _example_parameters(op: Operation) -> tuple[tuple[Parameter, Any], ...]:
    """The parameters the examples pass, each with its value: every required one, the page
    size of a list, and each optional one the spec gives its own example."""
    chosen: list[tuple[Parameter, Any]] = []
    for parameter in op.parameters:
        if op.pagination is not None and parameter.name == "per_page":
            chosen.append((parameter, PER_PAGE_EXAMPLE))
        elif parameter.required or parameter.example_given:
            chosen.append((parameter, parameter.example))
    return tuple(chosen)


def _wire(value: Any) -> str:
    """A parameter value as the URL or a header carries it."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _ts_key(name: str) -> str:
    """A property key in TypeScript: bare when an identifier (``per_page``), else quoted."""
    return name if TS_IDENTIFIER.fullmatch(name) else json.dumps(name)


def _examples(
    api: Api, schemas: Mapping[str, Any], op: Operation, body: Any | None
) -> tuple[Example, ...]:
    parameters = _example_parameters(op)
    item_id = op.pagination is not None and "id" in schemas[op.pagination.item_model].get(
        "required", []
    )
    tabs = (
        ("curl", "curl", "shell", _curl(op, parameters, body)),
        ("cli", api.package.cli_name, "shell", _cli(api, op, parameters, body)),
        ("python", "Python", "python", _python(api, op, parameters, body, item_id)),
        ("typescript", "TypeScript", "typescript", _typescript(api, op, parameters, body, item_id)),
    )
    prefix = op.operation_id
    return tuple(
        Example(
            key,
            label,
            language,
            code,
            f"{prefix}.tab.{key}",
            f"{prefix}.example.{key}",
            f"{prefix}.code.{key}",
        )
        for key, label, language, code in tabs
    )


def _curl(op: Operation, parameters: tuple[tuple[Parameter, Any], ...], body: Any | None) -> str:
    path = op.path.format_map({p.name: _wire(v) for p, v in parameters if p.location == "path"})
    query = urlencode([(p.name, _wire(v)) for p, v in parameters if p.location == "query"])
    url = f"{BASE_URL}{path}{'?' + query if query else ''}"
    options = []
    if body is not None:
        options.append('--header "Content-Type: application/json"')
    options.append('--header "Authorization: Bearer $NORTHFLANK_API_TOKEN"')
    options += [
        f"--header {shlex.quote(f'{p.name}: {_wire(v)}')}"
        for p, v in parameters
        if p.location == "header"
    ]
    options.append(f"--request {op.method}")
    if body is not None:
        compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        options.append(f"--data {shlex.quote(compact)}")
    return "curl " + " \\\n  ".join([*options, f'"{url}"'])


def _cli(
    api: Api, op: Operation, parameters: tuple[tuple[Parameter, Any], ...], body: Any | None
) -> str:
    words = [api.package.cli_name, *op.command_path]
    words += [f"{p.flags[0]} {shlex.quote(_wire(v))}" for p, v in parameters]
    if op.is_destructive:
        words.append("--yes")
    if body is None:
        return " ".join(words)
    document = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)
    return f"{' '.join(words)} -f - <<'EOF'\n{document}EOF"


def _python(
    api: Api,
    op: Operation,
    parameters: tuple[tuple[Parameter, Any], ...],
    body: Any | None,
    item_id: bool,
) -> str:
    arguments = [f"{p.python_name}={python_literal(v)}" for p, v in parameters]
    if body is not None:
        arguments.append(f"data={python_literal(body, 1)}")
    call = f"client.{'.'.join(PythonIdentifier(word) for word in op.command_path)}"
    invocation = (
        f"{call}(\n" + "".join(f"    {a},\n" for a in arguments) + ")" if arguments else f"{call}()"
    )
    head = (
        f"from {api.package.import_name} import Client\n\n"
        "client = Client()  # NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
    )
    if op.pagination is not None:
        item = PythonIdentifier(op.pagination.item_model)
        shown = f"{item}.id" if item_id else item
        return (
            f"{head}# Every page's items: the loop fetches the next page when it needs it.\n"
            f"for {item} in {invocation}:\n    print({shown})"
        )
    if op.result_model is None:
        return f"{head}{invocation}  # returns None: {op.success_status}, no body"
    # The result's name: the last word of its model's (``BuildService`` -> ``service``).
    noun = PythonIdentifier(split_words(op.result_model)[-1])
    shown = f"{noun}.{op.result_id}" if op.result_id else noun
    return f"{head}{noun} = {invocation}\nprint({shown})"


def _typescript(
    api: Api,
    op: Operation,
    parameters: tuple[tuple[Parameter, Any], ...],
    body: Any | None,
    item_id: bool,
) -> str:
    members = []
    path_values = [(p, v) for p, v in parameters if p.location == "path"]
    option_values = [(p, v) for p, v in parameters if p.location != "path"]
    if path_values:
        inner = ", ".join(f"{_ts_key(p.name)}: {json.dumps(v)}" for p, v in path_values)
        members.append(f"  parameters: {{ {inner} }},\n")
    if option_values:
        inner = ", ".join(f"{_ts_key(p.name)}: {json.dumps(v)}" for p, v in option_values)
        members.append(f"  options: {{ {inner} }},\n")
    if body is not None:
        text = json.dumps(body, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        members.append(f"  data: {text},\n")
    call = "apiClient." + ".".join(TsIdentifier(word) for word in op.command_path)
    if op.pagination is not None:
        call += ".all"
    argument = "{\n" + "".join(members) + "}" if members else ""
    head = (
        f'import {{ ApiClient }} from "{api.package.distribution}";\n\n'
        "const apiClient = new ApiClient(); // NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
    )
    check = "if (error) throw new Error(`${error.status} ${error.message}`);\n"
    if op.pagination is not None:
        items = op.pagination.items_key
        return (
            f"{head}// .all(): every page's items at once; without it, one page and "
            "pagination.getNextPage().\n"
            f"const {{ data, error }} = await {call}({argument});\n{check}"
            f"for (const item of data.{items}) console.log({'item.id' if item_id else 'item'});"
        )
    if op.result_model is None:
        return (
            f"{head}// {op.success_status}, no body: the result has no data.\n"
            f"const {{ error }} = await {call}({argument});\n{check.rstrip()}"
        )
    shown = f"data.{op.result_id}" if op.result_id else "data"
    return (
        f"{head}const {{ data, error }} = await {call}({argument});\n{check}console.log({shown});"
    )
