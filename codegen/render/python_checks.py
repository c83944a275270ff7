"""The fast checks of the Python package: each request body and parameters schema
compiled into plain Python that says valid or not, with no pydantic.

``_checks.py`` has one function per schema the clients and the CLI validate (each
``<Op>Params`` and each request model) and per schema those reach: plain
statements, one JSON Schema 2020-12 keyword at a time, with patterns translated
to Python ``re`` by `ecma_regex.to_python_regex`. A function returns ``True`` iff
the value, as ``json.loads`` gives it, is valid under the spec. Values that JSON
cannot hold (a tuple, a ``str`` subclass, a non-string key, NaN) are never valid
here: the caller then asks the models, which also name the failing fields. A
keyword outside `schema_keywords` stops the generator; it is never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from ..ecma_regex import to_python_regex
from ..ir import Api
from ..schema_keywords import ANNOTATIONS, ASSERTIONS, UnsupportedSchema
from ..templating import render_template
from . import RenderedFile
from .compiled_names import CompiledNames, ModuleConstant

__all__ = ["PyCheck", "UnsupportedSchema", "compile_checks", "render_python_checks"]

REF_PREFIX = "#/components/schemas/"

_TYPE_TESTS = {
    "string": "type({v}) is str",
    "integer": "(type({v}) is int or (type({v}) is float and {v}.is_integer()))",
    "number": "(type({v}) is int or (type({v}) is float and isfinite({v})))",
    "boolean": "({v} is True or {v} is False)",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "null": "{v} is None",
}
_TYPED_KEYWORDS = {
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "object": frozenset({"required", "properties", "additionalProperties"}),
    "array": frozenset({"items", "minItems", "maxItems"}),
}
_IS_NUMBER = "(type({v}) is int or (type({v}) is float and isfinite({v})))"
_TYPE_FAILS = {
    "string": "type({v}) is not str",
    "integer": "not {test}".format(test=_TYPE_TESTS["integer"]),
    "number": "not {test}".format(test=_TYPE_TESTS["number"]),
    "boolean": "{v} is not True and {v} is not False",
    "object": "type({v}) is not dict",
    "array": "type({v}) is not list",
    "null": "{v} is not None",
}


@dataclass(frozen=True)
class PyCheck:
    """``def name(v: object) -> bool:`` with ``lines`` as its body (ending in a return)."""

    name: str
    schema: str
    """The component it checks; empty for an inline ``oneOf`` branch."""
    lines: tuple[str, ...]


@dataclass
class _Compiler(CompiledNames):
    schemas: Mapping[str, Any]
    spelling: ClassVar[str] = "_{stem}{number}"
    functions: dict[str, PyCheck] = field(default_factory=dict)
    tables: dict[str, ModuleConstant] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    def function_for(self, name: str) -> str:
        """The function checking component ``name``, compiled once it is first asked for."""
        if name not in self.schemas:
            raise UnsupportedSchema(f"$ref to a missing schema {name!r}")
        function = "is_" + _snake(name)
        if function not in self.functions and name not in self.pending:
            self.pending.append(name)
            where = f"{REF_PREFIX}{name}"
            body = self.schema(self.schemas[name], "v", where)
            self.functions[function] = PyCheck(function, name, (*body, "return True"))
        return function

    # ------------------------------------------------------------------ one schema

    def schema(self, schema: Any, v: str, where: str) -> list[str]:
        """Statements that ``return False`` unless ``v`` is valid under ``schema``."""
        if schema is True or schema == {}:
            return [f"if not is_json({v}):", "    return False"]
        if schema is False:
            return ["return False"]
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"{where}: a schema must be an object or a boolean")
        unknown = {k for k in schema if not k.startswith("x-")} - ASSERTIONS - ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(f"{where}: unsupported keywords {sorted(unknown)}")
        lines: list[str] = []
        if "$ref" in schema:
            target = _ref_name(schema["$ref"])
            lines += [f"if not {self.function_for(target)}({v}):", "    return False"]
        lines += self.anything(schema, v, where)
        kind = schema.get("type")
        if isinstance(kind, list):
            raise UnsupportedSchema(f"{where}: a list of types is not supported")
        if kind is not None:
            if kind not in _TYPE_TESTS:
                raise UnsupportedSchema(f"{where}: unknown type {kind!r}")
            lines += [f"if {_TYPE_FAILS[kind].format(v=v)}:", "    return False"]
            lines += self.typed(schema, str(kind), v, where)
        else:
            if "$ref" not in schema and not {"enum", "const", "oneOf"} & set(schema):
                lines += [f"if not is_json({v}):", "    return False"]
            for name in ("string", "number", "object", "array"):
                if not _TYPED_KEYWORDS[name] & set(schema):
                    continue  # nothing of this type's to check (is_json or $ref did it)
                body = self.typed(schema, name, v, where)
                if body:
                    test = (_IS_NUMBER if name == "number" else _TYPE_TESTS[name]).format(v=v)
                    lines += [f"if {test}:", *_indent(body)]
        return lines

    def anything(self, schema: Mapping[str, Any], v: str, where: str) -> list[str]:
        """``enum``, ``const`` and ``oneOf``: they apply to every type."""
        lines = []
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                lines += [
                    f"if not ({self.one_of_values(values, v, where, key)}):",
                    "    return False",
                ]
        if "oneOf" in schema:
            tests = []
            for index, branch in enumerate(schema["oneOf"]):
                if isinstance(branch, Mapping) and set(branch) == {"$ref"}:
                    function = self.function_for(_ref_name(branch["$ref"]))
                else:
                    function = self.fresh("_branch")
                    body = self.schema(branch, "v", f"{where}/oneOf/{index}")
                    self.functions[function] = PyCheck(function, "", (*body, "return True"))
                tests.append(f"{function}({v})")
            lines += [f"if ({' + '.join(tests)}) != 1:", "    return False"]
        return lines

    def one_of_values(self, values: list[Any], v: str, where: str, key: str) -> str:
        """A test that ``v`` equals one of ``values`` as JSON Schema compares them: ``1``
        equals ``1.0``, never ``true``."""
        strings = [value for value in values if isinstance(value, str)]
        numbers = [
            value
            for value in values
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        tests = []
        if strings:
            literal = self.constant("ALLOWED", _frozenset(strings))
            tests.append(f"(type({v}) is str and {v} in {literal})")
        if numbers:
            literal = self.constant("ALLOWED", _frozenset(numbers))
            tests.append(f"({_IS_NUMBER.format(v=v)} and {v} in {literal})")
        for value in values:
            if value is True or value is False or value is None:
                tests.append(f"{v} is {value!r}")
            elif not isinstance(value, str | int | float):
                raise UnsupportedSchema(f"{where}: {key} with objects or arrays")
        return " or ".join(tests) or "False"

    def typed(self, schema: Mapping[str, Any], kind: str, v: str, where: str) -> list[str]:
        if kind == "string":
            return self.string(schema, v)
        if kind in ("number", "integer"):
            return self.number(schema, v)
        if kind == "object":
            return self.object(schema, v, where)
        if kind == "array":
            return self.array(schema, v, where)
        return []

    def string(self, schema: Mapping[str, Any], v: str) -> list[str]:
        lines = []
        for key, sign in (("minLength", "<"), ("maxLength", ">")):
            if key in schema:
                lines += [f"if len({v}) {sign} {int(schema[key])}:", "    return False"]
        if "pattern" in schema:
            translated = to_python_regex(str(schema["pattern"]))
            regex = self.constant("PATTERN", f"compile({_python_string(translated)})")
            lines += [f"if {regex}.search({v}) is None:", "    return False"]
        return lines

    def number(self, schema: Mapping[str, Any], v: str) -> list[str]:
        lines = []
        for key, fails in (
            ("minimum", "<"),
            ("exclusiveMinimum", "<="),
            ("maximum", ">"),
            ("exclusiveMaximum", ">="),
        ):
            if key in schema:
                lines += [f"if {v} {fails} {json.dumps(schema[key])}:", "    return False"]
        return lines

    def object(self, schema: Mapping[str, Any], v: str, where: str) -> list[str]:
        """Required keys first; then one pass over the keys present, each property's check
        found in a table (absent optional properties cost nothing)."""
        lines = []
        for key in schema.get("required", []):
            lines += [f"if {_python_string(key)} not in {v}:", "    return False"]
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        key, item = self.fresh("key"), self.fresh("item")
        if extra is False:
            other = ["return False"]
        else:
            other = [f"if type({key}) is not str:", "    return False"]
            other += self.schema(extra, item, f"{where}/additionalProperties")
        if not properties:
            if extra is False:
                return [*lines, f"if {v}:", "    return False"]
            return [*lines, f"for {key}, {item} in {v}.items():", *_indent(other)]
        entries = [
            f"{_python_string(name)}: {self.property_check(child, f'{where}/properties/{name}')}"
            for name, child in properties.items()
        ]
        table = self.table("PROPERTIES", "{" + ", ".join(entries) + "}")
        check = self.fresh("check")
        lines += [f"for {key}, {item} in {v}.items():", f"    {check} = {table}.get({key})"]
        if extra is False:
            return [
                *lines,
                f"    if {check} is None or not {check}({item}):",
                "        return False",
            ]
        return [
            *lines,
            f"    if {check} is None:",
            *_indent(other, 2),
            f"    elif not {check}({item}):",
            "        return False",
        ]

    def property_check(self, schema: Any, where: str) -> str:
        """The function that checks one property's value: a component's, or one of its own."""
        if isinstance(schema, Mapping) and "$ref" in schema:
            rest = {k for k in schema if k != "$ref" and not k.startswith("x-")}
            if rest <= ANNOTATIONS:
                return self.function_for(_ref_name(schema["$ref"]))
        function = self.fresh("_property")
        body = self.schema(schema, "v", where)
        self.functions[function] = PyCheck(function, "", (*body, "return True"))
        return function

    def table(self, stem: str, expression: str) -> str:
        """A module-level dict of functions, written after them."""
        name = f"_{stem}{len(self.tables)}"
        self.tables[name] = ModuleConstant(name, expression)
        return name

    def array(self, schema: Mapping[str, Any], v: str, where: str) -> list[str]:
        lines = []
        for key, sign in (("minItems", "<"), ("maxItems", ">")):
            if key in schema:
                lines += [f"if len({v}) {sign} {int(schema[key])}:", "    return False"]
        item = self.fresh("item")
        body = self.schema(schema.get("items", True), item, f"{where}/items")
        lines += [f"for {item} in {v}:", *_indent(body)]
        return lines


def compile_checks(
    schemas: Mapping[str, Any], roots: tuple[str, ...]
) -> tuple[
    tuple[ModuleConstant, ...],
    tuple[PyCheck, ...],
    tuple[ModuleConstant, ...],
    tuple[tuple[str, str], ...],
]:
    """The constants, the functions, the property tables (written after the functions)
    and, per root schema, its function's name."""
    compiler = _Compiler(schemas)
    entry = tuple((root, compiler.function_for(root)) for root in roots)
    return (
        tuple(compiler.constants.values()),
        tuple(compiler.functions.values()),
        tuple(compiler.tables.values()),
        entry,
    )


def render_python_checks(api: Api) -> list[RenderedFile]:
    schemas = json.loads(api.schemas_json)
    roots = sorted(
        {
            name
            for operation in api.operations
            for name in (operation.parameters_model, operation.request_model)
            if name is not None
        }
    )
    constants, checks, tables, entry = compile_checks(schemas, tuple(roots))
    content = render_template(
        "python/_checks.py.jinja",
        api=api,
        constants=constants,
        checks=checks,
        tables=tables,
        entry=entry,
        uses_pattern=any(c.expression.startswith("compile(") for c in constants),
    )
    return [RenderedFile(PurePosixPath("python") / api.package.import_name / "_checks.py", content)]


def _ref_name(ref: str) -> str:
    if not ref.startswith(REF_PREFIX):
        raise UnsupportedSchema(f"only local component references are supported, not {ref!r}")
    return ref[len(REF_PREFIX) :]


def _frozenset(values: list[Any]) -> str:
    return "frozenset({" + ", ".join(_literal(value) for value in values) + "})"


def _literal(value: Any) -> str:
    return _python_string(value) if isinstance(value, str) else json.dumps(value)


def _python_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return ["    " * depth + line for line in lines]
