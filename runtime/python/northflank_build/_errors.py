"""Validation errors, each named by the JSON path of the field that failed."""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from northflank_build._model import ECMA_PATTERN_KEY
from northflank_build._paths import json_path_step
from pydantic import MISSING, BaseModel, RootModel, ValidationError
from pydantic.json_schema import model_json_schema
from pydantic_core import ErrorDetails
from typing_extensions import TypeAliasType

__all__ = [
    "FieldError",
    "field_errors",
    "first_field_errors",
    "json_path",
    "one_of_message",
    "schema_keyword",
]


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


def one_of_message(branch_labels: Sequence[str]) -> str:
    """The one message of a ``oneOf`` that no single branch answers, on every surface."""
    return "exactly one of: " + ", ".join(branch_labels)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing field: where (``$.buildSettings.dockerfile``), which JSON Schema
    keyword it breaks (``pattern``, ``required``, ``additionalProperties``...), and why."""

    path: str
    rule: str
    message: str


def field_errors(model: type[BaseModel], error: ValidationError) -> list[FieldError]:
    """The errors of ``error`` (raised by ``model``), each with its JSON path, deduplicated.

    A ``oneOf`` shows as a union, and pydantic reports every branch's errors.
    Each branch is named by its distinguishing keys: the required properties
    that not every branch requires (``dockerfile``, ``buildpack``). A branch
    missing one of them is not the branch the body meant. So, at each ``oneOf``:

    - exactly one branch meant (``{"dockerfile": {...bad...}}``): that branch's
      errors are reported, the other branches' left out;
    - none meant (``{}``, a string) or several (``dockerfile`` and
      ``buildpack`` both): ONE error at the ``oneOf``'s path, rule ``oneOf``,
      ``exactly one of: dockerfile, buildpack``, in place of the branches' errors.

    The TypeScript validators apply the same rule, so every surface says the same.
    (A union that is not a ``oneOf`` of objects, such as a ``number``'s int or
    float, is not a choice of branches: its errors are kept, "not a number" once.)
    Cost is linear in the number of errors: a location's walk over the model is
    done once per shape (array indices abstracted) and reused.
    """
    details = error.errors(include_url=False)
    verdicts = _Verdicts(model, details)
    found: dict[FieldError, None] = {}
    for detail in details:
        reported = verdicts.reported(detail)
        if reported is not None:
            found.setdefault(reported, None)
    return list(found)


def first_field_errors(
    model: type[BaseModel], error: ValidationError, limit: int
) -> tuple[list[FieldError], int]:
    """The first ``limit`` of ``field_errors(model, error)`` and how many more there are.

    Only the errors shown are given paths and messages; the rest are counted
    by a cheap pass over pydantic's raw details (location, type, message: for a
    location with no union on the way, these name the same failures as path,
    rule and message do), so a body with 200,000 bad array items costs little
    more than pydantic's own list of them.
    """
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    details = error.errors(include_url=False)
    verdicts = _Verdicts(model, details)
    shown: dict[FieldError, None] = {}
    shown_plain = 0  # of the shown errors, those of a plain detail: each is one raw key
    raw_keys: set[tuple[Any, str, str]] = set()  # of every plain detail
    counted: set[FieldError] = set()  # the rest's errors of details a union may drop or merge
    for detail, plain in zip(details, verdicts.plain_flags, strict=True):
        if plain:
            raw_keys.add((detail["loc"], detail["type"], detail["msg"]))
        if len(shown) >= limit and plain:
            continue
        reported = verdicts.reported(detail)
        if reported is None or reported in shown:
            continue
        if len(shown) < limit:
            shown[reported] = None
            shown_plain += plain
        else:
            counted.add(reported)
    return list(shown), len(raw_keys) - shown_plain + len(counted)


def json_path(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The JSON path of a pydantic error location, without the union-member tags pydantic adds."""
    return _place(model, loc).path


_ONE_OF = "oneOf"


class _Verdicts:
    """Which of pydantic's errors each ``oneOf`` keeps, decided over all of them at once."""

    def __init__(self, model: type[BaseModel], details: list[ErrorDetails]) -> None:
        self._model = model
        self._tags = _union_tags(model)
        self._chosen: dict[tuple[Any, ...], str] = {}
        self._not_numbers: set[str] = set()
        # Per detail: whether no union is on the way to it, so no verdict can drop or merge it.
        union_tags = self._tags
        self.plain_flags = [union_tags.isdisjoint(detail["loc"]) for detail in details]
        tried: dict[tuple[Any, ...], tuple[_Union, set[str]]] = {}
        unmeant: set[tuple[Any, ...]] = set()
        for detail, plain in zip(details, self.plain_flags, strict=True):
            if plain:
                continue
            place = _place(model, detail["loc"])
            if detail["type"] in ("float_type", "finite_number"):
                self._not_numbers.add(place.path)
            for index, (site, tag, union) in enumerate(place.branches):
                key = (place.branches[:index], site)
                tried.setdefault(key, (union, set()))[1].add(tag)
            if detail["type"] == "missing" and place.branches and place.direct:
                site, tag, union = place.branches[-1]
                if detail["loc"][-1] in union.keys.get(tag, ()):
                    unmeant.add((place.branches[:-1], site, tag))
        for key, (union, tags) in tried.items():
            meant = [tag for tag in tags if (key[0], key[1], tag) not in unmeant]
            if union.is_one_of:
                self._chosen[key] = meant[0] if len(meant) == 1 else _ONE_OF

    def reported(self, detail: ErrorDetails) -> FieldError | None:
        """The error this detail is reported as: itself, its ``oneOf``'s one error, or none."""
        loc = detail["loc"]
        if self._tags.isdisjoint(loc):
            return FieldError(
                _plain_path(self._model, loc),
                _SCHEMA_KEYWORDS.get(detail["type"], "type"),
                _message(self._model, detail),
            )
        place = _place(self._model, loc)
        if detail["type"] == "int_type" and place.path in self._not_numbers:
            return None  # A JSON Schema `number` is an int-or-float union; "not a number" says it.
        for index, (site, tag, union) in enumerate(place.branches):
            chosen = self._chosen.get((place.branches[:index], site))
            if chosen == _ONE_OF:
                return FieldError(site, _ONE_OF, union.message)
            if chosen is not None and chosen != tag:
                return None
        return FieldError(place.path, schema_keyword(detail["type"]), _message(self._model, detail))


_JSON_WORDING = {
    "model_type": "Input should be an object",
    "model_attributes_type": "Input should be an object",
    "dict_type": "Input should be an object",
    "list_type": "Input should be a valid array",
}
"""Pydantic's words for JSON input, whichever way the value came in: a dict validated in
Python (the client, the CLI) says "a valid dictionary or instance of Billing", the same
value as JSON text (the sandbox) "an object", and every surface should say the same."""


def _message(model: type[BaseModel], detail: ErrorDetails) -> str:
    """Pydantic's message in JSON's words, naming a pattern as the spec writes it (ECMA-262)."""
    if detail["type"] in _JSON_WORDING:
        return _JSON_WORDING[detail["type"]]
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


@dataclass(frozen=True, eq=False)
class _Union:
    """A union on the way to an error: its members by pydantic's tag for them, and, when it
    is a ``oneOf`` of objects, each branch's distinguishing keys and the one message.
    One instance per union (cached), so it compares and hashes by identity."""

    members: dict[str, Any]
    keys: dict[str, tuple[str, ...]]
    is_one_of: bool
    message: str


_Branch = tuple[str, str, _Union]
"""A union's JSON path, the member pydantic tried there, and the union."""


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a pydantic location points: its JSON path, the union branches on the way, and
    whether the last step is a property directly under the innermost branch."""

    path: str
    branches: tuple[_Branch, ...]
    direct: bool


def _plain_path(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The JSON path of a location with no union member tag in it."""
    node = _node(model)
    path = "$"
    for part in loc:
        path += f"[{part}]" if type(part) is int else node.step(str(part))
        node = node.child(part)
    return path


def _place(model: type[BaseModel], loc: tuple[int | str, ...]) -> _Place:
    """Where ``loc`` points. Each type on the way is classified once (`_node`), so a
    step costs a dict lookup, whatever the array index or map key."""
    node = _node(model)
    path = "$"
    branches: list[_Branch] = []
    last_tag = -1
    for position, part in enumerate(loc):
        union = node.union
        if union is not None:
            member = union.members.get(part) if isinstance(part, str) else None
            if member is not None:
                branches.append((path, str(part), union))
                last_tag = position
                node = _node(member)
                continue
            node = _ANY
        path += f"[{part}]" if type(part) is int else node.step(str(part))
        node = node.child(part)
    return _Place(path, tuple(branches), bool(branches) and last_tag == len(loc) - 2)


class _Node:
    """A type on the way to an error, classified once: a union, a model (its fields' types
    by key), a list or a map (its items' type), or anything else."""

    __slots__ = ("_children", "_items", "_steps", "fields", "union")

    def __init__(self, annotation: Any) -> None:
        concrete = _concrete(annotation)
        self.union = _union(concrete)
        self.fields: dict[str, Any] | None = None
        self._items: Any = None
        if self.union is None and isinstance(concrete, type) and issubclass(concrete, BaseModel):
            self.fields = _field_types(concrete)
        elif self.union is None:
            args = get_args(concrete)
            if get_origin(concrete) is list and args:
                self._items = args[0]
            elif get_origin(concrete) is dict and len(args) == 2:
                self._items = args[1]
        self._children: dict[str, _Node] = {}
        self._steps: dict[str, str] = {}

    def step(self, key: str) -> str:
        """The JSON path step to ``key``: cached for a model's fields, computed for map keys."""
        if self.fields is None:
            return json_path_step(key)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = json_path_step(key)
        return found

    def child(self, part: int | str) -> _Node:
        """The node of the value at ``part``."""
        if self.fields is None:
            return _ANY if self._items is None else _node(self._items)
        found = self._children.get(str(part))
        if found is None:
            found = self._children[str(part)] = _node(self.fields.get(str(part), Any))
        return found


_NODES: dict[int, tuple[Any, _Node]] = {}
"""Each annotation's node by its id (annotations need not be hashable), the annotation kept
alive beside it so that its id is never reused."""


def _node(annotation: Any) -> _Node:
    known = _NODES.get(id(annotation))
    if known is None:
        known = _NODES[id(annotation)] = (annotation, _Node(annotation))
    return known[1]


@cache
def _union_tags(model: type[BaseModel]) -> frozenset[str]:
    """Every union member tag reachable from ``model``: a location with none of them in it
    went through no union, so it needs no verdict."""
    tags: set[str] = set()
    seen: set[int] = set()
    pending: list[Any] = [model]
    while pending:
        annotation = _concrete(pending.pop())
        if id(annotation) in seen:
            continue
        seen.add(id(annotation))
        union = _union(annotation)
        if union is not None:
            tags.update(union.members)
            pending.extend(union.members.values())
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            pending.extend(_field_types(annotation).values())
        else:
            pending.extend(get_args(annotation))
    return frozenset(tags)


def _union(annotation: Any) -> _Union | None:
    """The union ``annotation`` is, if it is one (``| MISSING`` aside)."""
    members = _union_members(annotation)
    if members is None:
        return None
    return _union_of(tuple(members))


@cache
def _union_of(members: tuple[Any, ...]) -> _Union:
    named = {tag: member for member in members if (tag := _member_tag(member)) is not None}
    models = [_concrete(member) for member in members]
    if not all(isinstance(m, type) and issubclass(m, BaseModel) for m in models):
        return _Union(named, {}, False, "")
    required = [_required_keys(m) for m in models]
    shared = set.intersection(*(set(keys) for keys in required)) if required else set()
    keys = {
        tag: tuple(key for key in own if key not in shared)
        for tag, own in zip(named, required, strict=True)
    }
    labels = ["+".join(own) if own else "object" for own in keys.values()]
    return _Union(named, keys, True, one_of_message(labels))


def _required_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """``model``'s required properties by their JSON names, in declaration order."""
    return tuple(
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    )


def _member_tag(member: Any) -> str | None:
    """The name a union member has in pydantic's error locations: ``int``, ``BuildStorage``."""
    if get_origin(member) is Annotated:
        member = get_args(member)[0]
    name = getattr(member, "__name__", None)
    return name if isinstance(name, str) else None


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


_ANY = _node(Any)  # last: a node is classified with the helpers above
