"""Stage 2: find every problem in the spec before anything is generated.

Checks are small functions from the document to a list of issues; all of them
run, so one report lists everything that is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import regress
from pydantic_core import SchemaError, SchemaValidator, core_schema

from .ecma_regex import UnsupportedPattern, to_python_regex, to_rust_regex
from .issues import SpecIssue, pointer
from .names import PythonIdentifier
from .schema_keywords import ANNOTATIONS, ASSERTIONS, SUBSCHEMA_KEYS
from .spec_operations import (
    METHODS,
    PAGINATED_KEY,
    PAGINATION_QUERY,
    command_path,
    iter_operations,
    parameters_model_name,
    raw_parameters,
)
from .spec_walk import (
    components_root,
    dereference,
    in_example,
    iter_nodes,
    path_pointer,
    resolve_ref,
)

__all__ = ["CHECKS", "Check", "Document", "check_openapi", "validate_spec"]

Document = Mapping[str, Any]
Check = Callable[[Document], Iterator[SpecIssue]]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON = "application/json"
SCHEMAS_PREFIX = "#/components/schemas/"
SUCCESS_STATUSES = ("200", "201", "202", "204")
PARAMETER_LOCATIONS = ("path", "query", "header")
PARAMETER_TYPES = ("string", "integer", "number", "boolean")
CLIENT_ARGUMENTS = frozenset({"data", "skip_validation", "extra_headers", "timeout", "self"})
"""The client method's own arguments; no parameter may take one of their names."""
CLIENT_HEADERS = frozenset({"accept", "authorization", "content-type"})
"""Headers the clients set; OpenAPI 3.1 ignores header parameters of these names."""
PAGINATION_FIELDS = (("hasNextPage", "boolean"), ("cursor", "string"), ("count", "integer"))


def check_refs(document: Document) -> Iterator[SpecIssue]:
    """Every ``$ref`` is local and points at something."""
    for path, node in iter_nodes(document):
        if isinstance(node, Mapping) and "$ref" in node:
            try:
                resolve_ref(document, str(node["$ref"]))
            except KeyError as err:
                yield SpecIssue(path_pointer((*path, "$ref")), str(err.args[0]))


def check_openapi(document: Document) -> Iterator[SpecIssue]:
    """The document is valid OpenAPI 3.1: the OpenAPI Initiative's schema of it, with every
    Schema Object checked against JSON Schema 2020-12's meta-schema, and the rules that
    schema cannot say (unique tag names and parameters, defaults that fit their schema;
    unique operationIds and declared path parameters are `check_operations`' and
    `check_operation_parameters`')."""
    if document.get("openapi", "") != "3.1.0":
        yield SpecIssue(pointer("openapi"), "the spec must declare openapi: 3.1.0")
        return
    try:
        errors = list(_openapi_validator().iter_errors(document))
    except Exception as err:  # noqa: BLE001 - the validator's internal failures become issues
        yield SpecIssue("#", f"OpenAPI validation stopped: {err}")
        return
    for error in errors:
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format) and kind.format == "regex":
            continue  # check_patterns reports it, located and with the ECMA-262 verdict
        where = path_pointer(tuple(error.instance_path))
        yield SpecIssue(where, f"not valid OpenAPI 3.1: {error.message.splitlines()[0]}")
    yield from _unique_tags(document)
    yield from _unique_parameters(document)
    yield from _defaults_fit(document)


OPENAPI_SCHEMA = Path(__file__).resolve().parent / "openapi_schema" / "openapi-3.1.json"
"""The OpenAPI Initiative's schema of OpenAPI 3.1 documents (see the README beside it)."""
JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"


@cache
def _openapi_validator() -> jsonschema_rs.Validator:
    schema = json.loads(OPENAPI_SCHEMA.read_text(encoding="utf-8"))
    # The document leaves Schema Objects open; its schema-base variant checks them
    # against the OpenAPI dialect. Here: against JSON Schema 2020-12's meta-schema
    # (built into jsonschema-rs), which the dialect extends only with annotations.
    schema["$defs"]["schema"] = {"$dynamicAnchor": "meta", "$ref": JSON_SCHEMA_2020_12}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, offline=True)


def _unique_tags(document: Document) -> Iterator[SpecIssue]:
    tags = document.get("tags")
    first: dict[str, int] = {}
    for index, tag in enumerate(tags if isinstance(tags, list) else []):
        name = _mapping(tag).get("name")
        if not isinstance(name, str):
            continue  # the schema reports it
        if name in first:
            yield SpecIssue(
                pointer("tags", index, "name"),
                f"not valid OpenAPI 3.1: the tag name {name!r} is also that of tag {first[name]}",
            )
        first.setdefault(name, index)


def _unique_parameters(document: Document) -> Iterator[SpecIssue]:
    """No list of parameters names one (name, location) twice."""
    first: dict[tuple[tuple[str | int, ...], str, str], int] = {}
    for location, raw in _written_parameters(document):
        parameter = _deref(document, raw)
        name, kind = parameter.get("name"), parameter.get("in")
        if not (isinstance(name, str) and isinstance(kind, str)):
            continue  # the schema or a dangling reference reports it
        key = (location[:-1], name, kind)
        if key in first:
            yield SpecIssue(
                path_pointer(location),
                f"not valid OpenAPI 3.1: the {kind} parameter {name!r} is also parameter"
                f" {first[key]} of this list",
            )
        first.setdefault(key, int(location[-1]))


SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
"""Keywords whose value maps names to schemas: such a map is not a schema itself."""
DATA_KEYS = frozenset({"default", "enum", "const", "example", "examples"})
"""Keywords whose value is data, never a schema."""


def _defaults_fit(document: Document) -> Iterator[SpecIssue]:
    """Every schema's ``default`` validates against that schema (formats included)."""
    for path, node in iter_nodes(document):
        if not (isinstance(node, Mapping) and "default" in node and _is_schema_at(path)):
            continue
        try:
            validator = jsonschema_rs.Draft202012Validator(
                components_root(document, node), validate_formats=True, offline=True
            )
        except Exception:  # noqa: BLE001, S112 - the schema's own problem is reported above
            continue
        for error in validator.iter_errors(node["default"]):
            where = path_pointer((*path, "default", *error.instance_path))
            yield SpecIssue(where, f"default does not match its schema: {error.message}")


def _is_schema_at(path: tuple[str | int, ...]) -> bool:
    """Whether the node at ``path`` is a Schema Object: under a ``schema`` key or
    ``components/schemas``, and neither a map of schemas nor inside data."""
    # Where a schema's own keywords start: after `schema` or `components/schemas/<name>`.
    starts = [i + 1 for i, key in enumerate(path) if key == "schema"]
    if path[:2] == ("components", "schemas"):
        starts.append(3)
    if not starts or min(starts) > len(path):
        return False
    keys = iter(path[min(starts) :])
    for key in keys:
        if key in SCHEMA_MAPS:
            if next(keys, None) is None:
                return False  # the map itself
        elif key in DATA_KEYS:
            return False
    return True


def check_patterns(document: Document) -> Iterator[SpecIssue]:
    """Every pattern is ECMA-262 (u-mode) and the models and fast checks can enforce it exactly."""
    for path, node in iter_nodes(document):
        if not (isinstance(node, Mapping) and isinstance(node.get("pattern"), str)):
            continue
        if in_example(path):
            continue
        pattern = node["pattern"]
        where = path_pointer((*path, "pattern"))
        try:
            regress.Regex(pattern, "u")
        except Exception as err:  # noqa: BLE001 - regress raises its own error type
            yield SpecIssue(where, f"not an ECMA-262 regular expression: {pattern!r} ({err})")
            continue
        try:
            SchemaValidator(core_schema.str_schema(pattern=to_rust_regex(pattern)))
        except UnsupportedPattern as err:
            yield SpecIssue(where, f"the models cannot enforce this pattern: {err}")
        except SchemaError as err:  # e.g. beyond the Rust engine's size limit
            reason = str(err).splitlines()[-1].strip()
            yield SpecIssue(where, f"the models' regex engine refuses this pattern: {reason}")
        else:
            yield from _python_pattern_issues(where, pattern)


def _python_pattern_issues(where: str, pattern: str) -> Iterator[SpecIssue]:
    """A pattern the models take but the generated fast checks cannot (a Unicode property)."""
    try:
        to_python_regex(pattern)
    except UnsupportedPattern as err:
        yield SpecIssue(where, f"the fast checks (Python re) cannot enforce this pattern: {err}")


def check_enum_bounds(document: Document) -> Iterator[SpecIssue]:
    """An enum next to bounds keeps at least one value; enum values fit the type."""
    for path, node in iter_nodes(document):
        if not (isinstance(node, Mapping) and isinstance(node.get("enum"), list)):
            continue
        if in_example(path):
            continue
        values = node["enum"]
        kind = node.get("type")
        where = path_pointer((*path, "enum"))
        for value in values:
            if not _is_json_type(value, kind):
                yield SpecIssue(where, f"enum value {value!r} is not of type {kind!r}")
        numbers = [v for v in values if _is_json_type(v, "number")]
        low, high = node.get("minimum"), node.get("maximum")
        if numbers and (low is not None or high is not None):
            kept = [v for v in numbers if (low is None or v >= low) and (high is None or v <= high)]
            if not kept:
                message = f"no enum value lies within minimum {low} and maximum {high}"
                yield SpecIssue(where, message)


def check_one_of(document: Document) -> Iterator[SpecIssue]:
    """Each ``oneOf`` branch is an object that a key of its own tells apart.

    The models validate a ``oneOf`` as a union of closed objects. That is
    exact only when no value can match two branches: each branch must be
    a closed object (``additionalProperties: false``) with a required key that
    no other branch declares.
    """
    for path, node in iter_nodes(document):
        if not (isinstance(node, Mapping) and isinstance(node.get("oneOf"), list)):
            continue
        where = path_pointer((*path, "oneOf"))
        try:
            branches = [dereference(document, branch) for branch in node["oneOf"]]
        except KeyError:
            continue  # reported by check_refs
        if not all(isinstance(b, Mapping) for b in branches):
            yield SpecIssue(where, "every oneOf branch must be a schema object")
            continue
        for index, branch in enumerate(branches):
            if branch.get("type") != "object" or branch.get("additionalProperties") is not False:
                yield SpecIssue(
                    f"{where}/{index}",
                    "a oneOf branch must be an object with additionalProperties: false",
                )
                continue
            others: set[str] = set()
            for other_index, other in enumerate(branches):
                if other_index != index:
                    others.update(other.get("properties", {}))
            if not set(branch.get("required", [])) - others:
                yield SpecIssue(
                    f"{where}/{index}",
                    "a oneOf branch needs a required property that no other branch declares,"
                    " so that no value matches two branches",
                )


def check_operations(document: Document) -> Iterator[SpecIssue]:
    """Each operation names itself, its permission and its command path; ids are unique."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        yield SpecIssue(pointer("paths"), "the spec defines no operation")
        return
    first_place: dict[str, str] = {}
    for route, method, operation, _ in iter_operations(document):
        where = pointer("paths", route, method)
        operation_id = operation.get("operationId")
        if not operation_id:
            yield SpecIssue(where, "the operation has no operationId")
        elif str(operation_id) in first_place:
            yield SpecIssue(
                where, f"operationId {operation_id!r} is also used by {first_place[operation_id]}"
            )
        else:
            first_place[str(operation_id)] = f"{method.upper()} {route}"
        permission = operation.get("x-required-permission")
        if not isinstance(permission, str) or not permission:
            yield SpecIssue(where, "the operation has no x-required-permission")
        if not command_path(operation):
            yield SpecIssue(
                where,
                "the operation has no x-command-path (words, as one string or a list)",
            )


def check_methods(document: Document) -> Iterator[SpecIssue]:
    """Only the methods every surface implements: GET, PUT, POST, PATCH and DELETE."""
    for route, item in _mapping(document.get("paths")).items():
        for method in _mapping(item):
            if method in HTTP_METHODS and method not in METHODS:
                supported = ", ".join(m.upper() for m in METHODS)
                yield SpecIssue(
                    pointer("paths", route, method),
                    f"the method {method.upper()} is not supported (only {supported})",
                )


def check_responses(document: Document) -> Iterator[SpecIssue]:
    """One success response per operation, with a components schema as its JSON body."""
    for route, method, operation, _ in iter_operations(document):
        where = ("paths", route, method, "responses")
        responses = _mapping(operation.get("responses"))
        for status in responses:
            if not re.fullmatch(r"[1-5][0-9][0-9]", str(status)):
                yield SpecIssue(
                    pointer(*where, status),
                    f"the response status {status!r} is not supported: give each status"
                    " as a number (no `default`, no ranges like 4XX)",
                )
        successes = [status for status in responses if str(status).startswith("2")]
        if len(successes) != 1:
            found = ", ".join(str(status) for status in successes) or "none"
            yield SpecIssue(
                pointer(*where),
                f"an operation needs exactly one 2xx response (found: {found})",
            )
            continue
        status = successes[0]
        if str(status) not in SUCCESS_STATUSES:
            yield SpecIssue(
                pointer(*where, status),
                f"the success status must be one of {', '.join(SUCCESS_STATUSES)}",
            )
        response = _deref(document, responses[status])
        content = _mapping(response.get("content"))
        if str(status) == "204":
            if content:
                yield SpecIssue(pointer(*where, status, "content"), "a 204 response has no body")
            continue
        yield from _json_schema_ref(content, (*where, status), "the success response")


def check_request_body(document: Document) -> Iterator[SpecIssue]:
    """A request body is JSON whose schema is a ``$ref`` to ``components/schemas``."""
    for route, method, operation, _ in iter_operations(document):
        if "requestBody" not in operation:
            continue
        body = _deref(document, operation["requestBody"])
        where = ("paths", route, method, "requestBody")
        yield from _json_schema_ref(_mapping(body.get("content")), where, "the request body")


def check_parameters(document: Document) -> Iterator[SpecIssue]:
    """Each parameter is a path, query or header one, with a scalar schema.

    Checked where it is written (the path item or the operation), once.
    """
    for location, parameter in _written_parameters(document):
        yield from _parameter_issues(document, parameter, location)


def check_operation_parameters(document: Document) -> Iterator[SpecIssue]:
    """An operation's parameters match its path template and have distinct Python names."""
    schemas = _mapping(_mapping(document.get("components")).get("schemas"))
    model_names: dict[str, str] = {}
    for route, method, operation, item in iter_operations(document):
        where = pointer("paths", route, method)
        parameters = raw_parameters(document, operation, item)
        declared = {str(p.get("name")) for p in parameters if p.get("in") == "path"}
        in_template = set(re.findall(r"{([^}]*)}", route))
        for name in sorted(in_template - declared):
            yield SpecIssue(where, f"the path has {{{name}}} but no path parameter {name!r}")
        for name in sorted(declared - in_template):
            yield SpecIssue(where, f"the path parameter {name!r} is not in the path {route}")
        seen: dict[str, str] = {}
        for parameter in parameters:
            name = str(parameter.get("name"))
            python_name = PythonIdentifier(name)
            if python_name in CLIENT_ARGUMENTS:
                yield SpecIssue(
                    where,
                    f"the parameter {name!r} would be the client's argument {python_name!r},"
                    " which the client already has",
                )
            elif python_name in seen:
                yield SpecIssue(
                    where,
                    f"the parameters {seen[python_name]!r} and {name!r} would both be"
                    f" the client's argument {python_name!r}",
                )
            seen.setdefault(python_name, name)
        if not parameters:
            continue
        model = parameters_model_name(operation)
        if model in schemas:
            yield SpecIssue(
                where,
                f"the operation's parameters model {model!r} would replace the schema"
                f" {model!r} of components/schemas: rename the schema or the operationId",
            )
        elif model in model_names:
            yield SpecIssue(
                where,
                f"the operation's parameters model {model!r} is also that of {model_names[model]}",
            )
        model_names.setdefault(model, f"{method.upper()} {route}")


def check_command_paths(document: Document) -> Iterator[SpecIssue]:
    """``x-command-path`` words are non-empty; no path repeats or prefixes another."""
    owners: dict[tuple[str, ...], tuple[str, str]] = {}
    for route, method, operation, _ in iter_operations(document):
        where = pointer("paths", route, method, "x-command-path")
        raw = operation.get("x-command-path")
        words = command_path(operation)
        if isinstance(raw, list) and any(
            not isinstance(word, str) or not re.fullmatch(r"\S+", word) for word in raw
        ):
            yield SpecIssue(where, "every word of x-command-path must be a non-empty word")
            continue
        if raw is not None and not isinstance(raw, str | list):
            yield SpecIssue(where, "x-command-path must be words, as one string or a list")
            continue
        if not words:
            continue  # check_operations reports it
        if words in owners:
            other_route, other_method = owners[words]
            yield SpecIssue(
                where,
                f"the command path {' '.join(words)!r} is also that of"
                f" {other_method.upper()} {other_route}",
            )
            continue
        owners[words] = (route, method)
    for words, (route, method) in sorted(owners.items()):
        for other, (other_route, other_method) in sorted(owners.items()):
            if len(other) > len(words) and other[: len(words)] == words:
                yield SpecIssue(
                    pointer("paths", route, method, "x-command-path"),
                    f"the command path {' '.join(words)!r} is also the start of"
                    f" {' '.join(other)!r} ({other_method.upper()} {other_route}): a word"
                    " cannot be both a command and a group of commands",
                )


def check_pagination(document: Document) -> Iterator[SpecIssue]:
    """An ``x-paginated`` list follows Northflank's convention (see `Pagination` in the IR)."""
    for route, method, operation, item in iter_operations(document):
        where = ("paths", route, method)
        if PAGINATED_KEY not in operation:
            continue
        flag = operation[PAGINATED_KEY]
        if not isinstance(flag, bool):
            yield SpecIssue(
                pointer(*where, PAGINATED_KEY), f"{PAGINATED_KEY} must be true or false"
            )
            continue
        if not flag:
            continue
        if method != "get":
            yield SpecIssue(pointer(*where), "a paginated operation must be a GET")
        query = {
            str(p.get("name"))
            for p in raw_parameters(document, operation, item)
            if p.get("in") == "query"
        }
        missing = [name for name in PAGINATION_QUERY if name not in query]
        if missing:
            yield SpecIssue(
                pointer(*where),
                "a paginated operation takes the query parameters"
                f" {', '.join(PAGINATION_QUERY)}; missing: {', '.join(missing)}",
            )
        yield from _pagination_envelope(document, operation, where)


def _pagination_envelope(
    document: Document, operation: Mapping[str, Any], where: tuple[str, ...]
) -> Iterator[SpecIssue]:
    responses = _mapping(operation.get("responses"))
    successes = [status for status in responses if str(status).startswith("2")]
    if len(successes) != 1:
        return  # check_responses reports it
    response = _deref(document, responses[successes[0]])
    schema = _mapping(_mapping(_mapping(response.get("content")).get(JSON)).get("schema"))
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return  # check_responses reports it
    envelope = _deref(document, schema)
    at = ref.lstrip("#/").split("/")
    properties = _mapping(envelope.get("properties"))
    required = envelope.get("required", [])
    required = required if isinstance(required, list) else []
    convention = "a paginated response is {data: {<items>: [...]}, pagination: {...}}"
    for key in ("data", "pagination"):
        if key not in properties or key not in required:
            yield SpecIssue(pointer(*at), f"{convention}: {key!r} must be a required property")
    data_node = properties.get("data")
    if isinstance(data_node, Mapping) and "data" in required:
        if not isinstance(data_node.get("$ref"), str):
            yield SpecIssue(
                pointer(*at, "properties", "data"),
                f"{convention}: 'data' must be a $ref to a schema of components/schemas",
            )
        else:
            data = _deref(document, data_node)
            data_at = str(data_node["$ref"]).lstrip("#/").split("/")
            arrays = [
                (key, _deref(document, value))
                for key, value in _mapping(data.get("properties")).items()
                if _deref(document, value).get("type") == "array"
            ]
            if data.get("type") != "object" or len(arrays) != 1:
                yield SpecIssue(
                    pointer(*data_at),
                    f"{convention}: 'data' must be an object with exactly one array property"
                    f" (found {len(arrays)})",
                )
            elif not isinstance(_mapping(arrays[0][1].get("items")).get("$ref"), str):
                yield SpecIssue(
                    pointer(*data_at, "properties", arrays[0][0], "items"),
                    f"{convention}: the items must be a $ref to a schema of components/schemas",
                )
    pagination_node = properties.get("pagination")
    if isinstance(pagination_node, Mapping) and "pagination" in required:
        pagination = _deref(document, pagination_node)
        fields = _mapping(pagination.get("properties"))
        for key, kind in PAGINATION_FIELDS:
            if _deref(document, fields.get(key)).get("type") != kind:
                yield SpecIssue(
                    pointer(*at, "properties", "pagination"),
                    f"{convention}: 'pagination' must have a property {key!r} of type {kind!r}",
                )


def check_examples(document: Document) -> Iterator[SpecIssue]:
    """Every example validates against the schema beside it."""
    for path, node in iter_nodes(document):
        if not (isinstance(node, Mapping) and "schema" in node and "examples" in node):
            continue
        examples = node["examples"]
        if not isinstance(examples, Mapping) or not isinstance(node["schema"], Mapping):
            continue
        try:
            validator = jsonschema_rs.Draft202012Validator(
                components_root(document, node["schema"]), validate_formats=False
            )
        except Exception as err:  # noqa: BLE001 - reported, not raised
            yield SpecIssue(path_pointer((*path, "schema")), f"schema does not compile: {err}")
            continue
        for name, example in examples.items():
            if not isinstance(example, Mapping) or "value" not in example:
                continue
            for error in validator.iter_errors(example["value"]):
                where = path_pointer((*path, "examples", str(name), "value", *error.instance_path))
                yield SpecIssue(where, f"example does not match its schema: {error.message}")


def check_schema_keywords(document: Document) -> Iterator[SpecIssue]:
    """Every schema uses only the keywords every surface implements (and ``x-`` extensions)."""
    known = ASSERTIONS | ANNOTATIONS
    components = _mapping(document.get("components"))
    for name, schema in _mapping(components.get("schemas")).items():
        yield from _schema_keywords(schema, ("components", "schemas", name), known)
    for name, parameter in _mapping(components.get("parameters")).items():
        yield from _schema_keywords(
            _mapping(parameter).get("schema"), ("components", "parameters", name, "schema"), known
        )
    for location, parameter in _written_parameters(document):
        where = (*location, "schema")
        yield from _schema_keywords(_mapping(parameter).get("schema"), where, known)


def _schema_keywords(
    schema: Any, path: tuple[str | int, ...], known: frozenset[str]
) -> Iterator[SpecIssue]:
    if not isinstance(schema, Mapping):
        return
    for key in schema:
        if key not in known and not str(key).startswith("x-"):
            yield SpecIssue(
                path_pointer((*path, key)),
                f"the keyword {key!r} is not supported by the generated validators",
            )
    for key, child in schema.get("properties", {}).items():
        yield from _schema_keywords(child, (*path, "properties", key), known)
    for index, child in enumerate(schema.get("oneOf", [])):
        yield from _schema_keywords(child, (*path, "oneOf", index), known)
    for key in SUBSCHEMA_KEYS:
        yield from _schema_keywords(schema.get(key), (*path, key), known)


CHECKS: tuple[Check, ...] = (
    check_openapi,
    check_schema_keywords,
    check_operations,
    check_methods,
    check_responses,
    check_request_body,
    check_parameters,
    check_operation_parameters,
    check_command_paths,
    check_pagination,
    check_patterns,
    check_enum_bounds,
    check_one_of,
    check_examples,
)


def validate_spec(document: Document, checks: Sequence[Check] | None = None) -> list[SpecIssue]:
    """Run every check (or those of ``checks``) and return every issue, sorted.

    The issues of a split run are the same: ``validate_spec(d, A) + validate_spec(d, B)``,
    deduplicated and sorted, is ``validate_spec(d)`` when A and B make up `CHECKS`.

    A dangling ``$ref`` does not stop the others: they run on a copy where each
    such node is an empty schema, and what they say at or under it is dropped
    (the dangling reference is the problem there).
    """
    dangling = list(check_refs(document))
    holders = [issue.json_pointer.removesuffix("/$ref") for issue in dangling]
    patched = _without_dangling_refs(document) if dangling else document
    issues = [*dangling]
    for check in CHECKS if checks is None else checks:
        try:
            found = list(check(patched))
        except Exception as err:  # noqa: BLE001 - a check's own failure is reported, not raised
            found = [SpecIssue("#", f"the check {check.__name__} stopped: {err!r}")]
        issues += [
            issue
            for issue in found
            if not any(
                issue.json_pointer == holder or issue.json_pointer.startswith(f"{holder}/")
                for holder in holders
            )
        ]
    return sorted(set(issues))


def _without_dangling_refs(document: Document) -> dict[str, Any]:
    """A copy of the document where each ``$ref`` that points nowhere is an empty schema,
    or, in a ``parameters`` list, a plain string query parameter of a name of its own."""
    placeholders = iter(range(1, 1_000_000))

    def patch(node: Any, in_parameters: bool) -> Any:
        if isinstance(node, Mapping):
            if "$ref" in node:
                try:
                    resolve_ref(document, str(node["$ref"]))
                except KeyError:
                    if not in_parameters:
                        return {}
                    name = f"dangling-ref-{next(placeholders)}"
                    return {"name": name, "in": "query", "schema": {"type": "string"}}
            return {key: patch(value, key == "parameters") for key, value in node.items()}
        if isinstance(node, list):
            return [patch(value, in_parameters) for value in node]
        return node

    patched: dict[str, Any] = patch(document, False)
    return patched


def _parameter_issues(
    document: Document, raw: Any, location: tuple[str | int, ...]
) -> Iterator[SpecIssue]:
    parameter = _deref(document, raw)
    if not parameter:
        return
    if isinstance(raw, Mapping) and isinstance(raw.get("$ref"), str):
        location = tuple(str(raw["$ref"]).lstrip("#/").split("/"))
    name = parameter.get("name")
    where = pointer(*location)
    kind = parameter.get("in")
    if kind == "cookie":
        yield SpecIssue(
            f"{where}/in", f"the parameter {name!r}: cookie parameters are not supported"
        )
    elif kind not in PARAMETER_LOCATIONS:
        yield SpecIssue(
            f"{where}/in", f"the parameter {name!r}: `in` must be one of path, query or header"
        )
    if kind == "header" and str(name).lower() in CLIENT_HEADERS:
        yield SpecIssue(
            where,
            f"the header parameter {name!r} is one the client sets itself (OpenAPI ignores it)",
        )
    if kind == "path" and parameter.get("required") is not True:
        yield SpecIssue(where, f"the path parameter {name!r} must be required: true")
    if "schema" not in parameter:
        yield SpecIssue(
            where, f"the parameter {name!r} needs a schema (`content` is not supported)"
        )
        return
    schema = _deref(document, parameter["schema"])
    if schema.get("type") not in PARAMETER_TYPES:
        yield SpecIssue(
            f"{where}/schema",
            f"the parameter {name!r} must have a schema of one scalar type:"
            f" {', '.join(PARAMETER_TYPES)} (found {schema.get('type')!r})",
        )


def _written_parameters(document: Document) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Each parameter as written, with its location: in a path item or in an operation."""
    for route, item in _mapping(document.get("paths")).items():
        holders: list[tuple[tuple[str, ...], Any]] = [(("paths", route), item)]
        holders += [(("paths", route, m), _mapping(item).get(m)) for m in METHODS]
        for place, holder in holders:
            raw = _mapping(holder).get("parameters")
            for index, parameter in enumerate(raw if isinstance(raw, list) else []):
                yield (*place, "parameters", index), parameter


def _json_schema_ref(
    content: Mapping[str, Any], where: tuple[str | int, ...], what: str
) -> Iterator[SpecIssue]:
    if not content:
        return
    if JSON not in content:
        yield SpecIssue(pointer(*where, "content"), f"{what} must be {JSON}")
        return
    schema = _mapping(content[JSON]).get("schema")
    ref = _mapping(schema).get("$ref")
    if not (isinstance(ref, str) and ref.startswith(SCHEMAS_PREFIX)):
        yield SpecIssue(
            pointer(*where, "content", JSON, "schema"),
            f"{what}'s schema must be a $ref to a schema of components/schemas",
        )


def _mapping(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}


def _deref(document: Document, node: Any) -> Mapping[str, Any]:
    """The node with its ``$ref`` followed; empty if it points nowhere or is no mapping."""
    try:
        return _mapping(dereference(document, node))
    except KeyError:
        return {}


def _is_json_type(value: Any, kind: Any) -> bool:
    if kind is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True
