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
        examples=_examples(api, schemas, op),
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
    """The object whose fields nest under this row: its own, or each map value's; none for
    an object without fields (``{"data": {}}``), which is a leaf."""
    if schema.get("properties"):
        return dict(schema)
    values = _value_schema(schemas, schema)
    if values is not None and values.get("properties"):
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
#
# Each operation's examples run as printed, in any order, as often as one likes:
#
# * an operation acting on a resource by id (``getService`` with ``serviceId``
#   ``example-service``) first makes it with the idempotent ``PUT`` whose response
#   example returns that id: put creates it, or puts it back, and never answers 409;
# * an operation that may answer 409 (a ``POST`` create) sends a name of its own
#   (``Another ...``), then deletes what it made, by the id its answer gives, with the
#   ``DELETE`` whose path takes that id; so it runs again without a 409;
# * the others (the ``PUT`` itself, a list) need neither.
#
# All of it comes from the IR: methods, statuses, parameter examples, response examples.


@dataclass(frozen=True)
class _Call:
    operation: Operation
    parameters: tuple[tuple[Parameter, Any], ...]
    body: Any | None


@dataclass(frozen=True)
class _Cleanup:
    """The ``DELETE`` that removes what the call made; ``by`` is its parameter taking the id."""

    operation: Operation
    parameters: tuple[tuple[Parameter, Any], ...]
    by: Parameter


@dataclass(frozen=True)
class _Plan:
    setup: _Call | None
    call: _Call
    cleanup: _Cleanup | None
    retry_safe: Operation | None
    """The idempotent ``PUT`` of the same body, named where the call may answer 409."""


OWN_NAME_FIELD = "name"
"""The body field whose value a conflicting create makes its own."""
OWN_NAME_PREFIX = "Another"
"""``Example Service`` -> ``Another Example Service``: what a create's example sends."""


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


def _example_id(op: Operation) -> str | None:
    """The id of the result in the operation's success example, if it has one."""
    success = next(r for r in op.responses if r.status == op.success_status)
    if success.example_json is None or op.result_id is None:
        return None
    result = json.loads(success.example_json)
    if op.result_attribute is not None:
        result = result.get(op.result_attribute)
    value = result.get(op.result_id) if isinstance(result, dict) else None
    return value if isinstance(value, str) else None


def _call(api: Api, op: Operation) -> _Call:
    return _Call(op, _example_parameters(op), _body_example(api, op))


def _setup(api: Api, maker: Operation, changes: Any | None) -> _Call:
    """The ``PUT`` that makes what a call acts on. Its body: the first example of its body
    model that already has every field the call's body sets (so that a patch changes
    values, not shapes), else its own."""
    own = _call(api, maker)
    for candidate in (maker, *api.operations):
        if candidate.request_model != maker.request_model or not candidate.request_example_json:
            continue
        body = json.loads(candidate.request_example_json)
        if changes is None or _covers(body, changes):
            return replace(own, body=body)
    return own


def _covers(body: Any, changes: Any) -> bool:
    """Whether ``body`` has every field ``changes`` sets, at every depth."""
    if not isinstance(changes, dict):
        return True
    return isinstance(body, dict) and all(
        key in body and _covers(body[key], value) for key, value in changes.items()
    )


def _plan(api: Api, op: Operation) -> _Plan:
    puts = [o for o in api.operations if o.method == "PUT" and _example_id(o) is not None]
    made = {_example_id(o): o for o in puts}
    call = _call(api, op)
    setup = None
    if op.method != "PUT":
        maker = next((made[p.example] for p in op.path_parameters if p.example in made), None)
        setup = None if maker is None else _setup(api, maker, call.body)
    cleanup = _cleanup(api, op) if any(r.status == 409 for r in op.responses) else None
    retry_safe = None
    if cleanup is not None:
        if isinstance(call.body, dict) and isinstance(call.body.get(OWN_NAME_FIELD), str):
            own = f"{OWN_NAME_PREFIX} {call.body[OWN_NAME_FIELD]}"
            call = replace(call, body={**call.body, OWN_NAME_FIELD: own})
        retry_safe = next((o for o in puts if o.request_model == op.request_model), None)
    return _Plan(setup, call, cleanup, retry_safe)


def _cleanup(api: Api, op: Operation) -> _Cleanup | None:
    """The ``DELETE`` taking, besides the call's own path parameters, the id the call's
    success example returns."""
    made = _example_id(op)
    if made is None:
        return None
    own = {p.name for p in op.path_parameters}
    for candidate in api.operations:
        if candidate.method != "DELETE":
            continue
        extra = [p for p in candidate.path_parameters if p.name not in own]
        if len(extra) == 1 and extra[0].example == made:
            parameters = tuple(
                (p, v) for p, v in _example_parameters(candidate) if p.location == "path"
            )
            return _Cleanup(candidate, parameters, extra[0])
    return None


def _noun(model: str | None) -> str:
    """The last word of a model's name: ``BuildService`` -> ``service``."""
    return PythonIdentifier(split_words(model or "result")[-1])


def _setup_note(plan: _Plan, comment: str) -> str:
    assert plan.setup is not None
    noun = _noun(plan.setup.operation.result_model)
    return (
        f"{comment} First the {noun} this acts on: put creates it, or puts it back as "
        "written (retry-safe).\n"
    )


def _conflict_note(plan: _Plan, comment: str, retry_safe: str) -> str:
    if plan.retry_safe is None:
        return f"{comment} Sent twice with the same name, this is a 409 Conflict.\n"
    return (
        f"{comment} Sent twice with the same name, this is a 409 Conflict; "
        f"{retry_safe} is the retry-safe way.\n"
    )


def _retry_safe_alone(plan: _Plan) -> bool:
    """A ``PUT`` shown on its own, which the examples say may be sent again."""
    return plan.call.operation.method == "PUT" and plan.setup is None


CLEANUP_NOTE = "Clean up, so that the example runs again."
RETRY_SAFE_NOTE = "Retry-safe: run it again and the answer is the same, never a 409."


def _wire(value: Any) -> str:
    """A parameter value as the URL or a header carries it."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _ts_key(name: str) -> str:
    """A property key in TypeScript: bare when an identifier (``per_page``), else quoted."""
    return name if TS_IDENTIFIER.fullmatch(name) else json.dumps(name)


def _examples(api: Api, schemas: Mapping[str, Any], op: Operation) -> tuple[Example, ...]:
    plan = _plan(api, op)
    item_id = op.pagination is not None and "id" in schemas[op.pagination.item_model].get(
        "required", []
    )
    tabs = (
        ("curl", "curl", "shell", _curl(plan)),
        ("cli", api.package.cli_name, "shell", _cli(api, plan)),
        ("python", "Python", "python", _python(api, plan, item_id)),
        ("typescript", "TypeScript", "typescript", _typescript(api, plan, item_id)),
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


# --- curl


def _curl_command(
    call: _Call,
    *,
    quiet: bool = False,
    silent: bool = False,
    path_values: Mapping[str, str] | None = None,
) -> str:
    """The command; ``quiet``: no output unless it fails; ``silent``: no progress meter
    (its output is captured)."""
    op, parameters, body = call.operation, call.parameters, call.body
    values = {p.name: _wire(v) for p, v in parameters if p.location == "path"}
    path = op.path.format_map({**values, **(path_values or {})})
    query = urlencode([(p.name, _wire(v)) for p, v in parameters if p.location == "query"])
    url = f"{BASE_URL}{path}{'?' + query if query else ''}"
    options = ["--silent --show-error --fail --output /dev/null"] if quiet else []
    if silent:
        options.append("--silent --show-error")
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


def _curl(plan: _Plan) -> str:
    lines = []
    if plan.setup is not None:
        lines.append(_setup_note(plan, "#") + _curl_command(plan.setup, quiet=True))
    if plan.cleanup is None:
        note = f"# {RETRY_SAFE_NOTE}\n" if _retry_safe_alone(plan) else ""
        lines.append(note + _curl_command(plan.call))
        return "\n".join(lines)
    op = plan.call.operation
    retry_safe = ""
    if plan.retry_safe is not None:
        same = plan.retry_safe.path == op.path
        retry_safe = f"the same with --request {plan.retry_safe.method}" + (
            "" if same else f" to {plan.retry_safe.path}"
        )
    captured = _curl_command(plan.call, silent=True)
    lines.append(_conflict_note(plan, "#", retry_safe) + f"response=$({captured})")
    lines.append('echo "$response"')
    field = "." + ".".join(filter(None, (op.result_attribute, op.result_id)))
    made = f'$(echo "$response" | jq -r {field})'
    cleanup = _Call(plan.cleanup.operation, plan.cleanup.parameters, None)
    lines.append(
        f"# {CLEANUP_NOTE}\n"
        + _curl_command(cleanup, quiet=True, path_values={plan.cleanup.by.name: made})
    )
    return "\n".join(lines)


# --- nf-build


def _cli_command(api: Api, call: _Call, *, extra: tuple[str, ...] = (), quiet: bool = False) -> str:
    """The command line; ``quiet``: its output (what it prints on success) discarded."""
    op = call.operation
    words = [api.package.cli_name, *op.command_path]
    words += [f"{p.flags[0]} {shlex.quote(_wire(v))}" for p, v in call.parameters]
    if op.is_destructive:
        words.append("--yes")
    words += extra
    if call.body is not None:
        words.append("-f -")
    if quiet:
        words.append(">/dev/null")
    if call.body is None:
        return " ".join(words)
    document = yaml.safe_dump(call.body, sort_keys=False, allow_unicode=True, width=1000)
    return f"{' '.join(words)} <<'EOF'\n{document}EOF"


def _cli(api: Api, plan: _Plan) -> str:
    lines = []
    if plan.setup is not None:
        lines.append(_setup_note(plan, "#") + _cli_command(api, plan.setup, quiet=True))
    if plan.cleanup is None:
        note = f"# {RETRY_SAFE_NOTE}\n" if _retry_safe_alone(plan) else ""
        lines.append(note + _cli_command(api, plan.call))
        return "\n".join(lines)
    retry_safe = ""
    if plan.retry_safe is not None:
        retry_safe = " ".join((api.package.cli_name, *plan.retry_safe.command_path))
    command = _cli_command(api, plan.call, extra=("--quiet",))
    lines.append(_conflict_note(plan, "#", retry_safe) + f"id=$({command}\n)")
    lines.append('echo "$id"')
    words = [api.package.cli_name, *plan.cleanup.operation.command_path]
    made = '"$id"'
    words += [
        f"{p.flags[0]} {made if p is plan.cleanup.by else shlex.quote(_wire(v))}"
        for p, v in plan.cleanup.parameters
    ]
    words += ["--yes", "--quiet"]
    lines.append(f"# {CLEANUP_NOTE}\n" + " ".join(words))
    return "\n".join(lines)


# --- Python


def _python_call(call: _Call, *, values: Mapping[str, str] | None = None) -> str:
    shown = values or {}
    arguments = [
        f"{p.python_name}={shown.get(p.name, python_literal(v))}" for p, v in call.parameters
    ]
    if call.body is not None:
        arguments.append(f"data={python_literal(call.body, 1)}")
    name = f"client.{'.'.join(PythonIdentifier(word) for word in call.operation.command_path)}"
    if not arguments:
        return f"{name}()"
    return f"{name}(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _python(api: Api, plan: _Plan, item_id: bool) -> str:
    op = plan.call.operation
    invocation = _python_call(plan.call)
    head = (
        f"from {api.package.import_name} import Client\n\n"
        "client = Client()  # NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
    )
    if plan.setup is not None:
        head += _setup_note(plan, "#") + _python_call(plan.setup) + "\n"
    if op.pagination is not None:
        item = PythonIdentifier(op.pagination.item_model)
        shown = f"{item}.id" if item_id else item
        return (
            f"{head}# Every page's items: the loop fetches the next page when it needs it.\n"
            f"for {item} in {invocation}:\n    print({shown})"
        )
    if op.result_model is None:
        return f"{head}{invocation}  # returns None: {op.success_status}, no body"
    noun = _noun(op.result_model)
    shown = f"{noun}.{op.result_id}" if op.result_id else noun
    if _retry_safe_alone(plan):
        head += f"# {RETRY_SAFE_NOTE}\n"
    if plan.cleanup is None:
        return f"{head}{noun} = {invocation}\nprint({shown})"
    retry_safe = ""
    if plan.retry_safe is not None:
        path = ".".join(PythonIdentifier(w) for w in plan.retry_safe.command_path)
        retry_safe = f"client.{path}"
    cleanup = _Call(plan.cleanup.operation, plan.cleanup.parameters, None)
    removal = _python_call(cleanup, values={plan.cleanup.by.name: shown})
    return (
        f"{head}{_conflict_note(plan, '#', retry_safe)}{noun} = {invocation}\nprint({shown})\n"
        f"# {CLEANUP_NOTE}\n{removal}"
    )


# --- TypeScript


def _ts_call(api: Api, call: _Call, *, values: Mapping[str, str] | None = None) -> str:
    shown = values or {}
    op = call.operation
    members = []
    path_values = [(p, v) for p, v in call.parameters if p.location == "path"]
    option_values = [(p, v) for p, v in call.parameters if p.location != "path"]
    if path_values:
        inner = ", ".join(
            f"{_ts_key(p.name)}: {shown.get(p.name, json.dumps(v))}" for p, v in path_values
        )
        members.append(f"  parameters: {{ {inner} }},\n")
    if option_values:
        inner = ", ".join(f"{_ts_key(p.name)}: {json.dumps(v)}" for p, v in option_values)
        members.append(f"  options: {{ {inner} }},\n")
    if call.body is not None:
        text = json.dumps(call.body, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        members.append(f"  data: {text},\n")
    name = "apiClient." + ".".join(TsIdentifier(word) for word in op.command_path)
    if op.pagination is not None:
        name += ".all"
    argument = "{\n" + "".join(members) + "}" if members else ""
    return f"{name}({argument})"


def _ts_check(result: str) -> str:
    return f"if ({result}) throw new Error(`${{{result}.status}} ${{{result}.message}}`);"


def _typescript(api: Api, plan: _Plan, item_id: bool) -> str:
    op = plan.call.operation
    call = _ts_call(api, plan.call)
    head = (
        f'import {{ ApiClient }} from "{api.package.distribution}";\n\n'
        "const apiClient = new ApiClient(); // NORTHFLANK_API_TOKEN; NORTHFLANK_BASE_URL if set\n"
    )
    if plan.setup is not None:
        head += (
            _setup_note(plan, "//")
            + f"const setup = await {_ts_call(api, plan.setup)};\n"
            + _ts_check("setup.error")
            + "\n"
        )
    check = _ts_check("error") + "\n"
    if op.pagination is not None:
        items = op.pagination.items_key
        return (
            f"{head}// .all(): every page's items at once; without it, one page and "
            "pagination.getNextPage().\n"
            f"const {{ data, error }} = await {call};\n{check}"
            f"for (const item of data.{items}) console.log({'item.id' if item_id else 'item'});"
        )
    if op.result_model is None:
        return (
            f"{head}// {op.success_status}, no body: the result has no data.\n"
            f"const {{ error }} = await {call};\n{check.rstrip()}"
        )
    shown = f"data.{op.result_id}" if op.result_id else "data"
    if _retry_safe_alone(plan):
        head += f"// {RETRY_SAFE_NOTE}\n"
    text = f"const {{ data, error }} = await {call};\n{check}console.log({shown});"
    if plan.cleanup is None:
        return head + text
    retry_safe = ""
    if plan.retry_safe is not None:
        path = ".".join(TsIdentifier(w) for w in plan.retry_safe.command_path)
        retry_safe = f"apiClient.{path}"
    cleanup = _Call(plan.cleanup.operation, plan.cleanup.parameters, None)
    removal = _ts_call(api, cleanup, values={plan.cleanup.by.name: shown})
    return (
        f"{head}{_conflict_note(plan, '//', retry_safe)}{text}\n"
        f"// {CLEANUP_NOTE}\nconst cleanup = await {removal};\n{_ts_check('cleanup.error')}"
    )
