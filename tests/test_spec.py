"""Checks on the hand-written spec/openapi.yaml: validity, lint, examples, contract."""

import copy
import json
import os
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
REDOCLY = ROOT / "tools" / "node" / "node_modules" / ".bin" / "redocly"
# Redocly CLI offline: no usage data, no npm "latest version" lookup, no notices.
REDOCLY_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "REDOCLY_SUPPRESS_NOTIFICATIONS": "true",
}

PATH = "/v1/projects/{projectId}/services/build"
ERROR_CODES = ["400", "401", "403", "404", "409", "413", "415", "429", "500"]
RATE_LIMIT_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}
JSON = "application/json"


@pytest.fixture(scope="module")
def spec():
    with SPEC_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def operation(spec):
    return spec["paths"][PATH]["post"]


def resolve(spec, node):
    """Follow local `$ref`s such as `#/components/responses/Conflict`."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def responses(spec, operation):
    return {code: resolve(spec, r) for code, r in operation["responses"].items()}


def validator_for(spec, schema):
    """A 2020-12 validator whose `#/components/...` refs resolve against the spec."""
    root = {"$ref": schema["$ref"]} if "$ref" in schema else dict(schema)
    root["components"] = spec["components"]
    return jsonschema_rs.Draft202012Validator(root, offline=True)


def media_types(spec, operation):
    """(location, media type object) for the request body and every response."""
    yield "requestBody", operation["requestBody"]["content"][JSON]
    for code, response in responses(spec, operation).items():
        for name, media in response.get("content", {}).items():
            yield f"responses/{code}/{name}", media


def all_examples(spec, operation):
    return [
        (f"{where}/examples/{name}", media["schema"], example["value"])
        for where, media in media_types(spec, operation)
        for name, example in media.get("examples", {}).items()
    ]


def example_value(holder, name):
    """The value of a named example of a request body's or response's JSON body."""
    return holder["content"][JSON]["examples"][name]["value"]


def test_spec_is_valid_openapi_3_1(spec):
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_redocly_lint_is_clean():
    if not REDOCLY.exists():
        reason = f"{REDOCLY} is missing: run `npm ci` in tools/node"
        if os.environ.get("NF_REQUIRE_NODE") == "1":
            pytest.fail(reason + " (NF_REQUIRE_NODE=1 forbids skipping)")
        pytest.skip(reason)
    result = subprocess.run(
        [str(REDOCLY), "lint", "spec/openapi.yaml", "--format=json"],
        check=False,
        cwd=ROOT,
        env={**os.environ, **REDOCLY_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    clean = {"errors": 0, "warnings": 0, "ignored": 0}
    assert report["totals"] == clean, report["problems"]


def test_every_example_matches_its_schema(spec, operation):
    examples = all_examples(spec, operation)
    assert len(examples) >= 3
    for where, schema, value in examples:
        errors = [str(e) for e in validator_for(spec, schema).iter_errors(value)]
        assert not errors, f"{where}: {errors}"


@pytest.mark.parametrize(
    ("where", "path", "bad"),
    [
        ("requestBody/examples/dockerfileBuild", ["name"], "x"),
        ("responses/200/application/json/examples/dockerfileBuild", ["data", "name"], "x"),
        ("responses/409/application/json/examples/conflict", ["error", "status"], 200),
    ],
)
def test_broken_example_is_rejected(spec, operation, where, path, bad):
    """A nested constraint reached only through `$ref`s must bite."""
    [(schema, value)] = [(s, v) for w, s, v in all_examples(spec, operation) if w == where]
    broken = copy.deepcopy(value)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    assert not validator_for(spec, schema).is_valid(broken)


def test_seed_examples_are_present(spec, operation):
    documented = responses(spec, operation)
    request = example_value(operation["requestBody"], "dockerfileBuild")
    assert request["name"] == "Example Service"
    assert request["buildSettings"]["dockerfile"]["dockerFilePath"] == "/Dockerfile"
    ok = example_value(documented["200"], "dockerfileBuild")
    assert ok["data"]["id"] == "example-service"
    assert ok["data"]["status"]["build"]["status"] == "SUCCESS"
    conflict = example_value(documented["409"], "conflict")
    message = "There is already a service with the same derived identifier"
    assert conflict["error"]["message"] == message


def test_operation_contract(spec, operation):
    assert operation["operationId"] == "createBuildService"
    assert operation["x-required-permission"] == "Project > Services > General > Create"
    assert operation["x-command-path"] == "create service build"
    assert operation["security"] == [{"bearerAuth": []}]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")

    documented = responses(spec, operation)
    assert set(documented) == {"200", *ERROR_CODES}
    for code in ["200", *ERROR_CODES]:
        missing = RATE_LIMIT_HEADERS - set(documented[code].get("headers", {}))
        assert not missing, (code, missing)
    for code in ERROR_CODES:
        schema = documented[code]["content"][JSON]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, code
