"""Stage 1b: schemas composed with ``allOf`` become the plain objects every surface knows.

The spec may say once what a request and a response share, in JSON Schema's
own terms:

    BuildServiceFields:              # a mixin: an open object schema
      type: object
      required: [name]
      properties: {name: ..., ...}
    CreateBuildServiceRequest:
      allOf: [{$ref: '#/components/schemas/BuildServiceFields'}]
      unevaluatedProperties: false
    BuildService:
      allOf:
        - $ref: '#/components/schemas/BuildServiceFields'
        - {type: object, required: [id], properties: {id: ...}}
      unevaluatedProperties: false

Under JSON Schema 2020-12 such a schema is exactly one object: its properties
and required keys are the union of its members', and ``unevaluatedProperties:
false`` beside the ``allOf`` closes it (``additionalProperties: false``). This
stage writes each one so, and drops the mixins (schemas used only as ``allOf``
members), so the model generator, the validators and the page see plain
objects. Only that form is taken; anything else in an ``allOf`` is a spec
problem, reported with the others.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .issues import SpecIssue, pointer
from .spec_walk import JsonPath, in_example, iter_nodes

__all__ = ["flatten_all_of"]

SCHEMAS_REF = "#/components/schemas/"
MEMBER_KEYS = frozenset({"type", "properties", "required", "description", "title"})
"""What a member of an ``allOf`` may say: the properties it adds and which are required."""
COMPOSED_KEYS = frozenset(
    {"allOf", "unevaluatedProperties", "type", "description", "title", "deprecated"}
)
"""What may stand beside an ``allOf``."""


def flatten_all_of(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[SpecIssue]]:
    """The document with each composed schema merged and its mixins removed; the problems."""
    result = copy.deepcopy(dict(document))
    schemas: dict[str, Any] = result.get("components", {}).get("schemas", {})
    issues: list[SpecIssue] = []
    for path, node in _misplaced(result):
        issues.append(
            SpecIssue(
                pointer(*path, "allOf"),
                "allOf is supported only at the top of a components schema",
            )
        )
        del node["allOf"]  # reported: nothing below it is checked twice
    composed = [name for name, schema in schemas.items() if _is_composed(schema)]
    if not composed:
        return result, issues
    mixins = {
        ref.removeprefix(SCHEMAS_REF)
        for name in composed
        for member in schemas[name]["allOf"]
        if isinstance(member, Mapping)
        for ref in [str(member.get("$ref", ""))]
        if ref.startswith(SCHEMAS_REF)
    }
    used_alone = _used_alone(result, mixins)
    issues += [
        SpecIssue(
            pointer(*path, "$ref"),
            f"{target!r} is an allOf member, an open fragment: refer to a schema"
            " composed from it instead",
        )
        for path, target in used_alone
    ]
    merged: dict[str, dict[str, Any]] = {}
    for name in composed:
        merged[name] = _merge(schemas, name, issues, merged, seen=())
    for name, schema in merged.items():
        schemas[name] = schema
    for name in mixins - set(composed) - {target for _, target in used_alone}:
        schemas.pop(name, None)
    return result, issues


def _is_composed(schema: Any) -> bool:
    return isinstance(schema, Mapping) and "allOf" in schema


def _merge(
    schemas: Mapping[str, Any],
    name: str,
    issues: list[SpecIssue],
    done: dict[str, dict[str, Any]],
    seen: tuple[str, ...],
) -> dict[str, Any]:
    """The object that the composed schema ``name`` stands for."""
    if name in done:
        return done[name]
    where = ("components", "schemas", name)
    schema = schemas[name]
    for key in schema:
        if key not in COMPOSED_KEYS and not str(key).startswith("x-"):
            issues.append(
                SpecIssue(pointer(*where, key), f"{key!r} cannot stand beside allOf here")
            )
    closing = schema.get("unevaluatedProperties", True)
    if closing is not False and "unevaluatedProperties" in schema:
        issues.append(
            SpecIssue(
                pointer(*where, "unevaluatedProperties"),
                "beside allOf, unevaluatedProperties may only be false (a closed object)",
            )
        )
    members = schema["allOf"]
    properties: dict[str, Any] = {}
    required: list[str] = []
    owner: dict[str, int] = {}
    for index, member in enumerate(members if isinstance(members, list) else []):
        at = (*where, "allOf", index)
        body = _member(schemas, member, at, issues, done, (*seen, name))
        for key, value in body.get("properties", {}).items():
            if key in properties:
                issues.append(
                    SpecIssue(
                        pointer(*at, "properties", key),
                        f"the property {key!r} is also declared by allOf member {owner[key]}:"
                        " each property of a composed schema is declared by one member",
                    )
                )
                continue
            properties[key] = value
            owner[key] = index
        required += [str(key) for key in body.get("required", []) if key not in required]
    flat: dict[str, Any] = {"type": "object"}
    flat |= {k: v for k, v in schema.items() if k in ("description", "title", "deprecated")}
    flat |= {k: v for k, v in schema.items() if str(k).startswith("x-")}
    if closing is False:
        flat["additionalProperties"] = False
    if required:
        flat["required"] = required
    flat["properties"] = properties
    done[name] = flat
    return flat


def _member(
    schemas: Mapping[str, Any],
    member: Any,
    at: tuple[str | int, ...],
    issues: list[SpecIssue],
    done: dict[str, dict[str, Any]],
    seen: tuple[str, ...],
) -> Mapping[str, Any]:
    """What one member of an ``allOf`` adds: its properties and required keys."""
    if not isinstance(member, Mapping):
        issues.append(SpecIssue(pointer(*at), "an allOf member must be a schema object"))
        return {}
    ref = str(member.get("$ref", ""))
    if ref:
        target = ref.removeprefix(SCHEMAS_REF)
        if not ref.startswith(SCHEMAS_REF) or target not in schemas:
            issues.append(
                SpecIssue(
                    pointer(*at, "$ref"),
                    f"an allOf member must refer to a components schema, not {ref!r}",
                )
            )
            return {}
        if target in seen:
            issues.append(SpecIssue(pointer(*at, "$ref"), f"allOf refers back to {target!r}"))
            return {}
        if _is_composed(schemas[target]):
            return _merge(schemas, target, issues, done, seen)
        member, at = schemas[target], ("components", "schemas", target)
    if not isinstance(member, Mapping):
        issues.append(SpecIssue(pointer(*at), "an allOf member must be a schema object"))
        return {}
    for key in member:
        if key not in MEMBER_KEYS and not str(key).startswith("x-"):
            reason = (
                "a member must stay open: close the composed schema with"
                " unevaluatedProperties: false beside its allOf"
                if key in ("additionalProperties", "unevaluatedProperties")
                else "an allOf member may only declare properties and required keys"
            )
            issues.append(SpecIssue(pointer(*at, key), f"{key!r} in an allOf member: {reason}"))
    if member.get("type", "object") != "object":
        issues.append(SpecIssue(pointer(*at, "type"), "an allOf member must be an object"))
    return member


def _misplaced(document: Mapping[str, Any]) -> list[tuple[JsonPath, dict[str, Any]]]:
    """Each schema with an ``allOf`` anywhere but at the top of a components schema."""
    return [
        (path, node)
        for path, node in iter_nodes(document)
        if isinstance(node, dict) and "allOf" in node and not in_example(path)
        if not (len(path) == 3 and path[:2] == ("components", "schemas"))
    ]


def _used_alone(document: Mapping[str, Any], mixins: set[str]) -> list[tuple[JsonPath, str]]:
    """Each reference to a mixin outside an ``allOf``: a mixin is an open fragment."""
    found = []
    for path, node in iter_nodes(document):
        if not isinstance(node, Mapping) or in_example(path) or "allOf" in path:
            continue
        ref = str(node.get("$ref", ""))
        if ref.startswith(SCHEMAS_REF) and ref.removeprefix(SCHEMAS_REF) in mixins:
            found.append((path, ref.removeprefix(SCHEMAS_REF)))
    return found
