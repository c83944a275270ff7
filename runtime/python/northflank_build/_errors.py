"""Validation errors, each named by the JSON path of the field that failed."""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from northflank_build._model import ECMA_PATTERN_KEY
from northflank_build._paths import json_path_step
from pydantic import MISSING, BaseModel, RootModel, ValidationError
from pydantic.json_schema import model_json_schema
from pydantic_core import ErrorDetails
from typing_extensions import TypeAliasType

__all__ = ["FieldError", "field_errors", "json_path", "schema_keyword"]


_SCHEMA_KEYWORDS = {
    "missing": "required",
    "extra_forbidden": "additionalProperties",
    "string_pattern_mismatch": "pattern",
    "string_too_short": "minLength",
    "string_too_long": "maxLength",
    "too_short": "minItems",
    "too_long": "maxItems",
    "literal_error": "enum",
    "enum": "enum",
    "greater_than_equal": "minimum",
    "greater_than": "exclusiveMinimum",
    "less_than_equal": "maximum",
    "less_than": "exclusiveMaximum",
    "multiple_of": "multipleOf",
    "union_tag_invalid": "oneOf",
    "union_tag_not_found": "oneOf",
}
"""Pydantic's error types by the JSON Schema keyword they enforce; the rest are ``type``."""


def schema_keyword(error_type: str) -> str:
    """The JSON Schema keyword that a pydantic error type enforces."""
    return _SCHEMA_KEYWORDS.get(error_type, "type")


@dataclass(frozen=True)
class FieldError:
    """One failing field: where (``$.buildSettings.dockerfile``), which JSON Schema
    keyword it breaks (``pattern``, ``required``, ``additionalProperties``...), and why."""

    path: str
    rule: str
    message: str


def field_errors(model: type[BaseModel], error: ValidationError) -> list[FieldError]:
    """The errors of ``error`` (raised by ``model``), each with its JSON path, deduplicated.

    A ``oneOf`` shows as a union, and pydantic reports every branch's errors.
    A branch that misses one of its own required keys while another branch
    does not is not the branch the body meant, so its errors are left out.
    """
    located = [(_walk(model, detail["loc"]), detail) for detail in error.errors(include_url=False)]
    unmeant = _unmeant_branches([(walk, detail["type"]) for walk, detail in located])
    # A JSON Schema `number` is an int-or-float union; "not a number" says it all.
    not_numbers = {
        path for (path, _), detail in located if detail["type"] in ("float_type", "finite_number")
    }
    seen: dict[FieldError, None] = {}
    for (path, branches), detail in located:
        if detail["type"] == "int_type" and path in not_numbers:
            continue
        if not unmeant.intersection(branches):
            rule = schema_keyword(detail["type"])
            seen.setdefault(FieldError(path, rule, _message(model, detail)), None)
    return list(seen)


def _message(model: type[BaseModel], detail: ErrorDetails) -> str:
    """Pydantic's message, naming a pattern as the spec writes it (ECMA-262), not translated."""
    if detail["type"] == "string_pattern_mismatch":
        enforced = str(detail.get("ctx", {}).get("pattern", ""))
        written = _spec_patterns(model).get(enforced)
        if written is not None:
            return f"String should match the ECMA-262 pattern `{written}`"
    return detail["msg"]


@cache
def _spec_patterns(model: type[BaseModel]) -> dict[str, str]:
    """Each enforced (Rust-regex) pattern of ``model``'s schema and the spec's own form of it."""
    found: dict[str, str] = {}
    pending: list[Any] = [model_json_schema(model)]  # pydantic's plain form keeps both keys
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str) and isinstance(node.get(ECMA_PATTERN_KEY), str):
                found[node["pattern"]] = node[ECMA_PATTERN_KEY]
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def json_path(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The JSON path of a pydantic error location, without the union-member tags pydantic adds."""
    return _walk(model, loc)[0]


_Branch = tuple[str, str]
"""A union's JSON path and the member pydantic tried there."""


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, tuple[_Branch, ...]]:
    path = "$"
    branches: list[_Branch] = []
    annotation: Any = model
    for part in loc:
        annotation = _concrete(annotation)
        members = _union_members(annotation)
        if members is not None:
            named = {_member_tag(member): member for member in members}
            if isinstance(part, str) and part in named:
                branches.append((path, part))
                annotation = named[part]
                continue
            annotation = Any
        path += json_path_step(part)
        annotation = _child(annotation, part)
    return path, tuple(branches)


def _member_tag(member: Any) -> str | None:
    """The name a union member has in pydantic's error locations: ``int``, ``BuildStorage``."""
    if get_origin(member) is Annotated:
        member = get_args(member)[0]
    name = getattr(member, "__name__", None)
    return name if isinstance(name, str) else None


def _unmeant_branches(errors: list[tuple[tuple[str, tuple[_Branch, ...]], str]]) -> set[_Branch]:
    tried: dict[str, set[str]] = {}
    missing_own_key: set[_Branch] = set()
    for (path, branches), rule in errors:
        for site, member in branches:
            tried.setdefault(site, set()).add(member)
        if rule == "missing" and branches and path.rsplit(".", 1)[0] == branches[-1][0]:
            missing_own_key.add(branches[-1])
    return {
        (site, member)
        for site, member in missing_own_key
        if any((site, other) not in missing_own_key for other in tried[site])
    }


def _concrete(annotation: Any) -> Any:
    """Strip type aliases, ``Annotated``, ``| MISSING`` and root-model wrappers."""
    while True:
        if isinstance(annotation, TypeAliasType):
            annotation = annotation.__value__
        elif get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, RootModel):
            annotation = annotation.model_fields["root"].annotation
        else:
            members = _union_members(annotation)
            if members is not None and len(members) == 1:
                annotation = members[0]
            else:
                return annotation


def _union_members(annotation: Any) -> list[Any] | None:
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for member in get_args(annotation) if member is not MISSING]
    return None


@cache
def _field_types(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's type by its name and by its alias.

    Read from the class's own annotations: until pydantic rebuilds a model
    that refers to later classes, its ``model_fields`` hold forward references.
    """
    types_by_key: dict[str, Any] = {}
    for name, hint in get_type_hints(model, include_extras=True).items():
        if name not in model.model_fields:
            continue
        types_by_key[name] = hint
        if get_origin(hint) is Annotated:
            for metadata in hint.__metadata__:
                alias = getattr(metadata, "alias", None)
                if isinstance(alias, str):
                    types_by_key[alias] = hint
    return types_by_key


def _child(annotation: Any, part: int | str) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _field_types(annotation).get(str(part), Any)
    args = get_args(annotation)
    if get_origin(annotation) is list and args:
        return args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return Any
