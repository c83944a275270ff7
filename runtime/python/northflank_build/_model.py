"""The base class of every generated object model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict
from pydantic.config import ExtraValues
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode

__all__ = ["ECMA_PATTERN_KEY", "SpecJsonSchema", "SpecModel"]

ECMA_PATTERN_KEY = "x-ecma-pattern"
"""The schema key, beside the enforced ``pattern``, that keeps the spec's ECMA-262 form."""


class SpecJsonSchema(GenerateJsonSchema):
    """JSON Schema as the spec writes it: each ``pattern`` in its ECMA-262 form.

    The models enforce patterns translated to Rust-regex syntax (``\\A``,
    ``\\u{…}``), which an ECMA-262 validator would misread; exported schemas
    carry the spec's own patterns instead.
    """

    def generate(self, schema: Any, mode: JsonSchemaMode = "validation") -> dict[str, Any]:
        generated = super().generate(schema, mode)
        _restore_ecma_patterns(generated)
        return generated


def _restore_ecma_patterns(node: Any) -> None:
    if isinstance(node, dict):
        if ECMA_PATTERN_KEY in node:
            node["pattern"] = node.pop(ECMA_PATTERN_KEY)
        for value in node.values():
            _restore_ecma_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _restore_ecma_patterns(value)


class SpecModel(BaseModel):
    """An object from the spec: validated as JSON Schema 2020-12 would.

    Strict types, unknown keys rejected, camelCase keys on the wire and
    snake_case attributes in Python. Optional fields left out stay out:
    ``model_dump()`` gives back exactly the JSON that was validated.

    The constructor takes either spelling (``Billing(build_plan=...)``), but
    ``model_validate`` and ``model_validate_json`` read wire data and take
    only the spec's keys: ``{"build_plan": ...}`` is an unknown key there,
    as it is to the spec.
    """

    if TYPE_CHECKING:
        # Set on a call's result only, outside pydantic's fields and private attributes,
        # so dumps and equality ignore it (as in the Stainless SDKs).
        _request_id: str | None
        """The ``X-Request-Id`` of the response this result came in."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = SpecJsonSchema,
        mode: JsonSchemaMode = "validation",
        *,
        union_format: Literal["any_of", "primitive_type_array"] = "any_of",
    ) -> dict[str, Any]:
        """The model's JSON Schema, with the spec's ECMA-262 patterns."""
        return super().model_json_schema(
            by_alias=by_alias,
            ref_template=ref_template,
            schema_generator=schema_generator,
            mode=mode,
            union_format=union_format,
        )

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Validate wire data (a parsed JSON value): only the spec's keys are known."""
        return super().model_validate(
            obj,
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=False if by_name is None else by_name,
        )

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Validate JSON text: only the spec's keys are known."""
        return super().model_validate_json(
            json_data,
            strict=strict,
            extra=extra,
            context=context,
            by_alias=by_alias,
            by_name=False if by_name is None else by_name,
        )
