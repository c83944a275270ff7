"""The spec, its examples and an independent validator for its schemas, for tests."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "spec" / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
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
    """jsonschema-rs over the spec's own schema: the independent verdict."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": SPEC["components"],
        "$ref": f"#/components/schemas/{schema_name}",
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)
