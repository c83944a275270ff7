"""The base class of every generated object model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["SpecModel"]


class SpecModel(BaseModel):
    """An object from the spec: validated as JSON Schema 2020-12 would.

    Strict types, unknown keys rejected, camelCase keys on the wire and
    snake_case attributes in Python. Optional fields left out stay out:
    ``model_dump()`` gives back exactly the JSON that was validated.
    """

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )
