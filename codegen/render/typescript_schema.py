"""The spec's schemas, compiled for the TypeScript package: type declarations and validators.

`declarations` turns each schema of ``components/schemas`` into a TypeScript
``interface`` or ``type`` with its description as TSDoc. `validators` compiles
each into a checking function: plain statements, one JSON Schema 2020-12
keyword at a time, with patterns as native ECMA-262 ``RegExp`` objects (``u``
flag), so the verdicts are the spec's own. A keyword outside
`schema_keywords` is refused by `validate` first; here it stops the generator,
and is never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..schema_keywords import ANNOTATIONS, ASSERTIONS, UnsupportedSchema, length_words
from .compiled_names import CompiledNames, ModuleConstant

__all__ = [
    "TsCheck",
    "TsDeclaration",
    "TsProperty",
    "UnsupportedSchema",
    "declarations",
    "distinguishing_keys",
    "one_of_message",
    "validators",
]

REF_PREFIX = "#/components/schemas/"
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

_TYPE_TESTS = {
    "string": 'typeof {v} === "string"',
    "integer": 'typeof {v} === "number" && Number.isInteger({v})',
    "number": 'typeof {v} === "number" && Number.isFinite({v})',
    "boolean": 'typeof {v} === "boolean"',
    "object": "isObject({v})",
    "array": "Array.isArray({v})",
    "null": "{v} === null",
}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class TsProperty:
    name: str
    """As a TypeScript property key: bare when an identifier, else quoted."""
    type: str
    optional: bool
    doc: tuple[str, ...]


@dataclass(frozen=True)
class TsDeclaration:
    """``export interface Name { ... }`` (with properties) or ``export type Name = ...``."""

    name: str
    doc: tuple[str, ...]
    """TSDoc lines, ``@deprecated`` included."""
    type: str
    """For a type alias: its type expression; empty for an interface."""
    properties: tuple[TsProperty, ...]
    interface: bool


def declarations(schemas: Mapping[str, Any]) -> tuple[TsDeclaration, ...]:
    """One declaration per schema, in name order."""
    result = []
    for name, schema in sorted(schemas.items()):
        if schema.get("type") == "object" and "properties" in schema:
            required = set(schema.get("required", []))
            properties = tuple(
                TsProperty(
                    name=key if _IDENTIFIER.fullmatch(key) else json.dumps(key),
                    type=_type(child),
                    optional=key not in required,
                    doc=_doc(child, schemas),
                )
                for key, child in schema["properties"].items()
            )
            result.append(TsDeclaration(name, _doc(schema, schemas), "", properties, True))
        else:
            result.append(TsDeclaration(name, _doc(schema, schemas), _type(schema), (), False))
    return tuple(result)


def _type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "enum" in schema:
        admitted = _enum_within_bounds(schema)
        if not admitted:
            return "never"
        return " | ".join(json.dumps(value, ensure_ascii=False) for value in admitted)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "oneOf" in schema:
        return " | ".join(_type(branch) for branch in schema["oneOf"])
    kind = schema.get("type")
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        item = _type(schema.get("items", {}))
        return f"Array<{item}>"
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        members = "; ".join(
            f"{key if _IDENTIFIER.fullmatch(key) else json.dumps(key)}"
            f"{'' if key in required else '?'}: {_type(child)}"
            for key, child in schema["properties"].items()
        )
        return "{ " + members + " }"
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        value = _type(extra) if isinstance(extra, Mapping) else "unknown"
        return f"{{ [key: string]: {value} }}"
    return "unknown"


def _enum_within_bounds(schema: Mapping[str, Any]) -> list[Any]:
    """The enum values that ``minimum``/``maximum`` beside them admit (``[1, 2, 3, 5]`` of
    ``[1, 2, 3, 5, 8]`` with ``maximum: 5``), in spec order: the type says no more."""
    low, high = schema.get("minimum"), schema.get("maximum")
    kept = []
    for value in schema["enum"]:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and ((low is not None and value < low) or (high is not None and value > high)):
            continue
        kept.append(value)
    return kept


def _doc(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> tuple[str, ...]:
    """The description (a ``$ref``'s own, else its target's), constraints, and ``@deprecated``."""
    description = schema.get("description")
    target: Mapping[str, Any] = schema
    if "$ref" in schema:
        target = schemas.get(_ref_name(schema["$ref"]), {})
        description = description or target.get("description")
    lines = [line.rstrip() for line in str(description or "").strip().splitlines()]
    notes = list(_constraint_notes(target if "$ref" in schema else schema))
    if notes:
        lines += ([""] if lines else []) + notes
    if schema.get("deprecated"):
        lines.append("@deprecated")
    return tuple(line.replace("*/", "*\\/") for line in lines)


def _constraint_notes(schema: Mapping[str, Any]) -> Iterator[str]:
    if (length := length_words(schema)) is not None:
        yield f"Length: {length}."
    if "pattern" in schema:
        yield f"Pattern (ECMA-262): `{schema['pattern']}`"
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            yield f"Must be {sign} {schema[key]}."


def _ref_name(ref: str) -> str:
    if not ref.startswith(REF_PREFIX):
        raise UnsupportedSchema(f"only local component references are supported, not {ref!r}")
    return ref[len(REF_PREFIX) :]


# --------------------------------------------------------------------------- validators


@dataclass(frozen=True)
class TsCheck:
    """One schema compiled twice.

    ``is<Schema>(value, open)``: a yes or no that stops at the first violation and
    builds no path, so a valid body costs nothing but the checks;
    ``check<Schema>(value, path, errors, open)``: every violation, each with its JSON
    path, run only once ``is<Schema>`` has said no. With ``open`` true, a property
    that ``additionalProperties: false`` refuses is let through (responses read
    forward-compatibly); every other keyword is checked as ever.
    """

    schema: str
    test_lines: tuple[str, ...]
    check_lines: tuple[str, ...]


@dataclass
class _Compiler(CompiledNames):
    """Statements for one schema, in one of two modes: ``collect`` errors, or return false."""

    collect: bool
    schemas: Mapping[str, Any]
    spelling: ClassVar[str] = "{stem}_{number}"

    def fail(self, errors: str, p: str, rule: str, message: str) -> str:
        """The statement for one violation: push it, or give up at once."""
        if not self.collect:
            return "return false;"
        return f'{errors}.push({{ path: {p}, rule: "{rule}", message: {message} }});'

    def ref(self, name: str, v: str, p: str, errors: str) -> str:
        if not self.collect:
            return f"if (!is{name}({v}, open)) return false;"
        # The yes/no check first: a valid part (most of an invalid body) costs no path
        # strings and no collecting pass.
        return f"if (!is{name}({v}, open)) check{name}({v}, {p}, {errors}, open);"

    # ------------------------------------------------------------------ one schema

    def schema(self, schema: Any, v: str, p: str, errors: str, where: str) -> list[str]:
        """Statements that find every violation of ``schema`` by ``v`` (at path ``p``)."""
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [self.fail(errors, p, "false", '"is not allowed"')]
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"{where}: a schema must be an object or a boolean")
        unknown = {k for k in schema if not k.startswith("x-")} - ASSERTIONS - ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(f"{where}: unsupported keywords {sorted(unknown)}")
        lines: list[str] = []
        if "$ref" in schema:
            lines.append(self.ref(_ref_name(schema["$ref"]), v, p, errors))
        lines += self.anything(schema, v, p, errors, where)
        kind = schema.get("type")
        if isinstance(kind, list):
            raise UnsupportedSchema(f"{where}: a list of types is not supported")
        if kind is not None:
            if kind not in _TYPE_TESTS:
                raise UnsupportedSchema(f"{where}: unknown type {kind!r}")
            test = _TYPE_TESTS[kind].format(v=v)
            message = json.dumps(f"must be {_TYPE_NAMES[kind]}")
            body = self.typed(schema, str(kind), v, p, errors, where)
            if not self.collect:  # the early return narrows the type for what follows
                return [*lines, f"if (!({test})) return false;", *body]
            lines += [f"if (!({test})) {{", f"  {self.fail(errors, p, 'type', message)}"]
            if body:
                lines.append("} else {")
                lines += _indent(body)
            lines.append("}")
        else:
            for kind_name in ("string", "number", "object", "array"):
                body = self.typed(schema, kind_name, v, p, errors, where)
                if body:
                    test = _TYPE_TESTS[kind_name].format(v=v)
                    lines += [f"if ({test}) {{", *_indent(body), "}"]
        return lines

    def anything(
        self, schema: Mapping[str, Any], v: str, p: str, errors: str, where: str
    ) -> list[str]:
        """The keywords that apply to every type: ``enum``, ``const``, ``oneOf``."""
        lines = []
        for key in ("enum", "const"):
            if key not in schema:
                continue
            values = schema[key] if key == "enum" else [schema[key]]
            if any(isinstance(value, Mapping | list) for value in values):
                raise UnsupportedSchema(f"{where}: {key} with objects or arrays")
            literals = ", ".join(json.dumps(value, ensure_ascii=False) for value in values)
            allowed = self.constant("ALLOWED", f"new Set<unknown>([{literals}])")
            message = json.dumps(f"must be one of: {literals}", ensure_ascii=False)
            lines.append(f"if (!{allowed}.has({v})) {self.fail(errors, p, key, message)}")
        if "oneOf" in schema:
            lines += self.one_of(schema["oneOf"], v, p, errors, where)
        return lines

    def one_of(self, branches: list[Any], v: str, p: str, errors: str, where: str) -> list[str]:
        lines = []
        if not self.collect:
            passed = self.fresh("passed")
            lines.append(f"let {passed} = 0;")
            for index, branch in enumerate(branches):
                if isinstance(branch, Mapping) and set(branch) == {"$ref"}:
                    test = f"is{_ref_name(branch['$ref'])}({v}, open)"
                else:  # an inline branch: its statements in a function of their own
                    body = self.schema(branch, v, p, errors, f"{where}/oneOf/{index}")
                    test = "((): boolean => { " + " ".join(body) + " return true; })()"
                lines.append(f"if ({test}) {passed}++;")
            lines.append(f"if ({passed} !== 1) return false;")
            return lines
        names = []
        for index, branch in enumerate(branches):
            name = self.fresh("branch")
            names.append(name)
            lines.append(f"const {name}: FieldError[] = [];")
            lines += self.schema(branch, v, p, name, f"{where}/oneOf/{index}")
        keys = distinguishing_keys([self.resolve(branch) for branch in branches])
        message = json.dumps(one_of_message(keys), ensure_ascii=False)
        lines.append(
            f"exactlyOne({errors}, {p}, [{', '.join(names)}], {json.dumps(keys)}, {message});"
        )
        targets = [
            _ref_name(branch["$ref"])
            for branch in branches
            if isinstance(branch, Mapping) and set(branch) == {"$ref"}
        ]
        if len(targets) < len(branches):
            return lines
        # Each branch a component: when exactly one passes its yes/no check, the oneOf
        # holds and there is nothing to collect (exactlyOne would push nothing).
        passing = " + ".join(f"(is{name}({v}, open) ? 1 : 0)" for name in targets)
        return [f"if ({passing} !== 1) {{", *_indent(lines), "}"]

    def resolve(self, schema: Any) -> Any:
        """``schema`` with its ``$ref`` chain followed to the component it names."""
        while isinstance(schema, Mapping) and "$ref" in schema:
            schema = self.schemas[_ref_name(schema["$ref"])]
        return schema

    def typed(
        self, schema: Mapping[str, Any], kind: str, v: str, p: str, errors: str, where: str
    ) -> list[str]:
        """The keywords that apply to instances of ``kind``, with ``v`` known to be one."""
        if kind == "string":
            return self.string(schema, v, p, errors)
        if kind in ("number", "integer"):
            return self.number(schema, v, p, errors)
        if kind == "object":
            return self.object(schema, v, p, errors, where)
        if kind == "array":
            return self.array(schema, v, p, errors, where)
        return []

    def string(self, schema: Mapping[str, Any], v: str, p: str, errors: str) -> list[str]:
        lines = []
        if "minLength" in schema or "maxLength" in schema:
            length = self.fresh("length")
            lines.append(f"const {length} = codePoints({v});")
            for key, sign, words in (
                ("minLength", "<", "at least"),
                ("maxLength", ">", "at most"),
            ):
                if key in schema:
                    limit = int(schema[key])
                    message = json.dumps(f"must have {words} {limit} characters")
                    lines.append(
                        f"if ({length} {sign} {limit}) {self.fail(errors, p, key, message)}"
                    )
        if "pattern" in schema:
            pattern = str(schema["pattern"])
            regex = self.constant(
                "PATTERN", f'new RegExp({json.dumps(pattern, ensure_ascii=False)}, "u")'
            )
            message = json.dumps(f"must match the ECMA-262 pattern `{pattern}`", ensure_ascii=False)
            lines.append(f"if (!{regex}.test({v})) {self.fail(errors, p, 'pattern', message)}")
        return lines

    def number(self, schema: Mapping[str, Any], v: str, p: str, errors: str) -> list[str]:
        lines = []
        for key, fails, words in (
            ("minimum", "<", ">="),
            ("exclusiveMinimum", "<=", ">"),
            ("maximum", ">", "<="),
            ("exclusiveMaximum", ">=", "<"),
        ):
            if key in schema:
                limit = json.dumps(schema[key])
                message = json.dumps(f"must be {words} {limit}")
                lines.append(f"if ({v} {fails} {limit}) {self.fail(errors, p, key, message)}")
        return lines

    def object(
        self, schema: Mapping[str, Any], v: str, p: str, errors: str, where: str
    ) -> list[str]:
        lines = []
        for key in schema.get("required", []):
            path = f"{p} + {json.dumps(_step(key), ensure_ascii=False)}"
            literal = json.dumps(key, ensure_ascii=False)
            failure = self.fail(errors, path, "required", '"is required"')
            lines.append(f"if (!hasOwn({v}, {literal})) {failure}")
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if not properties and extra is True:
            return lines
        key, item = self.fresh("key"), self.fresh("item")
        cases = []
        for name, child in properties.items():
            path = f"{p} + {json.dumps(_step(name), ensure_ascii=False)}"
            body = self.schema(child, item, path, errors, f"{where}/properties/{name}")
            label = json.dumps(name, ensure_ascii=False)
            cases += [f"case {label}: {{", *_indent(body), "  break;", "}"]
        other_path = f"{p} + pathStep({key})"
        if extra is False:  # refused, unless the caller admits unknown properties (`open`)
            message = '"is not allowed: the schema has no such property"'
            other = [f"if (!open) {self.fail(errors, other_path, 'additionalProperties', message)}"]
        else:
            other = self.schema(extra, item, other_path, errors, f"{where}/additionalProperties")
        if not cases and extra is False and key not in "\n".join(other):
            # A closed object with no properties, asked only yes or no: any key fails it.
            return [*lines, f"if (Object.keys({v}).length > 0) {{", *_indent(other), "}"]
        lines.append(f"for (const {key} of Object.keys({v})) {{")
        if cases or extra is not False:  # a closed object with no properties reads no value
            lines.append(f"  const {item} = {v}[{key}];")
        if cases:
            lines.append(f"  switch ({key}) {{")
            lines += _indent(cases, 2)
            lines.append("    default: {")
            lines += _indent(other, 3)
            lines.append("    }")
            lines.append("  }")
        else:
            lines += _indent(other)
        lines.append("}")
        return lines

    def array(
        self, schema: Mapping[str, Any], v: str, p: str, errors: str, where: str
    ) -> list[str]:
        lines = []
        for key, sign, words in (("minItems", "<", "at least"), ("maxItems", ">", "at most")):
            if key in schema:
                limit = int(schema[key])
                message = json.dumps(f"must have {words} {limit} items")
                lines.append(f"if ({v}.length {sign} {limit}) {self.fail(errors, p, key, message)}")
        if "items" in schema:
            index, item = self.fresh("index"), self.fresh("item")
            body = self.schema(
                schema["items"], item, f'{p} + "[" + {index} + "]"', errors, f"{where}/items"
            )
            if body:
                lines += [f"for (let {index} = 0; {index} < {v}.length; {index}++) {{"]
                lines += [f"  const {item}: unknown = {v}[{index}];", *_indent(body), "}"]
        return lines


def validators(
    schemas: Mapping[str, Any],
) -> tuple[tuple[ModuleConstant, ...], tuple[TsCheck, ...]]:
    """The module-level constants and each schema compiled both ways, in name order."""
    constants: dict[str, ModuleConstant] = {}
    testing = _Compiler(False, schemas, constants=constants)
    checking = _Compiler(True, schemas, constants=constants)
    checks = []
    for name, schema in sorted(schemas.items()):
        where = f"#/components/schemas/{name}"
        test_lines = testing.schema(schema, "value", '""', "errors", where)
        check_lines = checking.schema(schema, "value", "path", "errors", where)
        checks.append(TsCheck(name, tuple(test_lines), tuple(check_lines)))
    return tuple(constants.values()), tuple(checks)


def distinguishing_keys(branches: list[Any]) -> list[list[str]]:
    """Each ``oneOf`` branch's required properties that not every branch requires, in
    property order: what tells the branches apart (``dockerfile``, ``buildpack``)."""
    required = [_required_in_order(branch) for branch in branches]
    shared = set.intersection(*(set(keys) for keys in required)) if required else set()
    return [[key for key in keys if key not in shared] for keys in required]


def one_of_message(keys: list[list[str]]) -> str:
    """The one error of a ``oneOf`` that no single branch answers, as every surface words it:
    each branch by its distinguishing keys (``+`` between several), ``object`` if none."""
    return "exactly one of: " + ", ".join("+".join(own) or "object" for own in keys)


def _required_in_order(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    required = set(schema.get("required", []))
    return [key for key in schema.get("properties", {}) if key in required]


def _step(key: str) -> str:
    """The JSON path step the runtime's ``pathStep`` would give, computed here for known keys."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f".{key}"
    return '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return [("  " * depth + line) if line else line for line in lines]
