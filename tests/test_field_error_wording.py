"""A ``oneOf`` that no single branch answers reads the same on every surface.

The buildSettings ``oneOf`` (a Dockerfile build or a Buildpack build) with both
branches' keys, or neither, is ONE error at ``$.buildSettings``, rule ``oneOf``:
``exactly one of: dockerfile, buildpack``. A body that clearly meant one branch
(``{"dockerfile": {...bad...}}``) still gets that branch's own errors. Each case
is pinned here, as written below, for every surface that reports field errors:
Python's ``field_errors`` and the client's ``RequestValidationError``; the
sandbox's 400 over real HTTP; ``nf-build ... --dry-run``; and the TypeScript
validators, built by their own ``npm run build`` and run by real Node.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from northflank_build import Client, RequestValidationError, field_errors, first_field_errors
from northflank_build.models import CreateBuildServiceRequest, PatchBuildServiceRequest
from pydantic import BaseModel, ConfigDict, ValidationError

from tests.cli_run import Cli, base_env
from tests.live_sandbox import LiveSandbox, start_sandbox
from tests.spec_data import example
from tests.typescript_build import node_env, run, shown

ONE_OF = ("$.buildSettings", "oneOf", "exactly one of: dockerfile, buildpack")
DOCKERFILE_PATTERN = "^\\/([a-zA-Z0-9-._]+\\/)*[a-zA-Z0-9-._]+$"
DOCKERFILE = {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}

Expected = list[tuple[str, str, str]]

CREATE_CASES: dict[str, tuple[Any, Expected]] = {
    "both": ({"dockerfile": DOCKERFILE, "buildpack": {}}, [ONE_OF]),
    "both, one of them bad": ({"dockerfile": {"dockerFilePath": "x"}, "buildpack": {}}, [ONE_OF]),
    "neither": ({}, [ONE_OF]),
    "neither, storage only": ({"storage": {"ephemeralStorage": {"storageSize": 16384}}}, [ONE_OF]),
    "neither, a misspelt key": ({"Dockerfile": DOCKERFILE}, [ONE_OF]),
    "not an object": ("dockerfile", [ONE_OF]),
    "one, with a bad field inside": (
        {"dockerfile": {**DOCKERFILE, "dockerFilePath": "Dockerfile"}},
        [("$.buildSettings.dockerfile.dockerFilePath", "pattern", "")],
    ),
    "one, missing its own required field": (
        {"dockerfile": {"dockerFilePath": "/Dockerfile"}},
        [("$.buildSettings.dockerfile.dockerWorkDir", "required", "")],
    ),
    "one, with an unknown key beside it": (
        {"dockerfile": DOCKERFILE, "extra": 1},
        [("$.buildSettings.extra", "additionalProperties", "")],
    ),
}
"""buildSettings values for the create body, and what each surface reports; an empty
message is the surface's own wording of a non-oneOf error, which is not compared."""

PATCH_CASES: dict[str, tuple[Any, Expected]] = {
    "both": ({"dockerfile": {}, "buildpack": {}}, [ONE_OF]),
    "neither": ({"storage": {}}, [ONE_OF]),
    "one, with a bad field inside": (
        {"buildpack": {"builder": "HEROKU_1"}},
        [("$.buildSettings.buildpack.builder", "enum", "")],
    ),
}
"""The same for the patch body, whose Dockerfile branch has no required field of its own."""


def create_body(settings: Any) -> dict[str, Any]:
    body = copy.deepcopy(example("request", "dockerfileBuild"))
    body["buildSettings"] = settings
    return body


def patch_body(settings: Any) -> dict[str, Any]:
    return {"buildSettings": settings}


def all_cases() -> list[tuple[str, str, dict[str, Any], Expected]]:
    """(operation, case id, body, expected) for both bodies."""
    return [
        *(("create", k, create_body(s), e) for k, (s, e) in CREATE_CASES.items()),
        *(("patch", k, patch_body(s), e) for k, (s, e) in PATCH_CASES.items()),
    ]


CASES = all_cases()
CASE_IDS = [f"{operation}: {name}" for operation, name, _, _ in CASES]
MODELS: dict[str, type[BaseModel]] = {
    "create": CreateBuildServiceRequest,
    "patch": PatchBuildServiceRequest,
}


def matches(reported: list[tuple[str, str, str]], expected: Expected) -> bool:
    """Whether ``reported`` is ``expected``, a message compared only where one is given."""
    if len(reported) != len(expected):
        return False
    return all(
        got[:2] == want[:2] and (not want[2] or got[2] == want[2])
        for got, want in zip(reported, expected, strict=True)
    )


def python_errors(operation: str, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    model = MODELS[operation]
    try:
        model.model_validate(body)
    except ValidationError as error:
        return [(f.path, f.rule, f.message) for f in field_errors(model, error)]
    return []


# --- Python ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "name", "body", "expected"), CASES, ids=CASE_IDS)
def test_python_field_errors(
    operation: str, name: str, body: dict[str, Any], expected: Expected
) -> None:
    assert matches(python_errors(operation, body), expected), python_errors(operation, body)


def test_python_pattern_message_inside_the_meant_branch() -> None:
    settings, _ = CREATE_CASES["one, with a bad field inside"]
    (error,) = python_errors("create", create_body(settings))
    assert error[2] == f"String should match the ECMA-262 pattern `{DOCKERFILE_PATTERN}`"


def test_first_field_errors_is_field_errors_cut_short() -> None:
    body = create_body({"dockerfile": DOCKERFILE, "buildpack": {}})
    body["tags"] = ["t", "t", "ok-tag", 1]
    body["name"] = "-"
    try:
        CreateBuildServiceRequest.model_validate(body)
    except ValidationError as error:
        every = field_errors(CreateBuildServiceRequest, error)
        assert ("$.buildSettings", "oneOf") in [(e.path, e.rule) for e in every]
        for limit in range(len(every) + 2):
            shown, more = first_field_errors(CreateBuildServiceRequest, error, limit)
            assert shown == every[:limit]
            assert more == len(every) - len(shown)
    else:
        pytest.fail("the body should be invalid")


def test_first_field_errors_refuses_a_negative_limit() -> None:
    try:
        CreateBuildServiceRequest.model_validate({})
    except ValidationError as error:
        with pytest.raises(ValueError, match="limit"):
            first_field_errors(CreateBuildServiceRequest, error, -1)


def test_the_client_refuses_before_sending() -> None:
    client = Client(token="t", base_url="http://127.0.0.1:9")
    settings, expected = CREATE_CASES["both"]
    with pytest.raises(RequestValidationError) as raised:
        client.create.service.build(project_id="p", data=create_body(settings))
    assert [(e.path, e.rule, e.message) for e in raised.value.errors] == expected


# --- The sandbox, over real HTTP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_sandbox(tmp_path_factory.mktemp("wording"), "--quiet", "--rate-limit", "off")
    yield server
    server.stop()


WORDING_SERVICE = {**create_body({"dockerfile": DOCKERFILE}), "name": "Wording"}
"""The service the patch cases are sent to (its id, ``wording``, derives from its name)."""


def sandbox_errors(
    server: LiveSandbox, operation: str, body: dict[str, Any]
) -> list[tuple[str, str, str]]:
    project = f"{server.url}/v1/projects/default-project/services"
    with httpx.Client(headers=server.headers, timeout=30) as http:
        if operation == "create":
            response = http.post(f"{project}/build", json=body)
        else:
            made = http.post(f"{project}/build", json=WORDING_SERVICE)
            assert made.status_code in (200, 201, 409), made.text
            response = http.patch(f"{project}/build/wording", json=body)
    assert response.status_code == 400, response.text
    fields = response.json()["error"]["details"]["fields"]
    return [(f["path"], f["rule"], f["message"]) for f in fields]


@pytest.mark.parametrize(("operation", "name", "body", "expected"), CASES, ids=CASE_IDS)
def test_sandbox_400(
    sandbox: LiveSandbox, operation: str, name: str, body: dict[str, Any], expected: Expected
) -> None:
    reported = sandbox_errors(sandbox, operation, body)
    assert matches(reported, expected), reported
    assert reported == python_errors(operation, body)


# --- nf-build ------------------------------------------------------------------------------------

NOWHERE = ("--project-id", "p", "--token", "t", "--base-url", "http://127.0.0.1:9")

CLI_BOTH = """\
Error: the request body is invalid (1 failing field); nothing was sent.
  $.buildSettings (oneOf): exactly one of: dockerfile, buildpack
Fix them, or send anyway with --skip-validation.
"""


def test_cli_dry_run_snapshot(tmp_path: Path) -> None:
    settings, _ = CREATE_CASES["both"]
    done = Cli(base_env(tmp_path), tmp_path)(
        "create", "service", "build", *NOWHERE, "--no-input", "--dry-run",
        "-i", json.dumps(create_body(settings)),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (2, "", CLI_BOTH)


@pytest.mark.parametrize(
    "name", ["neither", "one, with a bad field inside", "one, with an unknown key beside it"]
)
def test_cli_names_what_field_errors_names(tmp_path: Path, name: str) -> None:
    settings, _ = CREATE_CASES[name]
    body = create_body(settings)
    done = Cli(base_env(tmp_path), tmp_path)(
        "create", "service", "build", *NOWHERE, "--no-input", "--dry-run", "-i", json.dumps(body)
    )
    assert done.returncode == 2, done.stderr
    for path, rule, message in python_errors("create", body):
        assert f"  {path} ({rule}): {message}" in done.stderr.splitlines()


# --- TypeScript, by real Node ------------------------------------------------------------------

TS_SCRIPT = """
import { readFileSync } from "node:fs";
const pkg = await import(process.env.NF_TS_ENTRY);
const cases = JSON.parse(readFileSync(process.argv[1], "utf8"));
const out = cases.map(([validator, body]) =>
  pkg[validator](body).map((e) => [e.path, e.rule, e.message]));
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def typescript_errors(typescript_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each case's errors from the built package's validators, in one Node run."""
    validators = {
        "create": "validateCreateBuildServiceRequest",
        "patch": "validatePatchBuildServiceRequest",
    }
    corpus = tmp_path_factory.mktemp("wording-ts") / "cases.json"
    corpus.write_text(json.dumps([[validators[op], body] for op, _, body, _ in CASES]))
    entry = (typescript_package / "dist" / "esm" / "index.js").as_uri()
    done = run(
        ["node", "--input-type=module", "-e", TS_SCRIPT, corpus],
        typescript_package,
        env=node_env(NF_TS_ENTRY=entry),
    )
    assert done.returncode == 0, shown(done)
    found: list[list[list[str]]] = json.loads(done.stdout)
    return {
        case_id: [tuple(e) for e in errors] for case_id, errors in zip(CASE_IDS, found, strict=True)
    }


@pytest.mark.parametrize(("operation", "name", "body", "expected"), CASES, ids=CASE_IDS)
def test_typescript_validators(
    typescript_errors: dict[str, list[tuple[str, str, str]]],
    operation: str,
    name: str,
    body: dict[str, Any],
    expected: Expected,
) -> None:
    reported = typescript_errors[f"{operation}: {name}"]
    assert matches(reported, expected), reported
    python = python_errors(operation, body)
    assert [e[:2] for e in reported] == [e[:2] for e in python]


# --- The rule on other shapes: oneOfs in a list, branches told apart by two keys ---------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cat(_Strict):
    name: str
    meows: bool


class Dog(_Strict):
    name: str
    barks: bool
    fetches: bool


class Pets(_Strict):
    pets: list[Cat | Dog]


def pet_errors(pets: list[Any]) -> list[tuple[str, str, str]]:
    try:
        Pets.model_validate({"pets": pets})
    except ValidationError as error:
        return [(f.path, f.rule, f.message) for f in field_errors(Pets, error)]
    return []


PETS_ONE_OF = "exactly one of: meows, barks+fetches"


def test_a_branch_is_named_by_every_key_it_alone_requires() -> None:
    """``name`` is required by both branches, so it names neither."""
    assert pet_errors([{"name": "Rex"}]) == [("$.pets[0]", "oneOf", PETS_ONE_OF)]


def test_each_item_of_a_list_gets_its_own_verdict() -> None:
    pets = [
        {"name": "Tom", "meows": True},
        {"name": "Rex", "barks": True, "fetches": "maybe"},
        {"name": "Odd", "meows": True, "barks": True, "fetches": True},
        {"meows": True},
    ]
    assert pet_errors(pets) == [
        ("$.pets[1].fetches", "type", "Input should be a valid boolean, unable to interpret input"),
        ("$.pets[2]", "oneOf", PETS_ONE_OF),
        ("$.pets[3].name", "required", "Field required"),
    ]


def test_a_branch_missing_one_of_its_keys_is_not_meant() -> None:
    """Half of Dog's keys: Dog is not meant, nor is Cat (no ``meows``), so the oneOf error."""
    assert pet_errors([{"name": "Rex", "barks": True}]) == [("$.pets[0]", "oneOf", PETS_ONE_OF)]
