"""Stage 2: find every problem in the spec before anything is generated.

Checks are small functions from the document to a list of issues; all of them
run, so one report lists everything that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema_rs
import regress
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic_core import SchemaError, SchemaValidator, core_schema

from .ecma_regex import UnsupportedPattern, to_rust_regex
from .issues import SpecIssue, pointer
from .schema_keywords import ANNOTATIONS, ASSERTIONS, SUBSCHEMA_KEYS
from .spec_operations import command_path
from .spec_walk import (
    components_root,
    dereference,
    in_example,
    iter_nodes,
    path_pointer,
    resolve_ref,
)

__all__ = ["validate_spec"]

Document = Mapping[str, Any]
Check = Callable[[Document], Iterator[SpecIssue]]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def check_refs(document: Document) -> Iterator[SpecIssue]:
    """Every ``$ref`` is local and points at something."""
    for path, node in iter_nodes(document):
        if isinstance(node, Mapping) and "$ref" in node:
            try:
                resolve_ref(document, str(node["$ref"]))
            except KeyError as err:
                yield SpecIssue(path_pointer((*path, "$ref")), str(err.args[0]))


def check_openapi(document: Document) -> Iterator[SpecIssue]:
    """The document is valid OpenAPI 3.1."""
    if document.get("openapi", "") != "3.1.0":
        yield SpecIssue(pointer("openapi"), "the spec must declare openapi: 3.1.0")
        return
    try:
        errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    except Exception as err:  # noqa: BLE001 - the validator's internal failures become issues
        yield SpecIssue("#", f"OpenAPI validation stopped: {err}")
        return
    for error in errors:
        if error.validator == "format" and error.validator_value == "regex":
            continue  # check_patterns reports it, located and with the ECMA-262 verdict
        where = path_pointer(tuple(error.absolute_path))
        yield SpecIssue(where, f"not valid OpenAPI 3.1: {error.message.splitlines()[0]}")


def check_patterns(document: Document) -> Iterator[SpecIssue]:
    """Every pattern is ECMA-262 (u-mode) and the models can enforce it exactly."""
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
    """Each operation names itself, its permission and its command path."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        yield SpecIssue(pointer("paths"), "the spec defines no operation")
        return
    for route, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            where = pointer("paths", route, method)
            if not operation.get("operationId"):
                yield SpecIssue(where, "the operation has no operationId")
            permission = operation.get("x-required-permission")
            if not isinstance(permission, str) or not permission:
                yield SpecIssue(where, "the operation has no x-required-permission")
            if not command_path(operation):
                yield SpecIssue(
                    where,
                    "the operation has no x-command-path (words, as one string or a list)",
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
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield from _schema_keywords(schema, ("components", "schemas", name), known)


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
    check_patterns,
    check_enum_bounds,
    check_one_of,
    check_examples,
)


def validate_spec(document: Document) -> list[SpecIssue]:
    """Run every check; a dangling ``$ref`` stops the checks that follow refs."""
    issues = list(check_refs(document))
    if not issues:
        issues = [issue for check in CHECKS for issue in check(document)]
    return sorted(set(issues))


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
