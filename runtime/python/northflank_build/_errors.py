"""Validation errors, each named by the JSON path of the field that failed."""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import MISSING, BaseModel, RootModel, ValidationError

__all__ = ["FieldError", "field_errors", "json_path"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FieldError:
    """One failing field: where (``$.buildSettings.dockerfile``), which rule, and why."""

    path: str
    rule: str
    message: str


def field_errors(model: type[BaseModel], error: ValidationError) -> list[FieldError]:
    """The errors of ``error`` (raised by ``model``), with JSON paths, in order, deduplicated."""
    seen: dict[tuple[str, str, str], None] = {}
    for detail in error.errors(include_url=False):
        key = (json_path(model, detail["loc"]), detail["type"], detail["msg"])
        seen.setdefault(key, None)
    return [FieldError(path, rule, message) for path, rule, message in seen]


def json_path(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The JSON path of a pydantic error location, without the union-member tags pydantic adds."""
    path = "$"
    annotation: Any = model
    for part in loc:
        annotation = _concrete(annotation)
        members = _union_members(annotation)
        if members is not None:
            named = {getattr(member, "__name__", None): member for member in members}
            if isinstance(part, str) and part in named:
                annotation = named[part]
                continue
            annotation = members[0] if len(members) == 1 else Any
            annotation = _concrete(annotation)
        path += _step(part)
        annotation = _child(annotation, part)
    return path


def _step(part: int | str) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    if _IDENTIFIER.fullmatch(part):
        return f".{part}"
    escaped = part.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'


def _concrete(annotation: Any) -> Any:
    """Strip ``Annotated``, ``| MISSING`` and root-model wrappers."""
    while True:
        if get_origin(annotation) is Annotated:
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


def _child(annotation: Any, part: int | str) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return Any
    args = get_args(annotation)
    if get_origin(annotation) is list and args:
        return args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return Any
