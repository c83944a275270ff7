"""The pydantic models, by datamodel-code-generator, steered to match the spec exactly.

What steers it, and why:

* patterns reach it already translated to Rust-regex syntax (``ir.py``), so
  pydantic-core's Rust engine enforces the ECMA-262 meaning;
* ``StrictInt``/``StrictFloat`` come from the package's ``_json_types``, which
  give JSON Schema's ``integer`` and ``number`` (``2.0`` is an integer, ``true``
  is neither);
* ``filter_literal_values`` keeps only the enum values the bounds beside them
  admit (``storageSize``);
* optional fields default to ``MISSING``, so they are never emitted as null and
  an explicit null is rejected;
* every object model derives from ``SpecModel`` (strict, aliases both ways);
* named non-object schemas become type aliases, not root models, so a
  ``name`` is a ``str`` and a ``oneOf`` field holds the branch's model itself.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from pathlib import PurePosixPath
from typing import Any

import datamodel_code_generator as dmcg
from datamodel_code_generator.enums import DataModelType, InputFileType
from datamodel_code_generator.format import PythonVersion

from ..ir import ECMA_PATTERN_KEY, Api
from . import RenderedFile

__all__ = [
    "DMCG_OPTIONS",
    "MODELS_PATH",
    "import_model_generator",
    "models_source",
    "render_python_models",
]

RUNTIME = "northflank_build"

DMCG_OPTIONS: dict[str, Any] = {
    "input_file_type": InputFileType.OpenAPI,
    "output_model_type": DataModelType.PydanticV2BaseModel,
    "target_python_version": PythonVersion.PY_311,
    "target_pydantic_version": "2.14",
    "base_class": f"{RUNTIME}._model.SpecModel",
    "import_overrides": {
        "StrictInt": f"{RUNTIME}._json_types",
        "StrictFloat": f"{RUNTIME}._json_types",
    },
    "field_extra_keys": [ECMA_PATTERN_KEY],
    "strict_types": ["str", "bool", "int", "float"],
    "use_missing_sentinel": True,
    "filter_literal_values": True,
    "enum_field_as_literal": "all",
    "snake_case_field": True,
    "use_annotated": True,
    "field_constraints": True,
    "use_union_operator": True,
    "use_standard_collections": True,
    "use_schema_description": True,
    "use_field_description": True,
    "use_exact_imports": True,
    "keep_model_order": True,
    "use_type_alias": True,
    "disable_timestamp": True,
    "use_double_quotes": True,
    "formatters": [],
    "custom_file_header": (
        '"""The request, response and error models of the spec.\n\n'
        "Made by datamodel-code-generator, steered by codegen/render/python_models.py.\n"
        '"""'
    ),
}


MODELS_PATH = PurePosixPath("python", RUNTIME, "models.py")


def render_python_models(api: Api) -> list[RenderedFile]:
    return [RenderedFile(MODELS_PATH, models_source(api.model_schema_json))]


def models_source(model_schema_json: str) -> str:
    """``models.py`` for the IR's `Api.model_schema_json`."""
    code = dmcg.generate(json.loads(model_schema_json), **DMCG_OPTIONS)
    if not isinstance(code, str):
        raise TypeError("datamodel-code-generator returned several modules; expected one")
    return code


def import_model_generator() -> None:
    """Import what `models_source` will, ahead of time (datamodel-code-generator imports
    its configuration and parser on first use: most of what it costs)."""
    for module in ("datamodel_code_generator.config", "datamodel_code_generator.parser.openapi"):
        with contextlib.suppress(ImportError):  # moved in another version: imported on first use
            importlib.import_module(module)
