"""The generated models: each rule the generators get wrong elsewhere, pinned down by example."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import northflank_build
import pytest
from northflank_build._errors import field_errors
from northflank_build.models import (
    BuildpackBuildSettings,
    CreateBuildServiceRequest,
    CreateBuildServiceResponse,
    DockerfileBuildSettings,
)
from pydantic import ValidationError

from tests.spec_data import SPEC, example

Edit = Callable[[dict[str, Any]], None]


def seed_request() -> dict[str, Any]:
    return copy.deepcopy(example("request", "dockerfileBuild"))


def errors_after(edit: Edit) -> list[tuple[str, str]]:
    """(JSON path, rule) of every error once ``edit`` is applied to the seed request."""
    body = seed_request()
    edit(body)
    try:
        CreateBuildServiceRequest.model_validate(body)
    except ValidationError as error:
        return [(e.path, e.rule) for e in field_errors(CreateBuildServiceRequest, error)]
    return []


def test_seed_request_round_trips_to_identical_json() -> None:
    body = seed_request()
    model = CreateBuildServiceRequest.model_validate(body)
    assert json.dumps(model.model_dump(mode="json")) == json.dumps(body)
    assert model.model_dump_json() == json.dumps(body, separators=(",", ":"))
    assert CreateBuildServiceRequest.model_validate_json(json.dumps(body)) == model


def test_seed_response_round_trips_to_identical_json() -> None:
    body = example("200", "dockerfileBuild")
    model = CreateBuildServiceResponse.model_validate(body)
    assert json.dumps(model.model_dump(mode="json")) == json.dumps(body)


def test_python_users_get_snake_case_and_the_wire_gets_camel_case() -> None:
    model = CreateBuildServiceRequest(
        name="My Service",
        billing={"buildPlan": "nf-compute-200-8"},
        vcs_data={"project_url": "https://github.com/org/repo", "project_type": "github"},
        build_settings={"buildpack": {}},
    )
    assert model.vcs_data.project_type == "github"
    assert type(model.name) is str
    assert isinstance(model.build_settings, BuildpackBuildSettings)
    assert model.model_dump(mode="json") == {
        "name": "My Service",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": "https://github.com/org/repo", "projectType": "github"},
        "buildSettings": {"buildpack": {}},
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda b: b.__setitem__("description", None),
            [("$.description", "type")],
            id="null is not absent",
        ),
        pytest.param(
            lambda b: b.__setitem__("disabledCI", "true"),
            [("$.disabledCI", "type")],
            id="no string to boolean coercion",
        ),
        pytest.param(
            lambda b: b["billing"].__setitem__(
                "gpu", {"configuration": {"gpuType": "a100", "gpuCount": True}}
            ),
            [("$.billing.gpu.configuration.gpuCount", "type")],
            id="a boolean is not an integer",
        ),
        pytest.param(
            lambda b: b["buildSettings"]["dockerfile"].__setitem__(
                "buildkit", {"internalCacheStorage": "lots"}
            ),
            [("$.buildSettings.dockerfile.buildkit.internalCacheStorage", "type")],
            id="a number's int-or-float union shows as one field",
        ),
        pytest.param(
            lambda b: b["buildSettings"]["storage"]["ephemeralStorage"].__setitem__(
                "storageSize", 131072
            ),
            [("$.buildSettings.storage.ephemeralStorage.storageSize", "enum")],
            id="enum value above maximum",
        ),
        pytest.param(
            lambda b: b["buildSettings"].__setitem__("buildpack", {}),
            [("$.buildSettings", "oneOf")],
            id="oneOf with both branches",
        ),
        pytest.param(
            lambda b: b.__setitem__("unknown", 1),
            [("$.unknown", "additionalProperties")],
            id="unknown field",
        ),
        pytest.param(
            lambda b: b.__setitem__("name", "Example Service\n"),
            [("$.name", "pattern")],
            id="dollar does not allow a trailing newline",
        ),
        pytest.param(
            lambda b: b["buildConfiguration"].__setitem__("branchRestrictions", ["a[b"]),
            [("$.buildConfiguration.branchRestrictions[0]", "pattern")],
            id="unescaped bracket in a class",
        ),
        pytest.param(
            lambda b: b["buildSettings"]["dockerfile"].__setitem__("dockerFilePath", "Dockerfile"),
            [("$.buildSettings.dockerfile.dockerFilePath", "pattern")],
            id="error inside the chosen oneOf branch only",
        ),
        pytest.param(
            lambda b: b["buildArguments"].__setitem__("A B", 1),
            [('$.buildArguments["A B"]', "type")],
            id="map key in the path",
        ),
    ],
)
def test_invalid_bodies_name_each_failing_field(
    edit: Edit, expected: list[tuple[str, str]]
) -> None:
    assert sorted(errors_after(edit)) == sorted(expected)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda b: b["buildSettings"]["storage"]["ephemeralStorage"].__setitem__(
                "storageSize", 65536.0
            ),
            id="2.0 is an integer",
        ),
        pytest.param(lambda b: b.__setitem__("name", "Example\u00a0Service"), id="ECMA \\s"),
        pytest.param(lambda b: b.__setitem__("name", "Example\ufeffService"), id="ECMA \\s BOM"),
    ],
)
def test_valid_edge_cases_are_accepted(edit: Edit) -> None:
    assert errors_after(edit) == []


def test_integral_floats_become_ints() -> None:
    body = seed_request()
    body["buildSettings"]["storage"]["ephemeralStorage"]["storageSize"] = 32768.0
    settings = CreateBuildServiceRequest.model_validate(body).build_settings
    assert isinstance(settings, DockerfileBuildSettings)
    size = settings.storage.ephemeral_storage.storage_size  # type: ignore[union-attr]
    assert size == 32768
    assert type(size) is int


def test_pattern_errors_quote_the_spec_pattern() -> None:
    body = seed_request()
    body["name"] = "-bad"
    with pytest.raises(ValidationError) as raised:
        CreateBuildServiceRequest.model_validate(body)
    (error,) = field_errors(CreateBuildServiceRequest, raised.value)
    assert "^[a-zA-Z]((-|\\s)?[a-zA-Z0-9]+((-|\\s)[a-zA-Z0-9]+)*)?$" in error.message


def test_public_api_does_not_drift() -> None:
    exported = set(northflank_build.__all__)
    assert {
        "CreateBuildServiceRequest",
        "CreateBuildServiceResponse",
        "BuildService",
        "ErrorResponse",
        "__version__",
    } <= exported
    assert all(hasattr(northflank_build, name) for name in exported)


def test_the_package_imports_in_a_fresh_interpreter() -> None:
    code = "from northflank_build.models import CreateBuildServiceRequest; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"


def test_exported_json_schema_carries_the_spec_patterns() -> None:
    exported = CreateBuildServiceRequest.model_json_schema()

    def patterns(node: Any) -> set[str]:
        if isinstance(node, dict):
            own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return own.union(*(patterns(value) for value in node.values()))
        if isinstance(node, list):
            return set().union(*(patterns(value) for value in node))
        return set()

    assert patterns(exported) == patterns(SPEC["components"]["schemas"])
    assert jsonschema_rs.Draft202012Validator(exported).is_valid(seed_request())
