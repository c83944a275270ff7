"""Stage 3: the intermediate representation, frozen dataclasses every renderer reads.

Renderers never look at the raw document; whatever a template prints is
computed here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .body_fields import BodyField, body_fields, parameter_flags
from .ecma_regex import to_rust_regex
from .load import LoadedSpec
from .names import ClassName, PythonIdentifier, split_words
from .package_version import read_release_config
from .spec_operations import (
    PAGINATED_KEY,
    command_path,
    iter_operations,
    parameters_model_name,
    raw_parameters,
)
from .spec_walk import dereference, in_example, iter_nodes

__all__ = [
    "Api",
    "BodyField",
    "Field",
    "Model",
    "Operation",
    "Package",
    "Pagination",
    "Parameter",
    "PatternTranslation",
    "Resource",
    "Response",
    "build_ir",
    "with_parameter_models",
]

ECMA_PATTERN_KEY = "x-ecma-pattern"
"""Where the model schema keeps a pattern as the spec wrote it, beside its Rust form."""

DISTRIBUTION = "northflank-build"
IMPORT_NAME = "northflank_build"
CLI_NAME = "nf-build"


@dataclass(frozen=True)
class Field:
    json_name: str
    python_name: PythonIdentifier
    required: bool
    description: str
    deprecated: bool


@dataclass(frozen=True)
class Model:
    """A named schema of ``components/schemas``."""

    name: ClassName
    description: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter, with the operation's or its path's own."""

    name: str
    """As on the wire: ``projectId``, ``per_page``, ``X-Trace-Id``."""
    python_name: PythonIdentifier
    location: str
    """``path``, ``query`` or ``header``."""
    required: bool
    description: str
    deprecated: bool
    kind: str
    """The JSON type of its value: ``string``, ``integer``, ``number`` or ``boolean``."""
    choices: tuple[str | int | float | bool, ...]
    """The enum values its bounds admit, in spec order; empty when it has no enum."""
    python_type: str
    """Its annotation in the client: ``str``, ``int``, ``Literal[1, 2, 3, 5]``."""
    ts_type: str
    """Its TypeScript type: ``string``, ``number``, ``1 | 2 | 3 | 5``."""

    example: str | int | float | bool
    """The value examples use, always of the parameter's kind and among its choices:
    the spec's example when it is one, else the first choice, the minimum (or 1),
    ``true``, or for a string ``default-project`` for ``projectId`` (what the sandbox
    names the project it creates), so examples run against it as printed."""
    example_given: bool
    """Whether ``example`` is the spec's own (examples show optional parameters only then)."""

    @property
    def flags(self) -> tuple[str, ...]:
        """The CLI's names for it: ``--project-id``, ``--projectId``, ``--project``."""
        return parameter_flags(self.name)


@dataclass(frozen=True)
class Pagination:
    """A list in Northflank's convention: ``{"data": {"<items>": [...]}, "pagination": {...}}``.

    Its query takes ``per_page``, ``page`` and ``cursor``; the next page is the
    same call with ``cursor`` set to ``pagination.cursor`` of this one.
    """

    items_key: str
    """The property of ``data`` that holds the page's items, as on the wire (``services``)."""
    items_attribute: PythonIdentifier
    """The same property as the models name it."""
    item_model: ClassName
    """The model of one item."""


@dataclass(frozen=True)
class Response:
    status: int
    description: str
    model: ClassName | None
    headers: tuple[tuple[str, str], ...]
    """Each response header's name and description."""
    example_json: str | None
    """The first example of the body, as JSON text."""


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    """Upper case: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``."""
    path: str
    summary: str
    description: str
    required_permission: str
    command_path: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    """Path parameters first, then query, then header; each in spec order."""
    parameters_model: ClassName | None
    """The model every parameter value is validated by (``ListServicesParams``),
    made by the IR from the parameters' schemas; ``None`` when there are none."""
    request_model: ClassName | None
    """The model of the JSON body; ``None`` when the operation takes no body."""
    body_required: bool
    responses: tuple[Response, ...]
    success_status: int
    """The one 2xx status the spec gives (200, 201, 202 or 204)."""
    success_model: ClassName | None
    """The model of the 2xx response; ``None`` when it has no body (204)."""
    result_attribute: PythonIdentifier | None
    """The one required property of the success model that holds the result (``data``)."""
    result_model: ClassName | None
    """What a client call returns: the model of ``result_attribute``, else the success
    model; ``None`` when the success response has no body."""
    result_id: str | None
    """The result's ``id`` property, when it has one (what ``nf-build --quiet`` prints)."""
    pagination: Pagination | None
    """How to walk the pages, for an operation marked ``x-paginated``."""
    body_fields: tuple[BodyField, ...]
    """The request body flattened for the CLI's flags and prompts."""
    request_example_json: str | None
    """The first example of the request body, as JSON text."""

    @property
    def client_method(self) -> PythonIdentifier:
        """The method's name in the client: the last word of ``x-command-path``."""
        return PythonIdentifier(self.command_path[-1])

    @property
    def endpoint_constant(self) -> str:
        """``createBuildService`` -> ``CREATE_BUILD_SERVICE``."""
        return PythonIdentifier(self.operation_id).upper()

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")

    @property
    def query_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "query")

    @property
    def header_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "header")

    @property
    def has_body(self) -> bool:
        return self.request_model is not None

    @property
    def is_destructive(self) -> bool:
        """A DELETE: the CLI asks before sending it."""
        return self.method == "DELETE"


@dataclass(frozen=True)
class Resource:
    """One level of the client's call tree: ``client.create``, ``client.create.service``...

    The levels come from each operation's ``x-command-path`` (``create service
    build`` is ``client.create.service.build``), the JS client's vocabulary.
    """

    path: tuple[str, ...]
    class_stem: ClassName
    """``CreateService`` for ``client.create.service``; the client root has ``path == ()``."""
    children: tuple[tuple[PythonIdentifier, ClassName], ...]
    """Each attribute leading one level down, with its class stem."""
    operations: tuple[Operation, ...]
    """The operations callable at this level."""


@dataclass(frozen=True)
class PatternTranslation:
    """An ECMA-262 pattern of the spec and the Rust-regex form the models enforce."""

    ecma: str
    rust: str


@dataclass(frozen=True)
class Package:
    distribution: str
    import_name: str
    version: str
    description: str
    cli_name: str
    """The console script: ``nf-build``."""
    repository: str = ""
    """The source repository (release.toml): the packages' project URLs start there."""


@dataclass(frozen=True)
class Api:
    title: str
    version: str
    spec_sha256: str
    package: Package
    operations: tuple[Operation, ...]
    models: tuple[Model, ...]
    resources: tuple[Resource, ...]
    """The client's call tree, the root first, then depth-first."""
    client_models: tuple[ClassName, ...]
    """Every model the clients name (bodies, parameters, results, items), sorted, once each."""
    patterns: tuple[PatternTranslation, ...]
    model_schema_json: str
    """The spec as the model generator reads it: every pattern in Rust-regex form."""
    schemas_json: str
    """``components/schemas`` as the spec writes them (ECMA-262 patterns), as JSON text."""
    servers: tuple[tuple[str, str], ...]
    """Each server's URL and description."""
    auth: tuple[tuple[str, str], ...]
    """Each security scheme's name and description."""


def build_ir(spec: LoadedSpec) -> Api:
    """Turn a validated spec into the IR."""
    document = with_parameter_models(spec.document)
    info = document["info"]
    release = read_release_config()
    patterns = _pattern_translations(document)
    operations = tuple(_operations(document))
    return Api(
        title=str(info["title"]),
        version=str(info["version"]),
        spec_sha256=spec.sha256,
        package=Package(
            distribution=DISTRIBUTION,
            import_name=IMPORT_NAME,
            version=str(release.version),  # release.toml, not info.version: see there
            description=str(info.get("summary") or info["title"]),
            cli_name=CLI_NAME,
            repository=release.repository,
        ),
        operations=operations,
        models=tuple(_models(document)),
        resources=_resources(operations),
        client_models=_client_models(operations),
        patterns=patterns,
        model_schema_json=json.dumps(
            _with_rust_patterns(document, {p.ecma: p.rust for p in patterns}),
            sort_keys=False,
            ensure_ascii=False,
        ),
        servers=tuple(
            (str(server["url"]), str(server.get("description", "")))
            for server in document.get("servers", [])
        ),
        auth=tuple(
            (str(name), str(scheme.get("description", "")))
            for name, scheme in document.get("components", {}).get("securitySchemes", {}).items()
        ),
        schemas_json=json.dumps(
            document.get("components", {}).get("schemas", {}), sort_keys=False, ensure_ascii=False
        ),
    )


def with_parameter_models(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with one object schema per operation that has parameters.

    ``ListServicesParams`` has a property per parameter (its wire name), its
    schema as the spec gives it, and ``required`` as the spec says: every surface
    then validates parameters with the machinery it has for bodies.
    """
    result = copy.deepcopy(dict(document))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for _, _, operation, item in iter_operations(document):
        parameters = raw_parameters(document, operation, item)
        if not parameters:
            continue
        properties: dict[str, Any] = {}
        for parameter in parameters:
            schema = dict(parameter.get("schema", {}))
            if parameter.get("description"):
                schema["description"] = parameter["description"]
            if parameter.get("deprecated"):
                schema["deprecated"] = True
            properties[str(parameter["name"])] = schema
        required = [str(p["name"]) for p in parameters if p.get("required")]
        summary = str(operation.get("summary") or operation.get("operationId", ""))
        schemas[parameters_model_name(operation)] = {
            "type": "object",
            "description": f"The path, query and header parameters of {summary.lower()}.",
            "additionalProperties": False,
            **({"required": required} if required else {}),
            "properties": properties,
        }
    return result


def _models(document: Mapping[str, Any]) -> list[Model]:
    schemas = document.get("components", {}).get("schemas", {})
    models = []
    for name, schema in sorted(schemas.items()):
        required = set(schema.get("required", []))
        fields = tuple(
            Field(
                json_name=json_name,
                python_name=PythonIdentifier(json_name),
                required=json_name in required,
                description=_description(document, prop),
                deprecated=bool(prop.get("deprecated", False)),
            )
            for json_name, prop in schema.get("properties", {}).items()
        )
        models.append(Model(ClassName(name), str(schema.get("description", "")), fields))
    return models


def _operations(document: Mapping[str, Any]) -> list[Operation]:
    operations = []
    for route, method, operation, item in iter_operations(document):
        parameters = tuple(
            _parameter(document, raw) for raw in raw_parameters(document, operation, item)
        )
        body = _node(document, operation.get("requestBody", {}))
        body_media = body.get("content", {}).get("application/json", {})
        example = _first_example(document, body_media)
        responses = _responses(document, operation["responses"])
        path_flags = frozenset(f for p in parameters for f in p.flags)
        operations.append(
            Operation(
                operation_id=str(operation["operationId"]),
                method=method.upper(),
                path=route,
                summary=str(operation.get("summary", "")),
                description=str(operation.get("description", "")),
                required_permission=str(operation["x-required-permission"]),
                command_path=command_path(operation),
                parameters=parameters,
                parameters_model=parameters_model_name(operation) if parameters else None,
                request_model=_json_model(body),
                body_required=bool(body.get("required", False)),
                responses=responses,
                success_status=next(r.status for r in responses if 200 <= r.status < 300),
                **_result(document, responses),
                pagination=_pagination(document, responses)
                if operation.get(PAGINATED_KEY) is True
                else None,
                body_fields=body_fields(
                    document, body_media.get("schema", {}), example, taken_flags=path_flags
                )
                if "schema" in body_media
                else (),
                request_example_json=None
                if example is None
                else json.dumps(example, ensure_ascii=False),
            )
        )
    return operations


def _parameter(document: Mapping[str, Any], parameter: Mapping[str, Any]) -> Parameter:
    schema = _node(document, parameter.get("schema", {}))
    kind = str(schema.get("type", "string"))
    choices = tuple(_enum_within_bounds(schema))
    python_type = {"integer": "int", "number": "float", "boolean": "bool"}.get(kind, "str")
    ts_type = {"integer": "number", "number": "number", "boolean": "boolean"}.get(kind, "string")
    if choices:
        literals = [
            json.dumps(c, ensure_ascii=False) if isinstance(c, str) else repr(c) for c in choices
        ]
        python_type = f"Literal[{', '.join(literals)}]"
        ts_type = " | ".join(json.dumps(c, ensure_ascii=False) for c in choices)
    return Parameter(
        name=str(parameter["name"]),
        python_name=PythonIdentifier(str(parameter["name"])),
        location=str(parameter["in"]),
        required=bool(parameter.get("required", False)),
        description=str(parameter.get("description", "")),
        deprecated=bool(parameter.get("deprecated", False)),
        kind=kind,
        choices=choices,
        python_type=python_type,
        ts_type=ts_type,
        **_parameter_example(document, parameter, schema, kind, choices),
    )


def _enum_within_bounds(schema: Mapping[str, Any]) -> list[Any]:
    """The enum values that ``minimum``/``maximum`` beside them admit, in spec order."""
    low, high = schema.get("minimum"), schema.get("maximum")
    kept = []
    for value in schema.get("enum", []):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and ((low is not None and value < low) or (high is not None and value > high)):
            continue
        kept.append(value)
    return kept


def _pagination(document: Mapping[str, Any], responses: tuple[Response, ...]) -> Pagination:
    """Where a paginated list keeps its items: the one array property of its ``data``."""
    success = next(r for r in responses if 200 <= r.status < 300)
    schemas = document["components"]["schemas"]
    envelope = _node(document, schemas[str(success.model)])
    data = _node(document, envelope["properties"]["data"])
    items_key, items = next(
        (str(key), _node(document, value))
        for key, value in data["properties"].items()
        if _node(document, value).get("type") == "array"
    )
    return Pagination(
        items_key=items_key,
        items_attribute=PythonIdentifier(items_key),
        item_model=ClassName(str(items["items"]["$ref"]).rsplit("/", 1)[-1]),
    )


def _client_models(operations: tuple[Operation, ...]) -> tuple[ClassName, ...]:
    names: set[ClassName] = set()
    for operation in operations:
        names.update(
            name
            for name in (
                operation.parameters_model,
                operation.request_model,
                operation.success_model,
                operation.result_model,
                operation.pagination.item_model if operation.pagination else None,
            )
            if name is not None
        )
    return tuple(sorted(names))


def _responses(document: Mapping[str, Any], raw: Mapping[str, Any]) -> tuple[Response, ...]:
    responses = []
    for status, raw_response in sorted(raw.items()):
        response = _node(document, raw_response)
        media = response.get("content", {}).get("application/json", {})
        example = _first_example(document, media)
        responses.append(
            Response(
                status=int(status),
                description=str(response.get("description", "")),
                model=_json_model(response),
                headers=tuple(
                    (str(name), str(_node(document, header).get("description", "")))
                    for name, header in response.get("headers", {}).items()
                ),
                example_json=None if example is None else json.dumps(example, ensure_ascii=False),
            )
        )
    return tuple(responses)


def _result(document: Mapping[str, Any], responses: tuple[Response, ...]) -> dict[str, Any]:
    """The success model, and the envelope property that holds the result, if there is one."""
    success = next((r.model for r in responses if 200 <= r.status < 300), None)
    result: dict[str, Any] = {
        "success_model": success,
        "result_attribute": None,
        "result_model": success,
        "result_id": None,
    }
    if success is None:
        return result
    schemas = document["components"]["schemas"]
    schema = _node(document, schemas[success])
    required = [str(name) for name in schema.get("required", [])]
    # The envelope's result: ``data`` when it is required (a list also has
    # ``pagination``), else its one required property.
    held_name = "data" if "data" in required else required[0] if len(required) == 1 else None
    if held_name is not None:
        held = schema.get("properties", {}).get(held_name, {})
        ref = held.get("$ref", "") if isinstance(held, Mapping) else ""
        if ref.startswith("#/components/schemas/"):
            result["result_attribute"] = PythonIdentifier(held_name)
            result["result_model"] = ClassName(ref.rsplit("/", 1)[-1])
            schema = _node(document, schemas[ref.rsplit("/", 1)[-1]])
    if "id" in schema.get("required", []):
        result["result_id"] = "id"
    return result


def _parameter_example(
    document: Mapping[str, Any],
    parameter: Mapping[str, Any],
    schema: Mapping[str, Any],
    kind: str,
    choices: tuple[Any, ...],
) -> dict[str, Any]:
    """``example`` and ``example_given`` of a `Parameter` (see there)."""
    given = parameter["example"] if "example" in parameter else _first_example(document, parameter)
    if given is None:
        given = schema.get("example")
    if _is_kind(given, kind) and (not choices or given in choices):
        return {"example": given, "example_given": True}
    if choices:
        made: Any = choices[0]
    elif kind == "boolean":
        made = True
    elif kind in ("integer", "number"):
        made = schema.get("minimum", 1)
    else:
        words = split_words(str(parameter["name"]))
        if len(words) > 1 and words[-1].lower() == "id":
            words = words[:-1]
        made = "-".join(["default", *(word.lower() for word in words)])
    return {"example": made, "example_given": False}


def _is_kind(value: Any, kind: str) -> bool:
    """Whether ``value`` is a JSON value of the scalar type ``kind``."""
    if isinstance(value, bool) or kind == "boolean":
        return isinstance(value, bool) and kind == "boolean"
    if kind == "integer":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, int | float)
    return isinstance(value, str)


def _first_example(document: Mapping[str, Any], media: Mapping[str, Any]) -> Any:
    """The value of a media type's ``example``, else of its first ``examples`` entry."""
    if "example" in media:
        return media["example"]
    for example in media.get("examples", {}).values():
        return _node(document, example).get("value")
    return None


def _resources(operations: tuple[Operation, ...]) -> tuple[Resource, ...]:
    """The call tree of ``x-command-path``: one `Resource` per level, root first."""
    levels: dict[tuple[str, ...], list[Operation]] = {(): []}
    for operation in operations:
        *parents, _ = operation.command_path
        for depth in range(1, len(parents) + 1):
            levels.setdefault(tuple(parents[:depth]), [])
        levels[tuple(parents)].append(operation)
    return tuple(
        Resource(
            path=path,
            class_stem=ClassName(" ".join(path) or "root"),
            children=tuple(
                (PythonIdentifier(child[-1]), ClassName(" ".join(child)))
                for child in sorted(levels)
                if len(child) == len(path) + 1 and child[: len(path)] == path
            ),
            operations=tuple(sorted(levels[path], key=lambda o: o.client_method)),
        )
        for path in sorted(levels)
    )


def _json_model(holder: Mapping[str, Any]) -> ClassName | None:
    schema = holder.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return ClassName(ref.rsplit("/", 1)[-1]) if ref.startswith("#/components/schemas/") else None


def _node(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    resolved = dereference(document, node)
    return resolved if isinstance(resolved, Mapping) else {}


def _description(document: Mapping[str, Any], prop: Mapping[str, Any]) -> str:
    if "description" in prop:
        return str(prop["description"])
    return str(_node(document, prop).get("description", ""))


def _pattern_translations(document: Mapping[str, Any]) -> tuple[PatternTranslation, ...]:
    found = {
        node["pattern"]
        for path, node in iter_nodes(document)
        if isinstance(node, Mapping) and isinstance(node.get("pattern"), str)
        if not in_example(path)
    }
    return tuple(PatternTranslation(p, to_rust_regex(p)) for p in sorted(found))


def _with_rust_patterns(document: Mapping[str, Any], rust: Mapping[str, str]) -> Any:
    result = copy.deepcopy(dict(document))
    for path, node in iter_nodes(result):
        is_schema_pattern = isinstance(node, dict) and isinstance(node.get("pattern"), str)
        if is_schema_pattern and not in_example(path) and node["pattern"] in rust:
            node[ECMA_PATTERN_KEY] = node["pattern"]
            node["pattern"] = rust[node["pattern"]]
    return result
