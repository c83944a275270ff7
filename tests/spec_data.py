"""The spec, its examples and an independent validator for its schemas, for tests."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from codegen.compose import flatten_all_of

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "spec" / "openapi.yaml"
SPEC_AS_WRITTEN: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
"""The spec as written: schemas composed with ``allOf`` and ``unevaluatedProperties``."""
SPEC: dict[str, Any] = flatten_all_of(SPEC_AS_WRITTEN)[0]
"""The spec as the surfaces read it: each composed schema one closed object (codegen.compose)."""
OPERATION_PATH = "/v1/projects/{projectId}/services/build"
OPERATION: dict[str, Any] = SPEC["paths"][OPERATION_PATH]["post"]


def example(where: str, name: str) -> Any:
    """A copy of an example value: ``where`` is "request" or a response status such as "200"."""
    if where == "request":
        media = OPERATION["requestBody"]["content"]["application/json"]
    else:
        response = OPERATION["responses"][where]
        if "$ref" in response:
            response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        media = response["content"]["application/json"]
    return copy.deepcopy(media["examples"][name]["value"])


@cache
def oracle_for(schema_name: str) -> Any:
    """jsonschema-rs over the spec's own schema, as written: the independent verdict.

    It reads ``allOf`` and ``unevaluatedProperties`` itself, so it also checks the
    generator's flattening of them. Where a composed object fails, it reports the
    failure as 2020-12 defines it: an ``unevaluatedProperties`` error that names
    every property (`oracle_error_fields` says which keys really are unknown).
    """
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": SPEC_AS_WRITTEN["components"],
        "$ref": f"#/components/schemas/{schema_name}",
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)


def declared_properties(schema_name: str) -> frozenset[str]:
    """The property names a (flattened) components schema declares."""
    return frozenset(SPEC["components"]["schemas"][schema_name].get("properties", {}))


def unknown_keys(schema_name: str, error: Any) -> list[str]:
    """The keys an ``additionalProperties`` or ``unevaluatedProperties`` error of the oracle
    really objects to: at the root of a composed schema, ``unevaluatedProperties`` also
    names every declared property once any member fails; those are left out."""
    unexpected = [str(key) for key in error.kind.unexpected]
    if error.kind.name == "unevaluatedProperties" and not list(error.instance_path):
        declared = declared_properties(schema_name)
        return [key for key in unexpected if key not in declared]
    return unexpected
