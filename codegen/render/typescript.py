"""The TypeScript package: types, validators and the client, with the official client's call shape.

``client.create.service.build({ parameters: { projectId }, data })`` resolves to
``{ data, error, request, rawResponse }`` as ``@northflank/js-client`` does.
The schemas are compiled by `typescript_schema`; the hand-written runtime under
``runtime/typescript/`` (requests, retries, errors; the validators' helpers)
is copied in beside the generated files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..ir import Api, Operation, Parameter, Resource
from ..names import ClassName, TsIdentifier
from ..templating import render_template
from . import RenderedFile, license_file
from .typescript_schema import TsCheck, declarations, validators

__all__ = [
    "TS_RUNTIME_DIR",
    "TsCallNames",
    "TsField",
    "TsOperation",
    "render_typescript",
    "typescript_runtime_files",
]

TS_RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime" / "typescript"
ROOT = PurePosixPath("typescript")
_TS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
TYPESCRIPT_VERSION = "7.0.2"
"""The compiler the package is built with; tools/node pins the same one."""


@dataclass(frozen=True)
class TsField:
    """A member of a generated interface: its key, type, whether optional, and its TSDoc."""

    key: str
    """As a TypeScript property key: bare when an identifier, else quoted (``"X-Trace-Id"``)."""
    type: str
    optional: bool
    doc: str


@dataclass(frozen=True)
class TsCallNames:
    """The names of one call's types, after the official client's: ``ListServicesRequest``...

    A name a schema of the spec already takes (a schema called ``ListWidgetsOptions``,
    say) gets its fallback (``ListWidgetsQueryOptions``).
    """

    parameters: str
    options: str
    data: str
    result: str
    request: str
    call: str


_CALL_TYPE_SUFFIXES = {
    "parameters": ("Parameters", "PathParameters"),
    "options": ("Options", "QueryOptions"),
    "data": ("Data", "Body"),
    "result": ("Result", "ResultData"),
    "request": ("Request", "CallRequest"),
    "call": ("Call", "Function"),
}


@dataclass(frozen=True)
class TsOperation:
    """One operation as the TypeScript client names it; every literal the templates print."""

    operation: Operation
    stem: str
    """``CreateServiceBuild``: the official client's prefix for the call's types."""
    constant: str
    """``CREATE_BUILD_SERVICE``: the endpoint's description."""
    method: str
    """The call's name on its level: ``build``, ``widgetStatus`` (``widget-status``)."""
    access: str
    """The whole call: ``client.create.service.build``."""
    names: TsCallNames
    result_key: str
    """The envelope property holding the result, as a TypeScript literal (or ``undefined``)."""
    result_type: str
    """What the call's ``data`` is: the result model, or ``undefined`` (a 204)."""
    path_fields: tuple[TsField, ...]
    option_fields: tuple[TsField, ...]
    """The query and header parameters, by wire name, as the request's ``options``."""
    request_fields: tuple[TsField, ...]
    """``parameters``, ``options`` and ``data``, each when the operation has it."""
    request_optional: bool
    """Whether the call may be made with no argument (nothing in it is required)."""
    endpoint_parameters: str
    """``[{ name, location }]`` of every parameter, as a TypeScript literal."""
    validate_parameters: str
    validate_request: str
    validate_response: str
    """Each validator's name, or ``undefined`` when there is nothing to check."""
    body_required: str
    pagination: str
    """``{ itemsKey: "widgets" }`` for a list, else ``undefined``."""
    paginated: bool
    call_example: str
    """The argument as the docs show it: ``{ parameters: { projectId }, data }``."""
    readme_lines: tuple[str, ...]
    """The argument's lines in the README: ``parameters: { projectId: "default-project" },``."""


@dataclass(frozen=True)
class TsResource:
    """One level of ``client.create.service``: a class with its children and calls."""

    class_name: str
    path: tuple[str, ...]
    attribute: str
    """Its name on the level above: ``service`` (``widgetStatus`` for ``widget-status``)."""
    children: tuple[tuple[str, str], ...]
    """(attribute, class name) of each level below."""
    calls: tuple[TsOperation, ...]
    """The operations called at this level."""


def typescript_runtime_files() -> list[Path]:
    """The hand-written TypeScript modules copied into ``src/``."""
    return sorted(TS_RUNTIME_DIR.glob("*.ts"))


def render_typescript(api: Api) -> list[RenderedFile]:
    schemas = json.loads(api.schemas_json)
    constants, checks = validators(schemas)
    operations = tuple(_ts_operation(op, frozenset(schemas)) for op in api.operations)
    _refuse_duplicates(operations, frozenset(schemas))
    resources = _resources(api.resources, operations)
    context = {
        "api": api,
        "operations": operations,
        "resources": resources,
        "top_level": tuple(r for r in resources if len(r.path) == 1),
        "runtime_types": (
            "ApiCallResponse",
            "CallSettings",
            "ClientOptions",
            "Endpoint",
            *(("PaginatedApiCallResponse",) if any(op.paginated for op in operations) else ()),
        ),
        "type_imports": _sorted_unique(
            name for op in api.operations for name in (op.request_model, op.result_model)
        ),
        "validator_imports": _sorted_unique(
            _validator(name)
            for op in api.operations
            for name in (op.parameters_model, op.request_model, op.success_model)
            if name is not None
        ),
        "helpers": _helpers_used(checks),
        "declarations": declarations(schemas),
        "constants": constants,
        "checks": checks,
        "typescript_version": TYPESCRIPT_VERSION,
        "user_agent": f"northflank-build-typescript/{api.package.version}",
    }
    templated = {
        "package.json": "package.json.jinja",
        "tsconfig.json": "tsconfig.json.jinja",
        "tsconfig.cjs.json": "tsconfig.cjs.json.jinja",
        "README.md": "README.md.jinja",
        "src/index.ts": "index.ts.jinja",
        "src/types.ts": "types.ts.jinja",
        "src/validate.ts": "validate.ts.jinja",
        "src/client.ts": "client.ts.jinja",
    }
    files = [
        RenderedFile(ROOT / path, render_template(f"typescript/{template}", **context))
        for path, template in templated.items()
    ]
    files += [
        RenderedFile(ROOT / "src" / path.name, path.read_text(encoding="utf-8"))
        for path in typescript_runtime_files()
    ]
    files.append(license_file(ROOT))
    return files


def _ts_operation(op: Operation, schema_names: frozenset[str]) -> TsOperation:
    stem = ClassName(" ".join(op.command_path))
    names = TsCallNames(
        **{
            field: f"{stem}{wanted}" if f"{stem}{wanted}" not in schema_names else f"{stem}{other}"
            for field, (wanted, other) in _CALL_TYPE_SUFFIXES.items()
        }
    )
    path_fields = tuple(_parameter_field(p) for p in op.path_parameters)
    option_fields = tuple(
        _parameter_field(p) for p in (*op.query_parameters, *op.header_parameters)
    )
    request_fields = []
    if path_fields:
        request_fields.append(
            TsField("parameters", names.parameters, False, "The path parameters.")
        )
    if option_fields:
        required = any(not f.optional for f in option_fields)
        doc = "The query and header parameters, by wire name."
        request_fields.append(TsField("options", names.options, not required, doc))
    if op.has_body:
        request_fields.append(TsField("data", names.data, not op.body_required, "The body."))
    example = []
    if path_fields:
        example.append("parameters: { " + ", ".join(f.key for f in path_fields) + " }")
    if option_fields:
        example.append("options")
    if op.has_body:
        example.append("data")
    return TsOperation(
        operation=op,
        stem=stem,
        constant=op.endpoint_constant,
        method=TsIdentifier(op.command_path[-1]),
        access=".".join(["client", *(TsIdentifier(word) for word in op.command_path)]),
        names=names,
        result_key=json.dumps(op.result_attribute) if op.result_attribute else "undefined",
        result_type=op.result_model or "undefined",
        path_fields=path_fields,
        option_fields=option_fields,
        request_fields=tuple(request_fields),
        request_optional=all(f.optional for f in request_fields),
        endpoint_parameters="["
        + ", ".join(
            f"{{ name: {json.dumps(p.name)}, location: {json.dumps(p.location)} }}"
            for p in op.parameters
        )
        + "] as const",
        validate_parameters=_validator(op.parameters_model),
        validate_request=_validator(op.request_model),
        validate_response=_validator(op.success_model),
        body_required="true" if op.body_required else "false",
        pagination="undefined"
        if op.pagination is None
        else f"{{ itemsKey: {json.dumps(op.pagination.items_key)} }}",
        paginated=op.pagination is not None,
        call_example="{ " + ", ".join(example) + " }",
        readme_lines=_readme_lines(op),
    )


def _readme_lines(op: Operation) -> tuple[str, ...]:
    lines = []
    if op.path_parameters:
        values = ", ".join(f"{p.name}: {json.dumps(p.example)}" for p in op.path_parameters)
        lines.append(f"parameters: {{ {values} }},")
    required = [p for p in (*op.query_parameters, *op.header_parameters) if p.required]
    if required:
        values = ", ".join(f"{_ts_key(p.name)}: {json.dumps(p.example)}" for p in required)
        lines.append(f"options: {{ {values} }},")
    if op.has_body:
        lines.append("data: body,")
    return tuple(lines)


def _ts_key(name: str) -> str:
    return name if _TS_IDENTIFIER.fullmatch(name) else json.dumps(name)


def _parameter_field(parameter: Parameter) -> TsField:
    key = _ts_key(parameter.name)
    doc = parameter.description + (" @deprecated" if parameter.deprecated else "")
    return TsField(key, parameter.ts_type, not parameter.required, doc.replace("*/", "*\\/"))


def _validator(model: ClassName | None) -> str:
    return "undefined" if model is None else f"validate{model}"


def _sorted_unique(names: Iterable[str | None]) -> tuple[str, ...]:
    """Each name once, sorted: a model several operations share is imported once."""
    return tuple(sorted({name for name in names if name is not None}))


def _refuse_duplicates(operations: tuple[TsOperation, ...], schema_names: frozenset[str]) -> None:
    """Stop the generator when two names of client.ts would collide."""
    seen = set(schema_names)
    for item in operations:
        for name in (*vars(item.names).values(), item.constant):
            if name in seen:
                raise ValueError(
                    f"{item.operation.operation_id}: the TypeScript name {name} is taken"
                )
            seen.add(name)


def _resources(
    resources: tuple[Resource, ...], operations: tuple[TsOperation, ...]
) -> tuple[TsResource, ...]:
    """The levels below the root, deepest first, so each class is declared before its use."""
    by_id = {item.operation.operation_id: item for item in operations}
    levels = sorted((r for r in resources if r.path), key=lambda r: (-len(r.path), r.path))
    return tuple(
        TsResource(
            class_name=f"{level.class_stem}Resource",
            path=level.path,
            attribute=TsIdentifier(level.path[-1]),
            children=tuple(
                (TsIdentifier(child[-1]), f"{ClassName(' '.join(child))}Resource")
                for child in (
                    other.path
                    for other in resources
                    if len(other.path) == len(level.path) + 1
                    and other.path[: len(level.path)] == level.path
                )
            ),
            calls=tuple(by_id[op.operation_id] for op in level.operations),
        )
        for level in levels
    )


VALIDATION_HELPERS = ("codePoints", "exactlyOne", "hasOwn", "isObject", "pathStep")


def _helpers_used(checks: tuple[TsCheck, ...]) -> tuple[str, ...]:
    """The helpers of ``validation.ts`` that the compiled checks call."""
    text = "\n".join(line for check in checks for line in (*check.test_lines, *check.check_lines))
    return tuple(name for name in VALIDATION_HELPERS if f"{name}(" in text)
