"""`allOf` composition: the flattened schema accepts exactly what the spec's own form does.

The spec writes shared fields once (``allOf`` of an open mixin, closed with
``unevaluatedProperties: false``); `codegen.compose` turns each such schema into
one closed object for the surfaces. jsonschema-rs, which implements 2020-12's
``unevaluatedProperties`` itself, judges values against both forms here and
must always agree.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.compose import flatten_all_of
from codegen.load import load_spec
from tests.conftest import EVERY_SHAPE_SPEC
from tests.spec_data import SPEC_PATH, example

SPECS = {"product": SPEC_PATH, "fixture": EVERY_SHAPE_SPEC}


def _validator(document: Mapping[str, Any], name: str) -> Any:
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "$ref": f"#/components/schemas/{name}",
    }
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)


def _composed(path: Path) -> list[tuple[str, Any, Any, list[str]]]:
    """(name, spec's validator, flattened validator, property names) of each composed schema."""
    raw = load_spec(path).document
    flat, issues = flatten_all_of(raw)
    assert not issues
    names = [n for n, s in raw["components"]["schemas"].items() if "allOf" in s]
    return [
        (
            name,
            _validator(raw, name),
            _validator(flat, name),
            list(flat["components"]["schemas"][name]["properties"]),
        )
        for name in names
    ]


COMPOSED = {label: _composed(path) for label, path in SPECS.items()}


def test_the_specs_compose_schemas():
    assert {name for name, *_ in COMPOSED["product"]} == {
        "BuildService",
        "CreateBuildServiceRequest",
    }
    assert {name for name, *_ in COMPOSED["fixture"]} == {"Widget", "WidgetRequest"}


def test_mixins_are_dropped_and_composed_schemas_are_closed():
    flat, _ = flatten_all_of(load_spec(SPEC_PATH).document)
    schemas = flat["components"]["schemas"]
    assert "BuildServiceFields" not in schemas
    for name in ("BuildService", "CreateBuildServiceRequest"):
        assert schemas[name]["additionalProperties"] is False
        assert "allOf" not in schemas[name]
    assert set(schemas["CreateBuildServiceRequest"]["required"]) < set(
        schemas["BuildService"]["required"]
    )


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70000),
    st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=2),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


def _bodies(base: Mapping[str, Any], names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """The valid ``base`` with keys dropped, replaced or added (known names and unknown ones)."""
    keys = st.sampled_from([*names, "unknownKey", "id"])
    return st.builds(
        _mutated,
        st.just(base),
        st.lists(st.tuples(st.sampled_from(["drop", "set"]), keys, _VALUES), max_size=4),
    )


def _mutated(base: Mapping[str, Any], steps: list[tuple[str, str, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(dict(base))
    for action, key, value in steps:
        if action == "drop":
            body.pop(key, None)
        else:
            body[key] = value
    return body


def _case(label: str, name: str) -> tuple[Any, Any, list[str]]:
    _, raw, flat, names = next(c for c in COMPOSED[label] if c[0] == name)
    return raw, flat, names


@pytest.mark.parametrize(
    ("label", "name", "base"),
    [
        ("product", "CreateBuildServiceRequest", example("request", "dockerfileBuild")),
        ("product", "BuildService", example("200", "dockerfileBuild")["data"]),
        ("fixture", "WidgetRequest", {"name": "first-widget", "size": 2, "tags": ["no"]}),
        ("fixture", "Widget", {"id": "first-widget", "name": "first-widget", "size": 2}),
    ],
)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_verdicts_agree(label, name, base, data):
    raw, flat, names = _case(label, name)
    body = data.draw(_bodies(base, names))
    assert raw.is_valid(body) == flat.is_valid(body), body
