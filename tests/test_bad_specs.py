"""Broken specs: exit 2, every problem reported as in the snapshot, nothing written.

Each ``bad_specs/NAME.yaml`` is a trimmed copy of spec/openapi.yaml with one kind
of breakage (its first line says which); ``NAME.expected`` is the stderr it must
produce, with the spec path written as ``<spec>`` and the ``--out`` folder as
``<out>``. Run with ``UPDATE_SNAPSHOTS=1`` to rewrite the snapshots, then review
the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from codegen import validate
from codegen.compose import flatten_all_of
from codegen.load import load_spec
from codegen.validate import validate_spec
from tests.conftest import EVERY_SHAPE_SPEC

BAD_SPECS = Path(__file__).resolve().parent / "bad_specs"
SPECS = sorted(BAD_SPECS.glob("*.yaml"))
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
SENTINEL = "sentinel.txt"


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_bad_spec_is_reported_and_nothing_is_written(spec, tmp_path, run_codegen):
    out = tmp_path / "out"
    out.mkdir()
    (out / SENTINEL).write_text("left alone\n", encoding="utf-8")

    result = run_codegen("--spec", spec, "--out", out)

    assert result.returncode == 2, result.stdout + result.stderr
    stderr = result.stderr.replace(str(spec), "<spec>").replace(str(out), "<out>")
    snapshot = spec.with_suffix(".expected")
    if UPDATE:
        snapshot.write_text(stderr, encoding="utf-8", newline="\n")
    assert snapshot.exists(), f"no snapshot; run with UPDATE_SNAPSHOTS=1 to write {snapshot}"
    assert stderr == snapshot.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "something was left beside --out"
    assert [p.name for p in out.iterdir()] == [SENTINEL]
    assert (out / SENTINEL).read_text(encoding="utf-8") == "left alone\n"


def test_every_snapshot_has_its_spec():
    orphans = [p.name for p in BAD_SPECS.glob("*.expected") if not p.with_suffix(".yaml").exists()]
    assert not orphans


# --- In process: what the snapshots cannot show on their own --------------------------


def _fixture_document() -> dict:
    """The fixture spec as validation sees it: its ``allOf`` schemas already flattened."""
    document, issues = flatten_all_of(load_spec(EVERY_SHAPE_SPEC).document)
    assert issues == []
    return document


def test_the_fixture_spec_with_every_shape_is_valid():
    assert validate_spec(_fixture_document()) == []


def test_parameter_schemas_get_the_pattern_and_enum_checks_of_body_schemas():
    document = _fixture_document()
    rebuild = document["paths"]["/v1/teams/{teamId}/widgets/{widgetId}/rebuild"]["post"]
    rebuild["parameters"][0]["schema"]["maximum"] = 0
    trace = document["paths"]["/v1/teams/{teamId}/widgets"]["get"]["parameters"][4]
    trace["schema"]["pattern"] = "^(?=a)a$"

    issues = [str(issue) for issue in validate_spec(document)]

    assert issues == [
        "error: #/paths/~1v1~1teams~1{teamId}~1widgets/get/parameters/4/schema/pattern:"
        " the models cannot enforce this pattern: lookahead assertions are not supported by"
        " Rust regex: '(?=a)' at offset 1 in ECMA-262 pattern '^(?=a)a$'",
        "error: #/paths/~1v1~1teams~1{teamId}~1widgets~1{widgetId}~1rebuild/post/parameters/0"
        "/schema/enum: no enum value lies within minimum None and maximum 0",
    ]


def test_a_dangling_parameter_ref_hides_nothing_else():
    document = _fixture_document()
    widgets = document["paths"]["/v1/teams/{teamId}/widgets"]
    widgets["parameters"][0]["$ref"] = "#/components/parameters/TeamIdentifier"
    widgets["get"]["x-command-path"] = "get widget"  # getWidget's too
    widgets["post"]["x-required-permission"] = ""

    issues = [str(issue) for issue in validate_spec(document)]

    widgets_at = "#/paths/~1v1~1teams~1{teamId}~1widgets"
    assert issues == [
        f"error: {widgets_at}/get: the path has {{teamId}} but no path parameter 'teamId'",
        f"error: {widgets_at}/parameters/0/$ref: the reference"
        " '#/components/parameters/TeamIdentifier' points at nothing",
        f"error: {widgets_at}/post: the operation has no x-required-permission",
        f"error: {widgets_at}/post: the path has {{teamId}} but no path parameter 'teamId'",
        "error: #/paths/~1v1~1teams~1{teamId}~1widgets~1{widgetId}/get/x-command-path:"
        " the command path 'get widget' is also that of GET /v1/teams/{teamId}/widgets",
    ]


def test_a_check_that_fails_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch):
    def broken_check(document):
        raise RuntimeError("a bug")
        yield  # pragma: no cover - makes it a generator, as the checks are

    monkeypatch.setattr(validate, "CHECKS", (*validate.CHECKS, broken_check))

    issues = validate_spec(_fixture_document())

    assert [str(issue) for issue in issues] == [
        "error: #: the check broken_check stopped: RuntimeError('a bug')"
    ]


# --- The OpenAPI check: at least as strict as openapi-spec-validator -------------------


def _break_info(document):
    del document["info"]["title"]


def _break_parameter_location(document):
    document["components"]["parameters"]["PerPage"]["in"] = "body"


def _break_schema_type(document):
    document["components"]["schemas"]["Slug"]["type"] = "strin"


def _break_schema_keyword_value(document):
    document["components"]["schemas"]["Slug"]["minLength"] = "three"


def _break_response(document):
    widgets = document["paths"]["/v1/teams/{teamId}/widgets"]["get"]
    del widgets["responses"]["200"]["description"]


def _repeat_parameter(document):
    widgets = document["paths"]["/v1/teams/{teamId}/widgets"]["get"]
    widgets["parameters"].append(dict(widgets["parameters"][3]))


def _repeat_tag(document):
    document["tags"] = [{"name": "widgets"}, {"name": "widgets"}]


def _bad_default(document):
    document["components"]["schemas"]["Slug"]["default"] = 42


def _unknown_top_level_key(document):
    document["extras"] = {}


BREAKAGES = [
    _break_info,
    _break_parameter_location,
    _break_schema_type,
    _break_schema_keyword_value,
    _break_response,
    _repeat_parameter,
    _repeat_tag,
    _bad_default,
    _unknown_top_level_key,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.__name__.strip("_") for b in BREAKAGES])
def test_what_openapi_spec_validator_refuses_is_refused(breakage):
    """openapi-spec-validator (the reference, run here only) and our check agree that each
    broken copy is invalid."""
    document = _fixture_document()
    breakage(document)

    reference = list(OpenAPIV31SpecValidator(document).iter_errors())
    ours = list(validate.check_openapi(document))

    assert reference, "the breakage should be invalid OpenAPI 3.1"
    assert ours


def test_the_openapi_check_names_each_place():
    document = _fixture_document()
    _repeat_parameter(document)
    _repeat_tag(document)
    _bad_default(document)
    _break_parameter_location(document)

    issues = [str(issue) for issue in validate.check_openapi(document)]

    assert issues == [
        "error: #/components/parameters/PerPage/in: not valid OpenAPI 3.1:"
        ' "body" is not one of "query", "header" or 2 other candidates',
        "error: #/tags/1/name: not valid OpenAPI 3.1: the tag name 'widgets' is also that of tag 0",
        "error: #/paths/~1v1~1teams~1{teamId}~1widgets/get/parameters/5: not valid OpenAPI 3.1:"
        " the query parameter 'size' is also parameter 3 of this list",
        "error: #/components/schemas/Slug/default: default does not match its schema:"
        ' 42 is not of type "string"',
    ]
