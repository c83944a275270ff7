"""Cross-surface parity: five verdicts on every request body must be the same.

Two corpora: the create body's, which is put's body too (test_put_takes_the_create_body
shows it on every surface) and is sent to both, and the patch body's
(``PatchBuildServiceRequest``), built the same way from full patches and sent to a
service made for it. For each body of a corpus (thousands of bodies, valid and invalid,
written once per test session to a JSON file), five surfaces say "valid" or "invalid"
(for the patch corpus, the patch model and validator, and ``PATCH`` in (d)):

(a) the spec: jsonschema-rs over spec/openapi.yaml with ECMA-262 patterns, the
    independent oracle of test_model_parity.py (``tests.spec_data.oracle_for``);
(b) the Python models: ``CreateBuildServiceRequest.model_validate`` on the body
    as ``json.loads`` reads it back from the corpus file;
(b') the Python package's fast check: ``_checks.CHECKS["CreateBuildServiceRequest"]``, the
    plain-Python compilation of the spec that clients and the CLI ask before the models;
(c) the TypeScript package: ``validateCreateBuildServiceRequest`` from its built
    ``dist/esm``, run by one ``node tests/ts/verdicts.mjs CORPUS`` over the file;
(d) a live sandbox (``--rate-limit off``) over real HTTP: 400 with failing fields
    is "invalid"; 200, or 409 for a name another valid body already took, is
    "valid", as is a patch's 400 that comes after its body passed (no field, or
    a change that would make the service invalid). Anything else (a 400 about the
    JSON itself, a 413, a 500) is a verdict of its own, and so a disagreement.

Beyond the verdicts: for every body both find invalid, the TypeScript validator and
``field_errors`` name the same failing paths; and for the buildSettings oneOf classes
(a branch, both, neither, one bad, an extra key) the sandbox's 400 lists exactly
``field_errors``' paths, rules and messages, the one ``exactly one of: dockerfile,
buildpack`` error wherever no single branch is meant.

The corpus is deterministic: the spec's examples; cases at every constraint
boundary, derived by walking a full body with the spec's request schema (lengths
min-1/min/max/max+1, also in astral characters; the ECMA-vs-Python regex traps;
enum values and near-misses; the storageSize enum whose last values are above
its maximum; integers, integral floats, numeric strings and booleans; unknown,
snake_case and missing keys; nulls, wrong types and empty objects at every
level; the buildSettings oneOf; big, nested and oddly keyed maps); seeded
mutations from test_model_parity.py; and a few derandomized schemathesis bodies.

JSON numbers: Node parses every number as a double, Python keeps integers exact.
The corpus keeps integers within +/-2**53 (and floats finite), where both read
the same value; a generated body outside that is dropped, not compared. Strings
are Unicode text: a body with a lone surrogate is dropped too (the sandbox
refuses its ``\\ud800`` escape as malformed JSON, by design; see
test_sandbox_http.py). Every body is smaller than the sandbox's size limit.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from northflank_build import field_errors
from northflank_build._checks import CHECKS
from northflank_build._client import PUT_BUILD_SERVICE
from northflank_build.models import CreateBuildServiceRequest, PatchBuildServiceRequest
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode

from sandbox.app import MAX_BODY_BYTES
from tests.live_sandbox import LiveSandbox, run_bounded
from tests.spec_data import REPO_ROOT, SPEC, example, oracle_for
from tests.test_model_parity import (
    PATCH_REQUEST,
    REQUEST,
    _json_bodies,
    _snake_case,
    mutate,
    patch_example,
    seeds,
)
from tests.typescript_build import node_env

VERDICTS_SCRIPT = Path(__file__).resolve().parent / "ts" / "verdicts.mjs"
PROJECT = "default-project"

MIN_CORPUS = 2_000
MIN_SHARE = 0.15  # of the corpus, for each of valid and invalid
MUTATIONS = 800
SCHEMATHESIS_POSITIVE = 30  # schemathesis costs about 0.1 s a body: a sample only
SCHEMATHESIS_NEGATIVE = 40  # a third to a half of these are not JSON, and are left out
IN_FLIGHT = 16
SANDBOX_SECONDS = 120.0
SHOWN = 20  # disagreements printed on failure

MAX_SAFE_INTEGER = 2**53  # |n| <= 2**53: the same number in Python and in a JS double
VALID, INVALID = "valid", "invalid"
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

# --- the corpus -------------------------------------------------------------------------------

Steps = tuple[str | int, ...]
"""Where a value is in a body: keys and indexes from the top."""

Label = tuple[str, str]
"""A boundary class and the schema location it is at: ``("length:max+1", "$.name")``."""


@dataclass(frozen=True)
class Case:
    """One body, where it came from, what it changes in its base and the classes it exercises."""

    body: Any
    source: str
    labels: tuple[Label, ...] = ()
    note: str = ""

    @property
    def classes(self) -> set[str]:
        return {name for name, _ in self.labels}


def full_bases() -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed example with every optional property set: a Dockerfile and a Buildpack build."""
    dockerfile = example("request", "dockerfileBuild")
    dockerfile["tags"] = ["team-a", "prod"]
    dockerfile["billing"]["gpu"] = {
        "enabled": True,
        "configuration": {"gpuType": "a100", "gpuCount": 2, "timesliced": False},
    }
    dockerfile["infrastructure"] = {"architecture": "x86"}
    dockerfile["disabledCI"] = False
    dockerfile["vcsData"]["selfHostedVcsId"] = "self-hosted-vcs"
    dockerfile["vcsData"]["vcsLinkId"] = "0123456789abcdef01234567"
    dockerfile["buildSettings"]["dockerfile"]["buildkit"] = {
        "useInternalCache": True,
        "internalCacheStorage": 16384,
    }
    dockerfile["buildConfiguration"].update(
        ciIgnoreFlagsEnabled=True,
        dockerfileTarget="runtime",
        includeGitFolder=True,
        fullGitClone=False,
    )
    buildpack = copy.deepcopy(dockerfile)
    buildpack["name"] = "Buildpack Service"
    buildpack["buildSettings"] = {
        "storage": {"ephemeralStorage": {"storageSize": 32768}},
        "buildpack": {
            "builder": "HEROKU_24",
            "buildpackLocators": ["heroku/nodejs"],
            "buildContext": "/app",
            "useCache": True,
        },
    }
    return dockerfile, buildpack


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]], **siblings}
    return schema


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _step(key: str) -> str:
    return f".{key}" if _IDENTIFIER.fullmatch(key) else json.dumps([key])


def _is_map(schema: dict[str, Any]) -> bool:
    return isinstance(schema.get("additionalProperties"), dict)


@dataclass(frozen=True)
class Site:
    """A place in a base body: its path there, its schema location and (resolved) schema."""

    path: Steps
    where: str
    schema: dict[str, Any]


def sites(value: Any, schema: dict[str, Any], path: Steps = (), where: str = "$") -> Iterator[Site]:
    """Every value of a (valid) body, with the schema it is checked against.

    Of an array, only the first item: the others are checked the same way.
    """
    schema = _resolve(schema)
    if "oneOf" in schema:  # the branch whose required key the body has
        schema = next(
            branch
            for branch in map(_resolve, schema["oneOf"])
            if set(branch.get("required", ())) <= set(value)
        )
    yield Site(path, where, schema)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                yield from sites(item, properties[key], (*path, key), where + _step(key))
            else:
                yield from sites(item, schema["additionalProperties"], (*path, key), where + ".*")
    elif isinstance(value, list) and value:
        yield from sites(value[0], schema["items"], (*path, 0), where + "[*]")


def _replace(body: Any, path: Steps, value: Any) -> Any:
    if not path:
        return copy.deepcopy(value)
    body = copy.deepcopy(body)
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = copy.deepcopy(value)
    return body


def _get(body: Any, path: Steps) -> Any:
    for part in path:
        body = body[part]
    return body


def _dump(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[:limit] + "..."


def changes(before: Any, after: Any, where: str = "$") -> Iterator[str]:
    """What ``after`` changes in ``before``, one JSON path at a time."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(key for key in after if key not in before)]:
            here = where + _step(key)
            if key not in after:
                yield f"{here} removed"
            elif key not in before:
                yield f"{here} added {_dump(after[key])}"
            else:
                yield from changes(before[key], after[key], here)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changes(old, new, f"{where}[{index}]")
    elif _dump(before, 10**9) != _dump(after, 10**9):  # 1, 1.0 and true differ here
        yield f"{where}: {_dump(before)} -> {_dump(after)}"


def _note(before: Any, after: Any) -> str:
    return "; ".join(changes(before, after))


# ECMA-262 `\s` has all of Unicode Zs, \ufeff and the line terminators; Python's `\s` and
# str.isspace() differ on \ufeff, \u0085, \u001c-\u001f and \u180e; \u200b is in neither.
WHITESPACE_TRAPS = (
    " \t\n\v\f\u00a0\u1680\u2007\u200a\u2028\u202f\u3000\ufeff\u0085\u001c\u180e\u200b"
)
LINE_TERMINATOR_TRAPS = ("{}\n", "{}\r\n", "{}\r", "{}\u2028", "{}\u2029", "\n{}", "{}\n\n")
DIGIT_TRAPS = ("7", "\u0661", "\u06f1", "\u0966", "\uff11", "\U0001d7d8")  # ASCII, then not
CLASS_CHARS = "[]\\^-_./:?@$~{}*`'\"%&()!,;|+=#<> "  # `[`, `]`, `\`, `^`, `-` inside classes
LETTER_TRAPS = ("\u00e9", "\u212a", "\u017f", "\u00df", "\u0130", "\U0001f432")
ASTRAL = "\U0001f432"  # one code point, two UTF-16 units


def _cases_for_string(value: str, schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "string:empty", ""
    yield "string:long", "a" * 10_000
    yield "string:astral", ASTRAL
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    lengths = {(0, "length:zero")}  # a length can be two boundaries: minLength = maxLength
    if minimum is not None:
        lengths |= {(minimum - 1, "length:min-1"), (minimum, "length:min")}
        lengths |= {(minimum + 1, "length:min+1")}
    if maximum is not None:
        lengths |= {(maximum - 1, "length:max-1"), (maximum, "length:max")}
        lengths |= {(maximum + 1, "length:max+1")}
    for length, name in sorted(lengths):
        if length >= 0:
            yield name, ("A" + "b" * length)[:length] if "pattern" in schema else "a" * length
            yield "length:astral", ASTRAL * length  # code points, not UTF-16 units
            yield "length:astral", ASTRAL * (length // 2)  # as many UTF-16 units as `length`
    if "pattern" not in schema:
        return
    middle = len(value) // 2
    for template in LINE_TERMINATOR_TRAPS:
        yield "pattern:line-terminator", template.format(value)
    for space in WHITESPACE_TRAPS:
        if " " in value:  # between words, where a pattern allows `\s`
            yield "pattern:unicode-whitespace", value.replace(" ", space)
        else:
            yield "pattern:unicode-whitespace", value[:middle] + space + value[middle:]
        yield "pattern:unicode-whitespace", value + space
    for digit in DIGIT_TRAPS:
        yield "pattern:non-ascii-digit", value + digit
        yield "pattern:non-ascii-digit", value[:middle] + digit + value[middle + 1 :]
    for char in CLASS_CHARS:
        yield "pattern:class-punctuation", value[:middle] + char + value[middle:]
    for char in "[]\\^-":
        yield "pattern:class-punctuation", value + char
    for letter in LETTER_TRAPS:
        yield "pattern:non-ascii-letter", value + letter


def _cases_for_enum(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for allowed in schema["enum"]:
        above = "maximum" in schema and allowed > schema["maximum"]
        yield ("enum:above-maximum" if above else "enum:value"), allowed
    for allowed in schema["enum"][:4]:  # near-misses of the first few are enough
        if isinstance(allowed, str):
            for miss in (
                allowed.upper(),
                allowed.lower(),
                allowed.title(),
                allowed + " ",
                " " + allowed,
                allowed + "\n",
                allowed[:-1],
                allowed + "_",
                allowed.replace("_", "-"),
                allowed.replace("-", "_"),
            ):
                if miss != allowed:
                    yield "enum:near-miss", miss
        else:
            yield "enum:near-miss", allowed + 1
            yield "enum:near-miss", allowed - 1
            yield "enum:near-miss", -allowed
            yield "number:integral-float", float(allowed)
            yield "number:fraction", allowed + 0.5
            yield "number:numeric-string", str(allowed)


def _cases_for_number(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for number in (0, 1, -1, 2, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER - 1):
        yield "number:integer", number
    for number in (2.0, -0.0, 0.0, 1e20, 1e300, 16384.0):
        yield "number:integral-float", number
    for number in (2.5, 1e-7, -0.5, 1e-300):
        yield "number:fraction", number
    for text in ("2", "16384", "2.0", "", "0x10"):
        yield "number:numeric-string", text
    yield "number:boolean", True
    yield "number:boolean", False
    if "minimum" in schema:
        low = schema["minimum"]
        yield "bound:minimum-1", low - 1
        yield "bound:minimum", low
    if "maximum" in schema:
        high = schema["maximum"]
        yield "bound:maximum", high
        yield "bound:maximum+1", high + 1


def _cases_for_boolean() -> Iterator[tuple[str, Any]]:
    yield "boolean:value", True
    yield "boolean:value", False
    for text in ("true", "false", "True", "1", ""):
        yield "boolean:string", text
    for number in (1, 0, 1.0):
        yield "boolean:number", number


UNKNOWN_KEYS = ("extra", "__proto__", "constructor", "toString", "hasOwnProperty", "")
ODD_MAP_KEYS = (
    "",
    " ",
    "a.b",
    "/dir/file name",
    "\u00fc",
    ASTRAL,
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "toString",
    "$",
    "[0]",
    'a"b',
    "a\\b",
    "\n",
    "snake_case_key",
    "camelCaseKey",
)


def _sample_entry(schema: dict[str, Any]) -> Any:
    """A valid value of a map's entries."""
    if _resolve(schema).get("type") == "string":
        return "value"
    return {"data": "ZGF0YQ==", "encoding": "base64"}


def _cases_for_object(value: dict[str, Any], schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "empty-object", {}
    if _is_map(schema):
        entry = _sample_entry(schema["additionalProperties"])
        big = {f"KEY_{index}": entry for index in range(400)}
        yield "map:big", big
        bad = dict(big)
        bad["KEY_200"] = 200
        yield "map:big-one-bad", bad
        yield "map:big-one-bad", {**big, "KEY_399": None}
        for key in ODD_MAP_KEYS:
            yield "map:odd-keys", {key: entry}
        yield "map:nested", {"outer": {"inner": entry}}
        yield "map:nested", {"outer": {"data": {"inner": "x"}}}
        deep: Any = entry
        for level in range(64):
            deep = {f"level{level}": deep}
        yield "map:nested", deep
        for wrong in (None, 1, 1.5, True, [], [entry], "string", {}):
            if not _matches_type(wrong, _resolve(schema["additionalProperties"])):
                yield "map:wrong-value", {"KEY": wrong}
        return
    for key in UNKNOWN_KEYS:
        yield "unknown-key", {**value, key: "x"}
    for key in value:
        if key[:1].islower():
            yield "unknown-key", {**value, key[0].upper() + key[1:]: value[key]}
        yield "unknown-key", {**value, key + " ": value[key]}
    for key in value:
        snake = _snake_case(key)
        if snake != key:
            yield "snake-case-key", {(snake if k == key else k): v for k, v in value.items()}
            yield "snake-case-key", {**value, snake: value[key]}  # both spellings
    for key in value:
        required = key in schema.get("required", ())
        yield (
            ("missing-required" if required else "optional-absent"),
            {k: v for k, v in value.items() if k != key},
        )


WRONG_TYPES: tuple[tuple[str, Any], ...] = (
    ("null", None),
    ("wrong-type", 0),
    ("wrong-type", 1.5),
    ("wrong-type", True),
    ("wrong-type", "x"),
    ("wrong-type", "{}"),
    ("wrong-type", []),
    ("wrong-type", {}),
)


def _matches_type(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        (kind == "object" and isinstance(value, dict))
        or (kind == "array" and isinstance(value, list))
        or (kind == "string" and isinstance(value, str))
        or (kind == "boolean" and isinstance(value, bool))
        or (kind in ("integer", "number") and type(value) in (int, float))
    )


def cases_at(site: Site, value: Any) -> Iterator[tuple[str, Any]]:
    """(class, replacement value) pairs for one site of a base body."""
    schema = site.schema
    for name, wrong in WRONG_TYPES:
        if not _matches_type(wrong, schema):
            yield name, wrong
    yield "wrong-type", [value]
    if "enum" in schema:
        yield from _cases_for_enum(schema)
    if schema.get("type") in ("integer", "number"):
        yield from _cases_for_number(schema)
    elif schema.get("type") == "string":
        yield from _cases_for_string(value, schema)
    elif schema.get("type") == "boolean":
        yield from _cases_for_boolean()
    elif schema.get("type") == "array":
        yield "array:empty", []
        yield "array:many", value * 100 if value else ["x"] * 100
        for item in (None, 0, True, [], {}, "x"):
            yield "array:bad-item", [*value, item]
    elif isinstance(value, dict):
        yield from _cases_for_object(value, schema)


def boundary_cases(schema: str = REQUEST) -> Iterator[Case]:
    dockerfile, buildpack = full_bases() if schema == REQUEST else patch_full_bases()
    root = SCHEMAS[schema]
    for base, only in ((dockerfile, None), (buildpack, "buildSettings")):
        for site in sites(base, root):
            if only is not None and site.path[:1] != (only,):
                continue
            value = _get(base, site.path)
            for name, replacement in cases_at(site, value):
                body = _replace(base, site.path, replacement)
                yield Case(body, "boundary", ((name, site.where),), _note(base, body))
    if schema == REQUEST:
        yield from one_of_cases(dockerfile, buildpack)
    else:
        yield from patch_one_of_cases(dockerfile, buildpack)
    for body in (None, [], "", 0, 1.5, True, [dockerfile], "null"):
        yield Case(body, "boundary", (("top-level-non-object", "$"),), f"$: {_dump(body)}")


def one_of_cases(dockerfile: dict[str, Any], buildpack: dict[str, Any]) -> Iterator[Case]:
    docker = dockerfile["buildSettings"]
    pack = buildpack["buildSettings"]
    storage = docker["storage"]
    settings_cases: list[tuple[str, Any]] = [
        ("oneOf:dockerfile", docker),
        ("oneOf:dockerfile", {"dockerfile": docker["dockerfile"]}),
        ("oneOf:dockerfile", {"dockerfile": {"dockerFilePath": "/D", "dockerWorkDir": "/"}}),
        ("oneOf:buildpack", pack),
        ("oneOf:buildpack", {"buildpack": {}}),
        ("oneOf:buildpack", {"buildpack": {}, "storage": {}}),
        ("oneOf:both", {**docker, **pack}),
        ("oneOf:both", {"dockerfile": docker["dockerfile"], "buildpack": {}}),
        ("oneOf:both", {"dockerfile": {}, "buildpack": {}}),
        ("oneOf:both", {"dockerfile": docker["dockerfile"], "buildpack": None}),
        ("oneOf:both", {"dockerfile": None, "buildpack": {}}),
        ("oneOf:neither", {}),
        ("oneOf:neither", {"storage": storage}),
        ("oneOf:neither", {"dockerfile": {}}),
        ("oneOf:neither", {"dockerfile": None}),
        ("oneOf:neither", {"buildpack": None}),
        ("oneOf:neither", {"buildpack": []}),
        ("oneOf:neither", {"Dockerfile": docker["dockerfile"]}),
        ("oneOf:neither", {"docker_file": docker["dockerfile"]}),
        ("oneOf:extra-key", {**docker, "extra": 1}),
        ("oneOf:extra-key", {**pack, "extra": 1}),
        ("oneOf:extra-key", {"buildpack": {}, "builder": "HEROKU_24"}),
        ("oneOf:extra-key", {"dockerfile": docker["dockerfile"], "buildEngine": "kaniko"}),
        ("oneOf:extra-key", {**docker, "__proto__": {}}),
        ("oneOf:one-bad", {"dockerfile": {"dockerFilePath": "Dockerfile", "dockerWorkDir": "/"}}),
        ("oneOf:one-bad", {"dockerfile": {"dockerFilePath": "/D"}}),
        ("oneOf:one-bad", {"dockerfile": {**docker["dockerfile"], "buildEngine": "docker"}}),
        ("oneOf:one-bad", {**pack, "buildpack": {"builder": "HEROKU_1"}}),
        ("oneOf:one-bad", {"buildpack": {"buildpackLocators": "heroku/nodejs"}, "storage": 1}),
    ]
    for name, settings_value in settings_cases:
        body = {**dockerfile, "buildSettings": settings_value}
        yield Case(body, "boundary", ((name, "$.buildSettings"),), _note(dockerfile, body))


def patch_full_bases() -> tuple[dict[str, Any], dict[str, Any]]:
    """A patch of every field the patch body has (the full create bodies less ``name`` and
    ``infrastructure``, which a patch cannot change): to a Dockerfile and to a Buildpack build."""
    bases = []
    for body in full_bases():
        patch = {k: v for k, v in body.items() if k not in ("name", "infrastructure")}
        assert set(patch) == set(SCHEMAS[PATCH_REQUEST]["properties"]), set(patch)
        bases.append(patch)
    return bases[0], bases[1]


def patch_one_of_cases(dockerfile: dict[str, Any], buildpack: dict[str, Any]) -> Iterator[Case]:
    """The patch's own buildSettings oneOf: every Dockerfile field optional, so that
    ``{"dockerfile": {}}`` is a valid change (of nothing), unlike on create."""
    docker, pack = dockerfile["buildSettings"], buildpack["buildSettings"]
    settings_cases: list[tuple[str, Any]] = [
        ("oneOf:dockerfile", docker),
        ("oneOf:dockerfile", {"dockerfile": {}}),
        ("oneOf:dockerfile", {"dockerfile": {"dockerFilePath": "/D"}}),
        ("oneOf:dockerfile", {"dockerfile": {"useCache": True}, "storage": {}}),
        ("oneOf:buildpack", pack),
        ("oneOf:buildpack", {"buildpack": {}}),
        ("oneOf:both", {**docker, **pack}),
        ("oneOf:both", {"dockerfile": {}, "buildpack": {}}),
        ("oneOf:both", {"dockerfile": {}, "buildpack": None}),
        ("oneOf:neither", {}),
        ("oneOf:neither", {"storage": docker["storage"]}),
        ("oneOf:neither", {"dockerfile": None}),
        ("oneOf:neither", {"buildpack": []}),
        ("oneOf:neither", {"Dockerfile": {}}),
        ("oneOf:neither", {"docker_file": docker["dockerfile"]}),
        ("oneOf:extra-key", {**docker, "extra": 1}),
        ("oneOf:extra-key", {"buildpack": {}, "builder": "HEROKU_24"}),
        ("oneOf:extra-key", {"dockerfile": {}, "dockerFilePath": "/D"}),
        ("oneOf:extra-key", {"dockerfile": {}, "__proto__": {}}),
        ("oneOf:one-bad", {"dockerfile": {"dockerFilePath": "D"}}),
        ("oneOf:one-bad", {"buildpack": {"builder": "HEROKU_1"}, "storage": {}}),
    ]
    for name, settings_value in settings_cases:
        body = {**dockerfile, "buildSettings": settings_value}
        yield Case(body, "boundary", ((name, "$.buildSettings"),), _note(dockerfile, body))


def patch_example_cases() -> Iterator[Case]:
    """The spec's patch example, the patch seeds, the full patches, and other examples offered
    as a patch (a create body has `name`, which a patch cannot change: invalid)."""
    label = (("example", "$"),)
    yield Case(patch_example("request", "newDockerfile"), "example", label, "the patch example")
    for seed in seeds(PATCH_REQUEST):
        yield Case(seed, "example", label, "a seed of test_model_parity")
    for base in patch_full_bases():
        yield Case(base, "example", label, "a full patch: every property set")
    yield Case({}, "example", label, "no field: valid, and refused by the sandbox after")
    yield Case(example("request", "dockerfileBuild"), "example", label, "the create example")
    updated = patch_example("200", "newDockerfile")
    yield Case(updated, "example", label, "the patch's 200 example")
    yield Case(updated["data"], "example", label, "the patch's 200 example's data")


def example_cases() -> Iterator[Case]:
    """The spec's examples: the request, and the others offered as a request body."""
    label = (("example", "$"),)
    yield Case(example("request", "dockerfileBuild"), "example", label, "the request example")
    for seed in seeds(REQUEST):
        yield Case(seed, "example", label, "a seed of test_model_parity")
    for base in full_bases():
        yield Case(base, "example", label, "a full body: every optional property set")
    created = example("200", "dockerfileBuild")
    yield Case(created, "example", label, "the 200 example")
    yield Case(created["data"], "example", label, "the 200 example's data")
    added = set(SCHEMAS["BuildService"]["properties"]) - set(SCHEMAS[REQUEST]["properties"])
    request_part = {key: value for key, value in created["data"].items() if key not in added}
    yield Case(request_part, "example", label, "the 200 example's data, less what the server adds")
    responses = SPEC["paths"]["/v1/projects/{projectId}/services/build"]["post"]["responses"]
    for status, name in (("400", "invalidName"), ("409", "conflict")):
        reference = responses[status]["$ref"].rsplit("/", 1)[-1]
        media = SPEC["components"]["responses"][reference]["content"]["application/json"]
        value = copy.deepcopy(media["examples"][name]["value"])
        yield Case(value, "example", label, f"the {status} example")


def mutation_cases(schema: str = REQUEST) -> Iterator[Case]:
    """test_model_parity's seeded mutations, of its seeds and of the full bodies."""
    rng = random.Random("cross-surface-parity" if schema == REQUEST else f"parity-{schema}")
    full = full_bases() if schema == REQUEST else patch_full_bases()
    bases = [*seeds(schema), *full]
    for _ in range(MUTATIONS):
        base = rng.choice(bases)
        body = mutate(rng, base)
        yield Case(body, "mutation", (("mutation", ""),), _note(base, body))


def _schemathesis_bodies(mode: GenerationMode, count: int, schema: str) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_json_bodies(mode, schema))
    def collect(body: Any) -> None:
        if not isinstance(body, bytes | bytearray):  # not a JSON document
            found.append(body)

    collect()
    return found


def schemathesis_cases(schema: str = REQUEST) -> Iterator[Case]:
    """Derandomized schemathesis bodies, valid and invalid by construction (JSON ones only)."""
    for mode, count in (
        (GenerationMode.POSITIVE, SCHEMATHESIS_POSITIVE),
        (GenerationMode.NEGATIVE, SCHEMATHESIS_NEGATIVE),
    ):
        label = ((f"schemathesis:{mode.value}", ""),)
        for body in _schemathesis_bodies(mode, count, schema):
            yield Case(body, "schemathesis", label, f"$: {_dump(body, 300)}")


def portable(body: Any) -> bool:
    """Whether Python and Node read the same value from the body's JSON (see the docstring)."""
    if isinstance(body, bool) or body is None:
        return True
    if isinstance(body, int):
        return -MAX_SAFE_INTEGER <= body <= MAX_SAFE_INTEGER
    if isinstance(body, float):
        return body == body and abs(body) != float("inf")
    if isinstance(body, str):
        try:
            body.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(body, list):
        return all(map(portable, body))
    return all(portable(key) and portable(value) for key, value in body.items())


@dataclass
class Corpus:
    cases: list[Case]  # as read back from the file
    path: Path
    dropped: int  # generated bodies left out as not portable
    schema: str = REQUEST  # the request schema its bodies are for


def build_corpus(folder: Path, schema: str = REQUEST) -> Corpus:
    """The corpus of one request schema: the create body (which put takes too), or the patch's."""
    seen: dict[str, int] = {}
    cases: list[Case] = []
    dropped = 0
    for case in (
        *(example_cases() if schema == REQUEST else patch_example_cases()),
        *boundary_cases(schema),
        *mutation_cases(schema),
        *schemathesis_cases(schema),
    ):
        if not portable(case.body):
            dropped += 1
            continue
        text = json.dumps(case.body, ensure_ascii=False, allow_nan=False)
        assert len(text.encode()) < MAX_BODY_BYTES, case.source
        if text in seen:  # the same JSON text once (key order counts), with all its labels
            first = cases[seen[text]]
            labels = tuple(dict.fromkeys((*first.labels, *case.labels)))
            cases[seen[text]] = Case(first.body, first.source, labels, first.note)
        else:
            seen[text] = len(cases)
            cases.append(case)
    path = folder / f"corpus-{schema}.json"
    path.write_text(
        json.dumps(
            [
                {"source": c.source, "labels": c.labels, "note": c.note, "body": c.body}
                for c in cases
            ],
            ensure_ascii=False,
            allow_nan=False,
        ),
        encoding="utf-8",
    )
    # Every surface judges what the file says, parsed once: the same values for all.
    read = json.loads(path.read_text(encoding="utf-8"))
    labelled = [(c["body"], c["source"], tuple(map(tuple, c["labels"])), c["note"]) for c in read]
    return Corpus([Case(*fields) for fields in labelled], path, dropped, schema)


# --- the verdicts -----------------------------------------------------------------------------


def spec_verdict(body: Any, schema: str = REQUEST) -> str:
    return VALID if oracle_for(schema).is_valid(body) else INVALID


MODELS: dict[str, type[BaseModel]] = {
    REQUEST: CreateBuildServiceRequest,
    PATCH_REQUEST: PatchBuildServiceRequest,
}
VALIDATORS = {
    REQUEST: "validateCreateBuildServiceRequest",
    PATCH_REQUEST: "validatePatchBuildServiceRequest",
}
"""The Python model and the TypeScript validator of each request schema."""


def python_verdict(body: Any, schema: str = REQUEST) -> tuple[str, frozenset[str]]:
    """The models' verdict, and for an invalid body the JSON paths ``field_errors`` names."""
    model = MODELS[schema]
    try:
        model.model_validate(body)
    except ValidationError as error:
        return INVALID, frozenset(f.path for f in field_errors(model, error))
    except Exception as error:  # noqa: BLE001 - a crash is a verdict of its own
        return f"raised {type(error).__name__}", frozenset()
    return VALID, frozenset()


def fast_verdict(body: Any, schema: str = REQUEST) -> str:
    """The generated fast check's verdict (no pydantic)."""
    try:
        return VALID if CHECKS[schema](body) else INVALID
    except Exception as error:  # noqa: BLE001 - a crash is a verdict of its own
        return f"raised {type(error).__name__}"


@dataclass(frozen=True)
class TsVerdict:
    verdict: str
    paths: frozenset[str]


def typescript_verdicts(package: Path, corpus: Corpus) -> list[TsVerdict]:
    done = subprocess.run(
        ["node", str(VERDICTS_SCRIPT), str(corpus.path), VALIDATORS[corpus.schema]],
        env=node_env(NF_TS_PACKAGE=str(package)),
        capture_output=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"node {VERDICTS_SCRIPT.name} failed:\n{done.stderr}"
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(corpus.cases), (len(lines), len(corpus.cases))
    return [TsVerdict(VALID if v["valid"] else INVALID, frozenset(v["paths"])) for v in lines]


def _sandbox_verdict(response: httpx.Response) -> str:
    """The sandbox's verdict, from its answer.

    200, or 409 (the derived id is taken, which is checked after the body): valid.
    400 naming failing fields: invalid; but for the two refusals of a patch that come after
    its body passed (a body with no field, and a change that would make the service
    invalid), which are valid as the schema reads them. Anything else, a 400 about the JSON
    itself included, is no schema verdict, and is reported as it is.
    """
    if response.status_code in (200, 409):
        return VALID
    if response.status_code == 400:
        error = response.json().get("error", {})
        fields = error.get("details", {}).get("fields")
        if error.get("message", "").startswith("The patched service would be invalid"):
            return VALID
        if fields == [{"path": "$", "rule": "minProperties", "message": "Give at least one field"}]:
            return VALID
        if fields:
            return INVALID
        return f"400 {error.get('message', '')[:60]}"
    return f"HTTP {response.status_code}"


@dataclass(frozen=True)
class Operation:
    """An operation whose request bodies the sandbox judges: what it takes, and where."""

    name: str
    schema: str
    method: str
    path: str  # under the sandbox's URL


SERVICES = f"/v1/projects/{PROJECT}/services"
PATCHED = "Patched Service"
OPERATIONS = {
    "create": Operation("create", REQUEST, "POST", f"{SERVICES}/build"),
    "put": Operation("put", REQUEST, "PUT", f"{SERVICES}/build"),
    "patch": Operation("patch", PATCH_REQUEST, "PATCH", f"{SERVICES}/build/patched-service"),
}
"""Put takes the create body (test_put_takes_the_create_body); patch its own, sent to a service
made for it."""


async def _post_all(
    server: LiveSandbox, bodies: list[Any], operation: Operation = OPERATIONS["create"]
) -> list[tuple[str, int]]:
    url = f"{server.url}{operation.path}"
    headers = {**server.headers, "Content-Type": "application/json"}
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def post(body: Any) -> tuple[str, int]:
            content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            async with gate:
                response = await client.request(
                    operation.method, url, content=content, headers=headers
                )
            return _sandbox_verdict(response), response.status_code

        if operation.name == "patch":  # the service every patch changes
            made = await client.post(
                f"{server.url}{SERVICES}/build",
                json={**example("request", "dockerfileBuild"), "name": PATCHED},
                headers=server.headers,
            )
            assert made.status_code == 200, made.text
        return list(await asyncio.gather(*(post(body) for body in bodies)))


# --- fixtures ---------------------------------------------------------------------------------


class Corpora:
    """Each request schema's corpus and its three offline verdicts, made on first use, once
    per test session (per xdist worker)."""

    def __init__(self, folder: Path, package: Callable[[], Path]) -> None:
        self.folder = folder
        self.package = package  # the built TypeScript package, built when first asked for
        self._corpora: dict[str, Corpus] = {}
        self._verdicts: dict[str, Verdicts] = {}

    def corpus(self, schema: str) -> Corpus:
        if schema not in self._corpora:
            self._corpora[schema] = build_corpus(self.folder, schema)
        return self._corpora[schema]

    def verdicts(self, schema: str) -> Verdicts:
        if schema not in self._verdicts:
            cases = self.corpus(schema).cases
            python = [python_verdict(case.body, schema) for case in cases]
            self._verdicts[schema] = Verdicts(
                spec=[spec_verdict(case.body, schema) for case in cases],
                python=[verdict for verdict, _ in python],
                fast=[fast_verdict(case.body, schema) for case in cases],
                python_paths=[paths for _, paths in python],
                typescript=typescript_verdicts(self.package(), self.corpus(schema)),
            )
        return self._verdicts[schema]


@pytest.fixture(scope="session")
def corpora(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Corpora:
    def package() -> Path:
        built: Path = request.getfixturevalue("typescript_package")
        return built

    return Corpora(tmp_path_factory.mktemp("cross-surface"), package)


@pytest.fixture(scope="session")
def corpus(corpora: Corpora) -> Corpus:
    """The create body's corpus."""
    return corpora.corpus(REQUEST)


@dataclass
class Verdicts:
    """Three verdicts on every body of the corpus, in its order; the sandbox's come later."""

    spec: list[str]
    python: list[str]
    fast: list[str]  # the generated fast check's
    python_paths: list[frozenset[str]]  # of an invalid body: the paths field_errors names
    typescript: list[TsVerdict]


# --- the tests --------------------------------------------------------------------------------

REQUIRED_CLASSES = (
    "example",
    "mutation",
    "schemathesis:positive",
    "schemathesis:negative",
    "top-level-non-object",
    *("length:min-1", "length:min", "length:max", "length:max+1", "length:astral"),
    "pattern:line-terminator",
    "pattern:unicode-whitespace",
    "pattern:non-ascii-digit",
    "pattern:class-punctuation",
    "pattern:non-ascii-letter",
    *("enum:value", "enum:near-miss", "enum:above-maximum"),
    *("bound:minimum-1", "bound:minimum", "bound:maximum", "bound:maximum+1"),
    *("number:integer", "number:integral-float", "number:fraction"),
    *("number:numeric-string", "number:boolean"),
    *("boolean:value", "boolean:string", "boolean:number"),
    *("oneOf:dockerfile", "oneOf:buildpack", "oneOf:both", "oneOf:neither", "oneOf:extra-key"),
    "oneOf:one-bad",
    *("unknown-key", "snake-case-key", "missing-required", "null", "wrong-type", "empty-object"),
    *("map:big", "map:big-one-bad", "map:nested", "map:odd-keys", "map:wrong-value"),
)

BOTH = frozenset({VALID, INVALID})
CLASS_VERDICTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "pattern:line-terminator",
            "pattern:unicode-whitespace",
            "pattern:non-ascii-digit",
            "pattern:class-punctuation",
            "length:astral",
            "number:integral-float",
            "number:integer",
        ),
        BOTH,
    ),
    **dict.fromkeys(
        (
            "length:min",
            "length:max",
            "enum:value",
            "bound:minimum",
            "bound:maximum",
            "boolean:value",
            "oneOf:dockerfile",
            "oneOf:buildpack",
            "map:big",
            "map:odd-keys",
        ),
        frozenset({VALID}),
    ),
    **dict.fromkeys(
        (
            "length:min-1",
            "length:max+1",
            "enum:near-miss",
            "enum:above-maximum",
            "bound:minimum-1",
            "bound:maximum+1",
            "number:numeric-string",
            "number:boolean",
            "boolean:string",
            "boolean:number",
            "oneOf:both",
            "oneOf:neither",
            "oneOf:extra-key",
            "oneOf:one-bad",
            "unknown-key",
            "snake-case-key",
            "missing-required",
            "null",
            "top-level-non-object",
            "map:big-one-bad",
            "map:wrong-value",
        ),
        frozenset({INVALID}),
    ),
}
"""The spec verdicts each class must get: a check of the corpus and of the oracle alike."""

# What each schema keyword or shape asks of the corpus, at each place it occurs.
KEYWORD_CLASSES: dict[str, set[str]] = {
    "minLength": {"length:min-1", "length:min"},
    "maxLength": {"length:max", "length:max+1"},
    "pattern": {
        "pattern:line-terminator",
        "pattern:unicode-whitespace",
        "pattern:non-ascii-digit",
        "pattern:class-punctuation",
    },
    "enum": {"enum:value", "enum:near-miss"},
    "minimum": {"bound:minimum-1", "bound:minimum"},
    "maximum": {"bound:maximum", "bound:maximum+1"},
    "integer": {"number:integer", "number:integral-float", "number:numeric-string"},
    "number": {"number:integer", "number:fraction", "number:numeric-string"},
    "boolean": {"boolean:value", "boolean:string"},
    "closed-object": {"unknown-key", "empty-object"},
    "camelCase-keys": {"snake-case-key"},
    "map": {"map:big", "map:nested", "map:odd-keys", "map:wrong-value"},
    "enum-above-maximum": {"enum:above-maximum"},
    "any": {"null", "wrong-type"},
}


def spec_constraints(schema: dict[str, Any], where: str = "$") -> Iterator[tuple[str, str]]:
    """(location, keyword or shape) for everything the request schema constrains."""
    schema = _resolve(schema)
    if where != "$":
        yield where, "any"
    for keyword in ("minLength", "maxLength", "pattern", "enum", "minimum", "maximum"):
        if keyword in schema:
            yield where, keyword
    if schema.get("type") in ("integer", "number", "boolean"):
        yield where, schema["type"]
    if schema.get("enum") and "maximum" in schema and max(schema["enum"]) > schema["maximum"]:
        yield where, "enum-above-maximum"
    for branch in schema.get("oneOf", ()):
        yield from spec_constraints(branch, where)
    properties = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        yield where, "closed-object"
    if any(_snake_case(key) != key for key in properties):
        yield where, "camelCase-keys"
    for key, sub in properties.items():
        yield from spec_constraints(sub, where + _step(key))
    if _is_map(schema):
        yield where, "map"
        yield from spec_constraints(schema["additionalProperties"], where + ".*")
    if "items" in schema:
        yield from spec_constraints(schema["items"], where + "[*]")


SCHEMA_IDS = {REQUEST: "create-and-put-body", PATCH_REQUEST: "patch-body"}
MIN_CORPUS_OF = {REQUEST: MIN_CORPUS, PATCH_REQUEST: MIN_CORPUS // 2}
MIN_COMPARED = {REQUEST: 500, PATCH_REQUEST: 300}  # invalid for both: their failing paths
each_schema = pytest.mark.parametrize("schema", list(SCHEMA_IDS), ids=list(SCHEMA_IDS.values()))


@each_schema
def test_corpus_covers_every_boundary_class(corpora: Corpora, schema: str) -> None:
    corpus = corpora.corpus(schema)
    spec = [spec_verdict(case.body, schema) for case in corpus.cases]
    valid, invalid = spec.count(VALID), spec.count(INVALID)
    classes = Counter(name for case in corpus.cases for name in case.classes)
    sources = Counter(case.source for case in corpus.cases)
    print(f"\n{schema} corpus: {len(corpus.cases)} bodies, {valid} valid, {invalid} invalid (spec)")
    print(f"  by source: {dict(sorted(sources.items()))}")
    print(f"  {corpus.dropped} generated bodies dropped as not portable between Python and JS")
    print("  by class: " + ", ".join(f"{name} {n}" for name, n in sorted(classes.items())))
    assert len(corpus.cases) >= MIN_CORPUS_OF[schema]
    assert min(valid, invalid) >= MIN_SHARE * len(corpus.cases), (valid, invalid)
    assert not [name for name in REQUIRED_CLASSES if classes[name] == 0], classes

    # Every place the schema constrains, reached by the cases its constraints call for.
    covered = {label for case in corpus.cases for label in case.labels}
    wanted = {
        (name, where)
        for where, keyword in spec_constraints(SCHEMAS[schema])
        for name in KEYWORD_CLASSES[keyword]
    }
    missing = sorted(wanted - covered)
    print(f"  {len(wanted)} (class, constrained place) pairs required, {len(missing)} missing")
    assert len(wanted) > 100
    assert not missing, f"{len(missing)} constrained places lack their cases: {missing[:20]}"

    # What each class means, as the spec reads it: some go both ways, others only one.
    for name, meant in CLASS_VERDICTS.items():
        seen = {v for case, v in zip(corpus.cases, spec, strict=True) if name in case.classes}
        assert seen == meant, f"{name}: the spec says {sorted(seen)}, not only {sorted(meant)}"


def _describe(index: int, case: Case) -> str:
    classes = ",".join(f"{name}@{where}" if where else name for name, where in case.labels)
    note = case.note if len(case.note) <= 400 else case.note[:400] + "..."
    return f"#{index} [{case.source}: {classes}] {note}"


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_four_surfaces_agree(
    corpora: Corpora, operation: str, sandbox: LiveSandbox, tmp_path: Path
) -> None:
    """Create and put on the create body's corpus, patch on its own: no body gets two verdicts."""
    target = OPERATIONS[operation]
    corpus, verdicts = corpora.corpus(target.schema), corpora.verdicts(target.schema)
    started = time.monotonic()
    bodies = [case.body for case in corpus.cases]
    live = run_bounded(lambda: _post_all(sandbox, bodies, target), SANDBOX_SECONDS)
    statuses = Counter(status for _, status in live)
    disagree = sum(
        len({s, p, f, ts.verdict, v}) != 1
        for s, p, f, ts, (v, _) in zip(
            verdicts.spec, verdicts.python, verdicts.fast, verdicts.typescript, live, strict=True
        )
    )
    print(
        f"\n{operation}: {len(bodies)} {target.method}s to the sandbox in"
        f" {time.monotonic() - started:.1f} s, {IN_FLIGHT} in flight:"
        f" {dict(sorted(statuses.items()))}; {disagree} bodies with different verdicts"
    )

    table = {
        "spec": verdicts.spec,
        "python": verdicts.python,
        "fast": verdicts.fast,
        "ts": [v.verdict for v in verdicts.typescript],
        "sandbox": [verdict for verdict, _ in live],
    }
    rows = [dict(zip(table, row, strict=True)) for row in zip(*table.values(), strict=True)]
    disagreements = [
        (index, case, row)
        for index, (case, row) in enumerate(zip(corpus.cases, rows, strict=True))
        if len(set(row.values())) != 1
    ]
    if not disagreements:
        return
    report = tmp_path / "disagreements.json"
    report.write_text(
        json.dumps(
            [{"index": i, "verdicts": row, "body": case.body} for i, case, row in disagreements],
            ensure_ascii=True,
            indent=1,
        )
    )
    off = Counter(name for _, _, row in disagreements for name in row if row[name] != row["spec"])
    header = f"{'spec':<8} {'python':<8} {'fast':<8} {'ts':<8} {'sandbox':<8} case"
    shown = [
        f"{row['spec']:<8} {row['python']:<8} {row['fast']:<8} {row['ts']:<8} {row['sandbox']:<8} "
        + _describe(index, case)
        for index, case, row in disagreements[:SHOWN]
    ]
    pytest.fail(
        f"{len(disagreements)} of {len(rows)} bodies get different verdicts; surfaces that"
        f" differ from the spec: {dict(off)}; every body in {report}\n"
        + "\n".join([header, *shown]),
        pytrace=False,
    )


@each_schema
def test_typescript_and_python_name_the_same_failing_paths(corpora: Corpora, schema: str) -> None:
    """Where both find a body invalid, they name the same set of failing fields.

    A oneOf's branches once made these differ; both now report one error at the
    oneOf when no single branch is meant, and the meant branch's own otherwise.
    """
    corpus, verdicts = corpora.corpus(schema), corpora.verdicts(schema)
    compared = 0
    different: list[str] = []
    for index, case in enumerate(corpus.cases):
        ts, python = verdicts.typescript[index], verdicts.python_paths[index]
        if ts.verdict != INVALID or verdicts.python[index] != INVALID:
            continue
        compared += 1
        if ts.paths != python:
            paths = f"ts: {sorted(ts.paths)}\n    python: {sorted(python)}"
            different.append(f"{_describe(index, case)}\n    {paths}")
    print(f"\nfailing paths of {compared} invalid bodies: different sets for {len(different)}")
    assert compared > MIN_COMPARED[schema]
    assert not different, (
        f"{len(different)} invalid bodies for which the TypeScript validator and"
        " field_errors name different failing paths:\n" + "\n".join(different[:SHOWN])
    )


ONE_OF_ERROR = ("$.buildSettings", "oneOf", "exactly one of: dockerfile, buildpack")


def python_field_errors(body: Any, schema: str) -> list[tuple[str, str, str]]:
    model = MODELS[schema]
    try:
        model.model_validate(body)
    except ValidationError as error:
        return [(f.path, f.rule, f.message) for f in field_errors(model, error)]
    return []


def _sandbox_fields(server: LiveSandbox, bodies: list[Any], operation: Operation) -> list[Any]:
    """The sandbox's ``details.fields`` for each body, as (path, rule, message) rows."""
    found = []
    with httpx.Client(headers=server.headers, timeout=30.0) as client:
        if operation.name == "patch":
            body = {**example("request", "dockerfileBuild"), "name": PATCHED}
            made = client.post(f"{server.url}{SERVICES}/build", json=body)
            assert made.status_code == 200, made.text
        for body in bodies:
            response = client.request(operation.method, f"{server.url}{operation.path}", json=body)
            assert response.status_code == 400, response.text
            fields = response.json()["error"]["details"]["fields"]
            found.append([(f["path"], f["rule"], f["message"]) for f in fields])
    return found


@each_schema
def test_one_of_errors_are_the_same_on_every_surface(
    corpora: Corpora, schema: str, sandbox: LiveSandbox
) -> None:
    """Each invalid body of the buildSettings oneOf classes (both branches, neither, one
    bad, an extra key): field_errors, the TypeScript validator and the sandbox's 400 name
    the same failing fields. Where no single branch is meant, that is only the one error
    ``exactly one of: dockerfile, buildpack`` at ``$.buildSettings``; where one is (one
    bad), its own errors, and never the oneOf's."""
    operation = OPERATIONS["create" if schema == REQUEST else "patch"]
    corpus, verdicts = corpora.corpus(schema), corpora.verdicts(schema)
    picked = [
        (index, case)
        for index, case in enumerate(corpus.cases)
        if any(name.startswith("oneOf:") for name in case.classes)
        and verdicts.python[index] == INVALID
    ]
    live = _sandbox_fields(sandbox, [case.body for _, case in picked], operation)
    kinds: Counter[str] = Counter()
    for (index, case), sandbox_errors in zip(picked, live, strict=True):
        python = python_field_errors(case.body, schema)
        where = _describe(index, case)
        assert sandbox_errors == python, where
        assert verdicts.typescript[index].paths == {path for path, _, _ in python}, where
        if ONE_OF_ERROR in python:
            assert python == [ONE_OF_ERROR], where
            kinds["the one oneOf error"] += 1
        else:
            kinds["a branch's own errors"] += 1
        if case.classes & {"oneOf:both"}:
            assert python == [ONE_OF_ERROR], where
        if case.classes & {"oneOf:one-bad"}:
            assert ONE_OF_ERROR not in python, where
    print(f"\n{schema}: oneOf bodies compared on three surfaces: {dict(kinds)}")
    assert kinds["the one oneOf error"] >= 3
    assert kinds["a branch's own errors"] >= 2


# The oracle's reading of the traps, pinned: a mistake all five shared would pass otherwise.
PINNED: tuple[tuple[Steps, Any, bool], ...] = (
    (("name",), "Ab\n", False),  # ECMA `$` does not match before a final newline
    (("name",), "A\u00a0b", True),  # \s is Unicode whitespace
    (("name",), "A\ufeffb", True),  # ...including the BOM, unlike Python's \s
    (("name",), "A\u2028b", True),
    (("name",), "A\u0085b", False),  # NEL is not ECMA whitespace, though Python's
    (("name",), "A\u001cb", False),
    (("name",), "A\u0661", False),  # [0-9] is ASCII only
    (("description",), "a[b]c\\d^e", True),  # `[`, `]`, `\` and `^` in the class
    (("buildConfiguration", "branchRestrictions"), ["a[b"], False),
    (("buildConfiguration", "branchRestrictions"), ["ab\n"], True),  # not in the negated class
    (("vcsData", "vcsLinkId"), ASTRAL * 24, True),  # 24 code points, 48 UTF-16 units
    (("vcsData", "vcsLinkId"), ASTRAL * 12, False),
    (("buildSettings", "storage", "ephemeralStorage", "storageSize"), 65536, True),
    (("buildSettings", "storage", "ephemeralStorage", "storageSize"), 131072, False),
    (("buildSettings", "storage", "ephemeralStorage", "storageSize"), 16384.0, True),
    (("buildSettings", "storage", "ephemeralStorage", "storageSize"), "16384", False),
    (("buildSettings", "storage", "ephemeralStorage", "storageSize"), True, False),
    (("disabledCI",), "true", False),
)


@pytest.mark.parametrize(("path", "value", "valid"), PINNED)
def test_the_oracle_reads_each_trap_as_the_spec_means(path: Steps, value: Any, valid: bool) -> None:
    body = _replace(example("request", "dockerfileBuild"), path, value)
    assert spec_verdict(body) == (VALID if valid else INVALID)
    assert fast_verdict(body) == spec_verdict(body)


def test_put_takes_the_create_body() -> None:
    """Put's body is the create body on every surface, so the create corpus is put's too: the
    spec's reference, the Python endpoint's model and the TypeScript endpoint's validator."""
    paths = SPEC["paths"]["/v1/projects/{projectId}/services/build"]

    def body_schema(method: str) -> Any:
        return paths[method]["requestBody"]["content"]["application/json"]["schema"]

    assert body_schema("put") == body_schema("post") == {"$ref": f"#/components/schemas/{REQUEST}"}
    assert PUT_BUILD_SERVICE.request_model is CreateBuildServiceRequest
    client = (REPO_ROOT / "generated" / "typescript" / "src" / "client.ts").read_text()
    endpoint = re.search(r'operationId: "putBuildService",(?:(?!operationId).)*', client, re.S)
    assert endpoint is not None
    assert "validateRequest: validateCreateBuildServiceRequest," in endpoint[0]


# The patch body's traps, read by the oracle as on create: the same shared schemas.
PATCH_PINNED: tuple[tuple[Steps, Any, bool], ...] = (
    (("description",), "a\n", True),  # `\s` is in the class: a newline is a character
    (("description",), "a\u0085", False),
    (("tags",), ["a-b", "ab\n"], False),
    (("buildSettings",), {"dockerfile": {}}, True),  # nothing required in a patch's engine
    (("buildSettings",), {"dockerfile": {}, "buildpack": {}}, False),
    (("vcsData",), {}, True),
    (("vcsData",), {"vcsLinkId": ASTRAL * 24}, True),  # code points, not UTF-16 units
    (("vcsData",), {"vcsLinkId": ASTRAL * 12}, False),
    (("buildSettings", "storage"), {"ephemeralStorage": {"storageSize": 131072}}, False),
    (("name",), "Another Name", False),  # the id derives from it: no patch changes it
)


@pytest.mark.parametrize(("path", "value", "valid"), PATCH_PINNED)
def test_the_oracle_reads_each_patch_trap_as_the_spec_means(
    path: Steps, value: Any, valid: bool
) -> None:
    body = _replace(patch_example("request", "newDockerfile"), path, value)
    assert spec_verdict(body, PATCH_REQUEST) == (VALID if valid else INVALID)
    assert fast_verdict(body, PATCH_REQUEST) == spec_verdict(body, PATCH_REQUEST)
