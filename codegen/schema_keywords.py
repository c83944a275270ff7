"""The JSON Schema keywords the generated surfaces implement, shared by every stage.

A schema in the spec may use these assertions and annotations, and extension
keys (``x-...``); anything else is refused by `validate` before generation,
because some surface (the TypeScript validator compiles each keyword itself)
would otherwise check less than the spec says.
"""

from __future__ import annotations

__all__ = ["ANNOTATIONS", "ASSERTIONS", "SUBSCHEMA_KEYS"]

ASSERTIONS = frozenset(
    {
        "$ref",
        "additionalProperties",
        "const",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "items",
        "maxItems",
        "maxLength",
        "maximum",
        "minItems",
        "minLength",
        "minimum",
        "oneOf",
        "pattern",
        "properties",
        "required",
        "type",
    }
)

ANNOTATIONS = frozenset(
    {"$comment", "default", "deprecated", "description", "example", "examples", "format", "title"}
)
"""Keywords that assert nothing (``format`` is an annotation in 2020-12 unless opted in)."""

SUBSCHEMA_KEYS = ("items", "additionalProperties")
"""Keywords whose value is one schema; ``properties`` and ``oneOf`` hold several."""
