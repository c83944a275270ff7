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
from .spec_walk import dereference, in_example, iter_nodes

__all__ = [
    "Api",
    "BodyField",
    "Field",
    "Model",
    "Operation",
    "Package",
    "Parameter",
    "PatternTranslation",
    "Response",
    "build_ir",
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
    name: str
    python_name: PythonIdentifier
    location: str
    required: bool
    description: str

    example: str
    """The value examples use: the spec's example, else ``default-project`` for
    ``projectId`` (what the sandbox names the project it creates), so examples run
    against it as printed."""

    @property
    def flags(self) -> tuple[str, ...]:
        """The CLI's names for it: ``--project-id``, ``--projectId``, ``--project``."""
        return parameter_flags(self.name)


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
    path: str
    summary: str
    description: str
    required_permission: str
    command_path: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    request_model: ClassName | None
    responses: tuple[Response, ...]
    success_model: ClassName | None
    """The model of the 2xx response."""
    result_attribute: PythonIdentifier | None
    """The one required property of the success model that holds the result (``data``)."""
    result_model: ClassName | None
    """What a client call returns: the model of ``result_attribute``, else the success model."""
    result_id: str | None
    """The result's ``id`` property, when it has one (what ``nf-build --quiet`` prints)."""
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
    document = spec.document
    info = document["info"]
    patterns = _pattern_translations(document)
    return Api(
        title=str(info["title"]),
        version=str(info["version"]),
        spec_sha256=spec.sha256,
        package=Package(
            distribution=DISTRIBUTION,
            import_name=IMPORT_NAME,
            version=str(info["version"]),
            description=str(info.get("summary") or info["title"]),
            cli_name=CLI_NAME,
        ),
        operations=(operations := tuple(_operations(document))),
        models=tuple(_models(document)),
        resources=_resources(operations),
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
    for route, item in sorted(document["paths"].items()):
        for method, operation in item.items():
            if not isinstance(operation, Mapping) or "operationId" not in operation:
                continue
            parameters = tuple(
                Parameter(
                    name=str(p["name"]),
                    python_name=PythonIdentifier(str(p["name"])),
                    location=str(p["in"]),
                    required=bool(p.get("required", False)),
                    description=str(p.get("description", "")),
                    example=_parameter_example(document, p),
                )
                for p in (_node(document, raw) for raw in operation.get("parameters", []))
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
                    path=str(route),
                    summary=str(operation.get("summary", "")),
                    description=str(operation.get("description", "")),
                    required_permission=str(operation["x-required-permission"]),
                    command_path=tuple(str(operation["x-command-path"]).split()),
                    parameters=parameters,
                    request_model=_json_model(body),
                    responses=responses,
                    **_result(document, responses),
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
    required = schema.get("required", [])
    if len(required) == 1:
        held = schema.get("properties", {}).get(required[0], {})
        ref = held.get("$ref", "") if isinstance(held, Mapping) else ""
        if ref.startswith("#/components/schemas/"):
            result["result_attribute"] = PythonIdentifier(required[0])
            result["result_model"] = ClassName(ref.rsplit("/", 1)[-1])
            schema = _node(document, schemas[ref.rsplit("/", 1)[-1]])
    if "id" in schema.get("required", []):
        result["result_id"] = "id"
    return result


def _parameter_example(document: Mapping[str, Any], parameter: Mapping[str, Any]) -> str:
    """The parameter's example in the spec, else ``default-<noun>`` (``default-project``)."""
    if "example" in parameter:
        return str(parameter["example"])
    first = _first_example(document, parameter)
    if first is not None:
        return str(first)
    words = split_words(str(parameter["name"]))
    if len(words) > 1 and words[-1].lower() == "id":
        words = words[:-1]
    return "-".join(["default", *(word.lower() for word in words)])


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
