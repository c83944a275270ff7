"""The JSON Schema keywords the generated surfaces implement, shared by every stage.

A schema in the spec may use these assertions and annotations, and extension
keys (``x-...``); anything else is refused by `validate` before generation,
because some surface (the TypeScript validator compiles each keyword itself)
would otherwise check less than the spec says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ANNOTATIONS", "ASSERTIONS", "SUBSCHEMA_KEYS", "UnsupportedSchema", "length_words"]


class UnsupportedSchema(ValueError):  # noqa: N818 - reads as what it is, like UnsupportedPattern
    """A schema a surface's compiler cannot check exactly. `validate` refuses such a spec
    first; a compiler that still meets one stops the generator rather than skip it."""


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


def length_words(schema: Mapping[str, Any]) -> str | None:
    """``minLength``/``maxLength`` in words: ``3 to 54 characters``, ``exactly 24 characters``."""
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and low == high:
        return f"exactly {low} characters"
    if low is not None and high is not None:
        return f"{low} to {high} characters"
    if high is not None:
        return f"at most {high} characters"
    if low is not None:
        return f"at least {low} characters"
    return None
