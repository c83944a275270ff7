"""Parity: the generated models, and the generated fast checks, accept a body if and only
if the spec does.

The oracle is jsonschema-rs, an independent JSON Schema 2020-12 validator whose
patterns follow ECMA-262, run over the spec itself. Bodies come from
schemathesis (valid and invalid by construction) and from seeded mutations
aimed at every constraint boundary of the spec. Any disagreement fails the
test and prints the body with both verdicts. The fast checks (``_checks.CHECKS``,
what the clients and the CLI ask before the models) judge every request body, and
every operation's parameters (schemathesis-generated, against the oracle over the
IR's ``<Op>Params`` schemas), too.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import hypothesis.strategies as st
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from northflank_build import models as generated_models
from northflank_build._checks import CHECKS
from northflank_build.models import (
    BuildServiceResponse,
    CreateBuildServiceRequest,
    CreateBuildServiceResponse,
    ErrorResponse,
    PatchBuildServiceRequest,
)
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode

from codegen.ir import with_parameter_models
from codegen.spec_operations import parameters_model_name
from tests.spec_data import (
    OPERATION_PATH,
    SPEC,
    SPEC_AS_WRITTEN,
    SPEC_PATH,
    example,
    oracle_for,
)

MUTATION_CASES = 6_000
PARAMETER_CASES = 100  # per operation and generation mode
SCHEMATHESIS_CASES = 500  # per generation mode

REQUEST = "CreateBuildServiceRequest"
PATCH_REQUEST = "PatchBuildServiceRequest"
PATCH_PATH = "/v1/projects/{projectId}/services/build/{serviceId}"
MODELS: dict[str, type[BaseModel]] = {
    REQUEST: CreateBuildServiceRequest,
    PATCH_REQUEST: PatchBuildServiceRequest,
    "BuildServiceResponse": BuildServiceResponse,
    "CreateBuildServiceResponse": CreateBuildServiceResponse,
    "ErrorResponse": ErrorResponse,
}


def model_verdict(model: type[BaseModel], body: Any) -> tuple[bool, Any]:
    """Whether ``model`` accepts ``body``, and the JSON it serialises back to if so."""
    try:
        validated = model.model_validate(body)
    except ValidationError:
        return False, None
    return True, validated.model_dump(mode="json")


def model_accepts(model: type[BaseModel], body: Any) -> bool:
    return model_verdict(model, body)[0]


def model_accepts_json(model: type[BaseModel], body: Any) -> bool:
    """The same verdict through the JSON-text path clients and servers use."""
    try:
        model.model_validate_json(json.dumps(body))
    except ValidationError:
        return False
    return True


@dataclass
class Tally:
    """Cases seen and disagreements found, per schema.

    A disagreement is a different verdict (from a Python object or from JSON
    text), or an accepted body that does not serialise back to the same JSON.
    """

    schema: str
    valid: int = 0
    invalid: int = 0
    disagreements: list[str] = field(default_factory=list)

    def judge(self, body: Any) -> None:
        expected = oracle_for(self.schema).is_valid(body)
        actual, dumped = model_verdict(MODELS[self.schema], body)
        fast = CHECKS.get(self.schema)
        if fast is not None and fast(body) != expected and len(self.disagreements) < 5:
            self.disagreements.append(
                f"spec says {'valid' if expected else 'invalid'}, the fast check does not:"
                f" {json.dumps(body, ensure_ascii=True)}"
            )
        if actual and dumped != body and len(self.disagreements) < 5:
            self.disagreements.append(f"does not round-trip: {body!r} became {dumped!r}")
        if (
            model_accepts_json(MODELS[self.schema], body) != expected
            and len(self.disagreements) < 5
        ):
            self.disagreements.append(f"JSON-text verdict differs: {json.dumps(body)}")
        if expected:
            self.valid += 1
        else:
            self.invalid += 1
        if expected != actual and len(self.disagreements) < 5:
            self.disagreements.append(
                f"spec says {'valid' if expected else 'invalid'}, model says"
                f" {'valid' if actual else 'invalid'}: {json.dumps(body, ensure_ascii=True)}"
            )

    @property
    def total(self) -> int:
        return self.valid + self.invalid

    def assert_parity(self) -> None:
        assert not self.disagreements, "\n".join(self.disagreements)


# --- seeded mutations at every constraint boundary -------------------------------------------

ADVERSARIAL_CHARS = (
    "\n\r\t\v\f \u00a0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
    "\u0085\u001c\u001f\u180e\u0661\uff11\u00e9\u212a\u017f\U0001f432"
    "[]{}\\^$-~&?:@*/._'\"()`%!;,"
)
SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2.0,
    2.5,
    16384,
    16384.0,
    32768,
    65536,
    65536.0,
    65537,
    131072,
    524288,
    16383,
    1e300,
    "",
    "a",
    "true",
    "16384",
    "kaniko",
    "HEROKU_24",
    "github",
    "x86",
    "build",
    [],
    {},
    ["abc"],
    {"a": "b"},
)
BOUNDARY_LENGTHS = (
    0,
    1,
    2,
    3,
    23,
    24,
    25,
    53,
    54,
    55,
    71,
    72,
    73,
    99,
    100,
    101,
    199,
    200,
    201,
    259,
    260,
    261,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(body, path[:-1])[path[-1]] = value
    return body


def _mutate_string(rng: random.Random, text: str) -> str:
    choice = rng.randrange(7)
    if choice == 6 and text:
        position = rng.randrange(len(text))
        return text[:position] + rng.choice(ADVERSARIAL_CHARS) + text[position + 1 :]
    if choice == 0:
        return text + rng.choice("\n\r\u2028 ")
    if choice == 1:
        position = rng.randrange(len(text) + 1)
        return text[:position] + rng.choice(ADVERSARIAL_CHARS) + text[position:]
    if choice == 2:
        length = rng.choice(BOUNDARY_LENGTHS)
        source = text.replace("/", "") or "a"
        return ((text[:1] if text.startswith("/") else "") + source * length)[:length]
    if choice == 3:
        return text.upper() if rng.random() < 0.5 else text.replace("-", " ")
    if choice == 4:
        return "".join(rng.choice(ADVERSARIAL_CHARS + text) for _ in range(rng.randrange(1, 8)))
    return text[: rng.randrange(len(text) + 1)]


def _snake_case(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def mutate(rng: random.Random, base: Any) -> Any:
    """One to three small edits: each keeps most of the body valid, so verdicts hinge on it."""
    body = copy.deepcopy(base)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        paths = list(_paths(body))
        path = rng.choice(paths)
        target = _get(body, path)
        kind = rng.randrange(8)
        if kind == 7 and path and isinstance(_get(body, path[:-1]), dict):
            # Python attribute names are not wire keys: `buildPlan` sent as `build_plan`.
            parent, key = _get(body, path[:-1]), path[-1]
            parent[_snake_case(str(key))] = parent.pop(key)
        elif kind == 0 and isinstance(target, dict):
            target[rng.choice(("extra", "dockerfile", "buildpack", "storage", "Name", "name"))] = (
                copy.deepcopy(rng.choice((*SCALARS, {"builder": "PAKETO_TINY"})))
            )
        elif kind == 1 and path and isinstance(_get(body, path[:-1]), dict):
            del _get(body, path[:-1])[path[-1]]
        elif kind == 2 and isinstance(target, str):
            body = _set(body, path, _mutate_string(rng, target))
        elif kind == 3 and isinstance(target, list):
            target.append(rng.choice(("feature/*", "abc", "a b", "[skip ci]", "x" * 73, 3, None)))
        elif kind == 4 and isinstance(target, int | float) and not isinstance(target, bool):
            body = _set(body, path, rng.choice((target * 2, target / 2, float(target), target + 1)))
        else:
            body = _set(body, path, copy.deepcopy(rng.choice(SCALARS)))
    return body


def seeds(schema: str) -> list[Any]:
    if schema == REQUEST:
        request = example("request", "dockerfileBuild")
        buildpack = copy.deepcopy(request)
        buildpack["buildSettings"] = {
            "buildpack": {
                "builder": "PAKETO_FULL",
                "buildpackLocators": ["heroku/nodejs"],
                "buildContext": "/app",
                "useCache": True,
            }
        }
        buildpack["billing"] = {
            "buildPlan": "nf-compute-200-8",
            "gpu": {"enabled": True, "configuration": {"gpuType": "a100", "gpuCount": 2}},
        }
        buildpack["tags"] = ["team-a", "prod"]
        buildpack["infrastructure"] = {"architecture": "arm"}
        buildpack["vcsData"]["vcsLinkId"] = "0123456789abcdef01234567"
        return [request, buildpack]
    if schema == PATCH_REQUEST:
        return patch_seeds()
    if schema == "CreateBuildServiceResponse":
        return [example("200", "dockerfileBuild")]
    if schema == "BuildServiceResponse":
        return [patch_example("200", "newDockerfile")]
    return [example("409", "conflict")]


def patch_example(where: str, name: str) -> Any:
    """A copy of an example of the patch operation: "request", or a response status."""
    operation = SPEC["paths"][PATCH_PATH]["patch"]
    if where == "request":
        media = operation["requestBody"]["content"]["application/json"]
    else:
        media = operation["responses"][where]["content"]["application/json"]
    return copy.deepcopy(media["examples"][name]["value"])


def patch_seeds() -> list[Any]:
    """The spec's patch example; a change of every field (a Dockerfile build); a switch to a
    Buildpack build with new billing and tags."""
    request = example("request", "dockerfileBuild")
    everything = {key: value for key, value in request.items() if key != "name"}
    everything["vcsData"] = {"accountLogin": "someone-else"}
    everything["disabledCI"] = True
    switch = {
        "buildSettings": {
            "storage": {"ephemeralStorage": {"storageSize": 32768}},
            "buildpack": {"builder": "PAKETO_FULL", "buildContext": "/app", "useCache": True},
        },
        "billing": {"buildPlan": "nf-compute-400", "gpu": {"configuration": {"gpuCount": 1}}},
        "tags": ["team-a", "prod"],
        "vcsData": {"vcsLinkId": "0123456789abcdef01234567", "projectType": "gitlab"},
    }
    return [patch_example("request", "newDockerfile"), everything, switch]


@pytest.mark.parametrize(
    ("schema", "cases"),
    [
        (REQUEST, MUTATION_CASES),
        (PATCH_REQUEST, MUTATION_CASES // 2),
        ("CreateBuildServiceResponse", 1_000),
        ("BuildServiceResponse", 1_000),
        ("ErrorResponse", 300),
    ],
)
def test_mutated_bodies_get_the_spec_verdict(schema: str, cases: int) -> None:
    rng = random.Random(f"parity-{schema}")
    tally = Tally(schema)
    bases = seeds(schema)
    for base in bases:
        tally.judge(base)
    for _ in range(cases):
        tally.judge(mutate(rng, rng.choice(bases)))
    tally.assert_parity()
    # Both verdicts must be well represented, or the test proves little.
    assert tally.valid >= cases // 10, tally
    assert tally.invalid >= cases // 10, tally


# --- schemathesis: bodies valid and invalid by construction --------------------------------

_SCHEMA = schemathesis.openapi.from_path(str(SPEC_PATH))
_OPERATIONS = {
    REQUEST: _SCHEMA[OPERATION_PATH]["POST"],
    PATCH_REQUEST: _SCHEMA[PATCH_PATH]["PATCH"],
}
"""The operation whose request body each request schema is."""


def _json_bodies(mode: GenerationMode, schema: str = REQUEST) -> st.SearchStrategy[Any]:
    return _OPERATIONS[schema].as_strategy(generation_mode=mode).map(lambda case: case.body)


@pytest.mark.parametrize("schema", [REQUEST, PATCH_REQUEST])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_bodies_get_the_spec_verdict(mode: GenerationMode, schema: str) -> None:
    tally = Tally(schema)

    @settings(
        max_examples=SCHEMATHESIS_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_json_bodies(mode, schema))
    def judge(body: Any) -> None:
        if isinstance(body, bytes | bytearray):
            return  # not a JSON document: no schema verdict to compare
        tally.judge(body)

    judge()
    tally.assert_parity()
    if mode is GenerationMode.POSITIVE:
        assert tally.invalid == 0, "schemathesis generated an invalid body in positive mode"
    assert tally.total >= SCHEMATHESIS_CASES // 2


@pytest.mark.parametrize("name", ["request", "200", "409", "patch", "patch 200"])
def test_seed_examples_are_valid_for_both(name: str) -> None:
    schema, where, example_name = {
        "request": (REQUEST, "request", "dockerfileBuild"),
        "200": ("CreateBuildServiceResponse", "200", "dockerfileBuild"),
        "409": ("ErrorResponse", "409", "conflict"),
        "patch": (PATCH_REQUEST, "request", "newDockerfile"),
        "patch 200": ("BuildServiceResponse", "200", "newDockerfile"),
    }[name]
    body = (patch_example if name.startswith("patch") else example)(where, example_name)
    assert oracle_for(schema).is_valid(body)
    assert model_accepts(MODELS[schema], body)


def test_spec_has_the_schemas_compared() -> None:
    assert set(MODELS) <= set(SPEC["components"]["schemas"])


# --- parameters: each operation's <Op>Params, generated by schemathesis --------------------


@cache
def params_oracle(name: str) -> Any:
    """jsonschema-rs over the IR's ``<Op>Params`` schema (the spec's parameters as one object)."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": PARAMETER_COMPONENTS,
        "$ref": f"#/components/schemas/{name}",
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)


# Through JSON: the IR names its schemas with str subclasses, which the oracle refuses as keys.
PARAMETER_COMPONENTS: dict[str, Any] = json.loads(
    json.dumps(with_parameter_models(SPEC_AS_WRITTEN)["components"])
)


def _parameter_operations() -> list[tuple[str, Any]]:
    found = []
    for path, methods in SPEC_AS_WRITTEN["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and "operationId" in operation:
                name = parameters_model_name(operation)
                if name in CHECKS:
                    found.append((name, _SCHEMA[path][method.upper()]))
    return found


PARAMETER_OPERATIONS = _parameter_operations()


def test_every_params_model_is_compared() -> None:
    assert {name for name, _ in PARAMETER_OPERATIONS} == {
        name for name in CHECKS if name.endswith("Params")
    }


@pytest.mark.parametrize(
    ("name", "operation"), PARAMETER_OPERATIONS, ids=[n for n, _ in PARAMETER_OPERATIONS]
)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_parameters_get_the_spec_verdict(
    mode: GenerationMode, name: str, operation: Any
) -> None:
    """Parameters as a caller gives them (typed values by wire name): the oracle, the
    ``<Op>Params`` model and the fast check agree."""
    oracle, model, fast = params_oracle(name), getattr(generated_models, name), CHECKS[name]
    known = set(PARAMETER_COMPONENTS["schemas"][name]["properties"])
    seen: dict[bool, int] = {True: 0, False: 0}
    disagreements: list[str] = []

    @settings(
        max_examples=PARAMETER_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def judge(case: Any) -> None:
        values: dict[str, Any] = {}
        for part in (case.path_parameters, case.query, case.headers):
            values.update({k: v for k, v in (part or {}).items() if k in known})
        expected = oracle.is_valid(values)
        seen[expected] += 1
        for surface, verdict in (("model", model_accepts(model, values)), ("fast", fast(values))):
            if verdict != expected and len(disagreements) < 5:
                disagreements.append(f"spec {expected}, {surface} {verdict}: {values!r}")

    judge()
    assert not disagreements, "\n".join(disagreements)
    assert seen[True] > 0
