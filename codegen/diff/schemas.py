"""The schema rules: two schemas walked in parallel, each difference judged by direction.

A request schema that accepts fewer values breaks callers; a response schema
that may return more values breaks readers. Every rule below is written once
and takes its level from the `Place` (``tightened``/``loosened``). Enums are
compared as the sets their bounds, lengths and patterns admit, the sets the
generated code offers, so a bound that excludes no enum value changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..body_fields import allowed_enum
from ..spec_walk import dereference
from .changes import Level
from .patterns import compare_patterns
from .places import DOC_SURFACES, Emit, Place

__all__ = ["SchemaWalk"]

SCHEMAS_REF = "#/components/schemas/"
NUMBER_KINDS = frozenset({"integer", "number"})
DOC_KEYS = ("description", "title")
EXAMPLE_KEYS = ("example", "examples")


@dataclass
class SchemaWalk:
    """Compares the schemas of OLD and NEW, reporting through ``emit``."""

    old_doc: Mapping[str, Any]
    new_doc: Mapping[str, Any]
    emit: Emit
    _stack: set[tuple[str, str, str, str]] = field(default_factory=set)

    def compare(self, place: Place, old_node: Any, new_node: Any) -> None:
        old_ref, new_ref = _ref_name(old_node), _ref_name(new_node)
        key = (place.direction, place.new_op.operation_id, old_ref or "", new_ref or "")
        if (old_ref or new_ref) and key in self._stack:
            return  # a recursive schema: its first visit compares it
        place = place.at_component(old_ref, new_ref)
        old, new = _merged(self.old_doc, old_node), _merged(self.new_doc, new_node)
        if old_ref or new_ref:
            self._stack.add(key)
        try:
            self._compare_resolved(place, old, new)
        finally:
            self._stack.discard(key)

    def _compare_resolved(
        self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        self._annotations(place, old, new)
        if not self._types(place, old, new):
            return  # a new type: its keywords no longer compare
        exact_enum = self._enums(place, old, new)
        if not exact_enum:
            self._bounds(place, old, new)
            self._pattern(place, old, new)
        self._object(place, old, new)
        self._array(place, old, new)
        self._one_of(place, old, new)

    # ------------------------------------------------------------------ annotations

    def _annotations(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if any(old.get(k) != new.get(k) for k in DOC_KEYS):
            self.emit(
                place,
                Level.PATCH,
                f"{place.prefix}-description-changed",
                "description changed",
                surfaces=DOC_SURFACES,
            )
        if any(old.get(k) != new.get(k) for k in EXAMPLE_KEYS):
            self.emit(
                place,
                Level.PATCH,
                f"{place.prefix}-example-changed",
                "example changed",
                surfaces=DOC_SURFACES,
            )
        was, now = bool(old.get("deprecated")), bool(new.get("deprecated"))
        if was != now and place.direction != "parameter":
            rule = "deprecated" if now else "reactivated"
            self.emit(
                place,
                Level.ADDITIVE if now else Level.PATCH,
                f"{place.direction}-property-{rule}",
                "deprecated" if now else "no longer deprecated",
            )
        self._default(place, old, new)

    def _default(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """A request's default is what an omitted value means: changing it changes what old
        calls do. A response's default only documents."""
        if old.get("default") == new.get("default") and ("default" in old) == ("default" in new):
            return
        if "default" not in old:
            rule, level = "added", Level.PATCH  # it documents what omitting it did
            text = f"default {_show(new['default'])} added"
        elif "default" not in new:
            rule, level = "removed", Level.BREAKING if place.is_input else Level.PATCH
            text = f"default {_show(old['default'])} removed"
        else:
            rule, level = "changed", Level.BREAKING if place.is_input else Level.PATCH
            text = f"default changed from {_show(old['default'])} to {_show(new['default'])}"
        self.emit(place, level, f"{place.prefix}-default-value-{rule}", text)

    # ------------------------------------------------------------------ types

    def _types(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Report a type change; whether the rest of the two schemas still compare."""
        before, after = _types(old), _types(new)
        if before == after:
            return True
        if before is not None and after is not None and _covers(after, before):
            self.emit(
                place,
                place.loosened(),
                f"{place.prefix}-type-generalized",
                f"type widened from {_kinds(before)} to {_kinds(after)}",
            )
            return True
        if before is not None and after is not None and _covers(before, after):
            self.emit(
                place,
                place.tightened(),
                f"{place.prefix}-type-specialized",
                f"type narrowed from {_kinds(before)} to {_kinds(after)}",
            )
            return True
        self.emit(
            place,
            Level.BREAKING,
            f"{place.prefix}-type-changed",
            f"type changed from {_kinds(before)} to {_kinds(after)}",
        )
        return False

    # ------------------------------------------------------------------ enums

    def _enums(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Compare admitted enum values; whether both are enums (then nothing else matters)."""
        before, after = _admitted(old), _admitted(new)
        if before is None and after is None:
            return False
        if before is None or after is None:
            now_enum = after is not None
            self.emit(
                place,
                place.tightened() if now_enum else place.loosened(),
                f"{place.prefix}-became-enum" if now_enum else f"{place.prefix}-enum-removed",
                f"now only {_listed(after or [])}" if now_enum else "no longer an enum",
            )
            return False
        removed = [v for v in before if v not in after]
        added = [v for v in after if v not in before]
        if removed:
            self.emit(
                place,
                place.tightened(),
                f"{place.prefix}-enum-value-removed",
                f"{_listed(removed)} no longer allowed" + _enum_note(old, new, removed, before),
            )
        if added:
            self.emit(
                place,
                place.loosened(),
                f"{place.prefix}-enum-value-added",
                f"{_listed(added)} now allowed" + _enum_note(new, old, added, after),
            )
        return True

    # ------------------------------------------------------------------ bounds

    def _bounds(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        integer = _types(new) == frozenset({"integer"})
        low_before, high_before = _interval(old, integer)
        low_after, high_after = _interval(new, integer)
        self._limit(place, "min", low_before, low_after, lower=True)
        self._limit(place, "max", high_before, high_after, lower=False)
        for low_key, high_key, noun in (
            ("minLength", "maxLength", "length"),
            ("minItems", "maxItems", "items"),
        ):
            low_b, low_a = old.get(low_key, 0), new.get(low_key, 0)
            high_b, high_a = old.get(high_key, math.inf), new.get(high_key, math.inf)
            self._limit(place, f"min-{noun}", low_b, low_a, lower=True)
            self._limit(place, f"max-{noun}", high_b, high_a, lower=False)

    def _limit(self, place: Place, name: str, before: float, after: float, *, lower: bool) -> None:
        if before == after:
            return
        narrowed = after > before if lower else after < before
        direction = "increased" if after > before else "decreased"
        if not lower and math.isinf(before):
            direction = "set"
        if not lower and math.isinf(after):
            direction = "unset"
        self.emit(
            place,
            place.tightened() if narrowed else place.loosened(),
            f"{place.prefix}-{name}-{direction}",
            f"{name.replace('-', ' ')} {_bound(before)} -> {_bound(after)}",
        )

    # ------------------------------------------------------------------ patterns

    def _pattern(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        before, after = old.get("pattern"), new.get("pattern")
        if before == after or not _is_stringish(old, new):
            return
        verdict = compare_patterns(before, after, _strings_of(old, new))
        rule, level = {
            "same": ("pattern-rewritten", Level.PATCH),
            "narrowed": ("pattern-narrowed", place.tightened()),
            "widened": ("pattern-generalized", place.loosened()),
            "both": ("pattern-changed", Level.BREAKING),
        }[verdict.kind]
        what = "added" if before is None else "removed" if after is None else "changed"
        self.emit(place, level, f"{place.prefix}-{rule}", f"pattern {what}: {verdict.describe()}")

    # ------------------------------------------------------------------ objects

    def _object(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        before, after = old.get("properties", {}), new.get("properties", {})
        needed_before, needed_after = set(old.get("required", [])), set(new.get("required", []))
        for name in before:
            if name not in after:
                self._property_removed(
                    place.child(f"properties/{_escape(name)}", name, property_name=name),
                    name in needed_before,
                )
        for name in after:
            child = place.child(f"properties/{_escape(name)}", name, property_name=name)
            if name not in before:
                self._property_added(child, name in needed_after)
                continue
            self._required_changed(child, name in needed_before, name in needed_after)
            self.compare(child, before[name], after[name])
        self._additional(place, old, new)

    def _property_removed(self, place: Place, was_required: bool) -> None:
        if place.is_input:
            rule, level = "request-property-removed", Level.BREAKING
        else:
            kind = "required" if was_required else "optional"
            rule, level = f"response-{kind}-property-removed", Level.BREAKING
        self.emit(place, level, rule, "removed", removed=True)

    def _property_added(self, place: Place, required: bool) -> None:
        kind = "required" if required else "optional"
        if place.is_input:
            level = Level.BREAKING if required else Level.ADDITIVE
            self.emit(place, level, f"new-{kind}-request-property", f"added, {kind}")
        else:
            self.emit(place, Level.ADDITIVE, f"response-{kind}-property-added", f"added, {kind}")

    def _required_changed(self, place: Place, before: bool, after: bool) -> None:
        if before == after:
            return
        if after:
            level = Level.BREAKING if place.is_input else Level.ADDITIVE
            self.emit(place, level, f"{place.direction}-property-became-required", "now required")
        else:
            level = Level.ADDITIVE if place.is_input else Level.BREAKING
            self.emit(place, level, f"{place.direction}-property-became-optional", "now optional")

    def _additional(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if _types(old) != frozenset({"object"}) and _types(new) != frozenset({"object"}):
            return
        before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
        closed_before, closed_after = before is False, after is False
        if closed_before != closed_after:
            self.emit(
                place,
                place.tightened() if closed_after else place.loosened(),
                f"{place.prefix}-additional-properties-{'closed' if closed_after else 'opened'}",
                "other properties now refused" if closed_after else "other properties now allowed",
            )
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            self.compare(place.child("additionalProperties", "{}"), before, after)

    # ------------------------------------------------------------------ arrays, oneOf

    def _array(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        before, after = old.get("items"), new.get("items")
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            self.compare(place.child("items", "[]"), before, after)

    def _one_of(self, place: Place, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        before, after = old.get("oneOf", []), new.get("oneOf", [])
        old_keys, new_keys = _branch_keys(before), _branch_keys(after)
        for key, branch in old_keys.items():
            if key not in new_keys:
                self.emit(
                    place.at_component(_ref_name(branch), None) if _ref_name(branch) else place,
                    place.tightened(),
                    f"{place.prefix}-one-of-removed",
                    f"oneOf branch {key} removed",
                    removed=True,
                )
        for key, branch in new_keys.items():
            if key not in old_keys:
                self.emit(
                    place,
                    place.loosened(),
                    f"{place.prefix}-one-of-added",
                    f"oneOf branch {key} added",
                )
            else:
                self.compare(place, old_keys[key], branch)


# ---------------------------------------------------------------------- helpers


def _ref_name(node: Any) -> str | None:
    if isinstance(node, Mapping):
        ref = str(node.get("$ref", ""))
        if ref.startswith(SCHEMAS_REF):
            return ref.removeprefix(SCHEMAS_REF)
    return None


def _merged(document: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """A ``$ref``'s target with the keywords beside the ``$ref`` laid over it."""
    target = dereference(document, node)
    merged = dict(target) if isinstance(target, Mapping) else {}
    if isinstance(node, Mapping):
        merged.update((k, v) for k, v in node.items() if k != "$ref")
    return merged


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    kinds = frozenset([kind] if isinstance(kind, str) else [str(k) for k in kind])
    return kinds


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    """Whether every value of the ``narrow`` types is one of the ``wide`` types."""
    return all(k in wide or (k == "integer" and "number" in wide) for k in narrow)


def _kinds(kinds: frozenset[str] | None) -> str:
    return "any" if kinds is None else " or ".join(sorted(kinds))


def _admitted(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values an enum (or const) lets through its other constraints; ``None``: no enum."""
    if "const" in schema:
        return allowed_enum({**schema, "enum": [schema["const"]]})
    if "enum" in schema:
        return allowed_enum(schema)
    return None


def _enum_note(
    schema: Mapping[str, Any], other: Mapping[str, Any], values: list[Any], admitted: list[Any]
) -> str:
    """Why the values moved when the enum lists themselves did not: a bound changed."""
    listed_in_both = all(v in schema.get("enum", []) and v in other.get("enum", []) for v in values)
    return " (the enum lists them; its bounds decide)" if listed_in_both else ""


def _interval(schema: Mapping[str, Any], integer: bool) -> tuple[float, float]:
    """The inclusive numeric bounds, exclusive ones folded in (exactly, for integers)."""
    low: float = schema.get("minimum", -math.inf)
    high: float = schema.get("maximum", math.inf)
    if "exclusiveMinimum" in schema:
        bound = schema["exclusiveMinimum"]
        low = max(low, math.floor(bound) + 1 if integer else bound + 1e-300)
    if "exclusiveMaximum" in schema:
        bound = schema["exclusiveMaximum"]
        high = min(high, math.ceil(bound) - 1 if integer else bound - 1e-300)
    return low, high


def _bound(value: float) -> str:
    if math.isinf(value):
        return "none"
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_stringish(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return all(t is None or "string" in t for t in (_types(old), _types(new)))


def _strings_of(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The schemas' own example strings: they are what users send."""
    found = []
    for schema in (old, new):
        for key in ("example", "default"):
            if isinstance(schema.get(key), str):
                found.append(schema[key])
        found += [v for v in schema.get("examples", []) or [] if isinstance(v, str)]
    return found


def _branch_keys(branches: Any) -> dict[str, Any]:
    """oneOf branches by their component name, else by position."""
    keyed: dict[str, Any] = {}
    for index, branch in enumerate(branches if isinstance(branches, list) else []):
        keyed[_ref_name(branch) or f"#{index}"] = branch
    return keyed


def _listed(values: list[Any]) -> str:
    return ", ".join(_show(v) for v in values) or "nothing"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
