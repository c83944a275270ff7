"""Part of stage 3: a request body flattened into the fields the CLI offers as flags and prompts.

Every node of the body's schema becomes one `BodyField`, in document order, named
by its JSON path. A ``oneOf`` of objects (``buildSettings``) is one field whose
branches are listed as variants; the branches' properties follow it, each marked
with the variants it belongs to, and a property the branches share
(``storage``) appears once. Flags, help text and offered choices are computed
here, so the CLI template only prints them.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import regress

from .names import split_words
from .schema_keywords import length_words
from .spec_walk import dereference

__all__ = [
    "RESERVED_FLAGS",
    "RESERVED_SHORT_FLAGS",
    "BodyField",
    "allowed_enum",
    "body_fields",
    "constraint_notes",
    "kebab_case",
    "parameter_flags",
]

SCALAR_KINDS = ("string", "integer", "number", "boolean")

RESERVED_FLAGS = frozenset(
    {
        "--all",
        "--base-url",
        "--context",
        "--dry-run",
        "--file",
        "--force",
        "--help",
        "--input",
        "--loadAll",
        "--max-retries",
        "--no-input",
        "--output",
        "--quiet",
        "--skip-validation",
        "--strict",
        "--timeout",
        "--token",
        "--verbose",
        "--yes",
    }
)
"""The options of the CLI's commands (``--all``, ``--force``: of lists and deletes); no flag
of a body field or parameter may take one of these names."""

RESERVED_SHORT_FLAGS = frozenset({"-f", "-h", "-i", "-o", "-q", "-v", "-y"})


@dataclass(frozen=True)
class BodyField:
    """One node of a request body, by its JSON path."""

    path: tuple[str, ...]
    kind: str
    """``object``, ``oneOf``, a scalar kind (``string``, ``integer``, ``number``, ``boolean``),
    ``list`` or ``map`` (of ``item_kind``), or ``json`` for anything else."""
    item_kind: str | None
    """For a ``list`` or ``map``: the scalar kind of its items or values, else ``None``."""
    required: bool
    """Whether its parent object requires it."""
    variants: tuple[int, ...]
    """For a property of a ``oneOf`` branch: the branches that have it; else empty."""
    variant_titles: tuple[str, ...]
    """For a ``oneOf``: each branch's title, for the prompt that chooses one."""
    variant_keys: tuple[tuple[str, ...], ...]
    """For a ``oneOf``: each branch's required properties, which tell a given body's branch."""
    flag: str | None
    """``--build-settings-dockerfile-docker-file-path``; ``None`` where a flag cannot say it."""
    short_flag: str | None
    description: str
    notes: str
    """Required-ness, constraints and an example, in sentences, for help and prompts."""
    choices: tuple[str, ...]
    """The enum values that the field's other constraints allow, as JSON text."""
    example_json: str | None
    """The value at this path in the operation's request example, as JSON text."""
    deprecated: bool

    @property
    def label(self) -> str:
        """``buildSettings.dockerfile.dockerFilePath``."""
        return ".".join(self.path)

    @property
    def help(self) -> str:
        return " ".join(part for part in (self.description, self.notes) if part)


def kebab_case(name: str) -> str:
    """``dockerFilePath`` -> ``docker-file-path``; ``disabledCI`` -> ``disabled-ci``."""
    return "-".join(word.lower() for word in split_words(name))


def parameter_flags(name: str) -> tuple[str, ...]:
    """A parameter's flags: ``projectId`` -> ``--project-id --projectId --project``,
    ``per_page`` -> ``--per-page --per_page``, ``X-Trace-Id`` -> ``--x-trace-id --X-Trace-Id``.

    Only a camelCase id (``projectId``, the official CLI's names) also goes without its ``-id``.
    """
    kebab = kebab_case(name)
    flags = [f"--{kebab}", f"--{name}"]
    if name.endswith("Id") and name.isalnum():
        flags.append(f"--{kebab.removesuffix('-id')}")
    return tuple(dict.fromkeys(flags))


def body_fields(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    example: Any,
    *,
    taken_flags: frozenset[str] = frozenset(),
) -> tuple[BodyField, ...]:
    """The fields of a request body whose schema is ``schema``; ``example`` supplies examples.

    ``taken_flags``: the operation's other flags (its path parameters'), which no field may take.
    """
    fields: dict[tuple[str, ...], BodyField] = {}
    for field in _walk(document, schema, (), required=True, variants=(), chain=()):
        field = replace(field, example_json=_example_at(example, field.path))
        known = fields.get(field.path)
        if known is None:
            fields[field.path] = field
        elif replace(known, variants=()) == replace(field, variants=()):
            fields[field.path] = replace(known, variants=(*known.variants, *field.variants))
        else:
            raise ValueError(f"the oneOf branches disagree on the schema of {field.label}")
    result = _with_short_flags(tuple(fields.values()))
    _check_flags(result, RESERVED_FLAGS | taken_flags)
    return result


def _walk(
    document: Mapping[str, Any],
    node: Mapping[str, Any],
    path: tuple[str, ...],
    *,
    required: bool,
    variants: tuple[int, ...],
    chain: tuple[str, ...],
) -> Iterator[BodyField]:
    """``chain``: the notes on where the field is required (``for a Dockerfile build``)."""
    schema = _merged(document, node)
    kind, item_kind = _kind(document, schema)
    if path:
        yield _field(document, schema, path, kind, item_kind, required, variants, chain)
    if kind == "object":
        needed = set(schema.get("required", []))
        for name, child in schema.get("properties", {}).items():
            yield from _walk(
                document,
                child,
                (*path, name),
                required=name in needed,
                variants=(),
                chain=chain if name in needed else (*chain, "optional"),
            )
    elif kind == "oneOf":
        for index, branch in enumerate(schema["oneOf"]):
            branch_schema = _merged(document, branch)
            needed = set(branch_schema.get("required", []))
            title = str(branch_schema.get("title", f"variant {index + 1}"))
            for name, child in branch_schema.get("properties", {}).items():
                yield from _walk(
                    document,
                    child,
                    (*path, name),
                    required=name in needed,
                    variants=(index,),
                    chain=(*chain, f"for a {title}" if name in needed else "optional"),
                )


def _field(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    path: tuple[str, ...],
    kind: str,
    item_kind: str | None,
    required: bool,
    variants: tuple[int, ...],
    chain: tuple[str, ...],
) -> BodyField:
    branches = [_merged(document, b) for b in schema.get("oneOf", [])] if kind == "oneOf" else []
    flagged = kind in SCALAR_KINDS or (kind in ("list", "map") and item_kind is not None)
    name = path[-1]
    if kind in ("list", "map"):
        name = _singular(name)
    value_schema = _item_schema(document, schema) if kind in ("list", "map") else schema
    return BodyField(
        path=path,
        kind=kind,
        item_kind=item_kind,
        required=required,
        variants=variants,
        variant_titles=tuple(
            str(b.get("title", f"variant {i + 1}")) for i, b in enumerate(branches)
        ),
        variant_keys=tuple(tuple(str(k) for k in b.get("required", [])) for b in branches),
        flag="--" + "-".join([*(kebab_case(p) for p in path[:-1]), kebab_case(name)])
        if flagged
        else None,
        short_flag=None,
        description=_sentence(
            str(schema.get("description") or value_schema.get("description", ""))
        ),
        notes=" ".join(
            _notes(
                schema,
                value_schema,
                path,
                kind=kind,
                flagged=flagged,
                required=required,
                chain=chain,
            )
        ),
        choices=_choices(value_schema) if flagged else (),
        example_json=None,
        deprecated=bool(schema.get("deprecated", False)),
    )


def _merged(document: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """A ``$ref``'s target with the sibling keywords beside the ``$ref`` laid over it."""
    target = dereference(document, node)
    merged = dict(target) if isinstance(target, Mapping) else {}
    merged.update((k, v) for k, v in node.items() if k != "$ref")
    return merged


def _kind(document: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[str, str | None]:
    if "oneOf" in schema:
        return "oneOf", None
    kind = schema.get("type")
    if kind in SCALAR_KINDS:
        return str(kind), None
    if kind == "object" and "properties" in schema:
        return "object", None
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        values = _merged(document, schema["additionalProperties"])
        return "map", _scalar(values)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return "list", _scalar(_merged(document, schema["items"]))
    return "json", None


def _scalar(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    return str(kind) if kind in SCALAR_KINDS and "oneOf" not in schema else None


def _item_schema(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    key = "items" if schema.get("type") == "array" else "additionalProperties"
    return _merged(document, schema[key])


def _singular(name: str) -> str:
    """``tags`` -> ``tag``, ``prRestrictions`` -> ``prRestriction``: one flag per item."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def _notes(
    schema: Mapping[str, Any],
    value_schema: Mapping[str, Any],
    path: tuple[str, ...],
    *,
    kind: str,
    flagged: bool,
    required: bool,
    chain: tuple[str, ...],
) -> Iterator[str]:
    if schema.get("deprecated"):
        yield "Deprecated."
    if required and "optional" not in chain:
        where = [c for c in chain if c != "optional"]
        yield f"Required {' '.join(where)}." if where else "Required."
    elif required:
        yield f"Required in {'.'.join(path[:-1])}."
    if flagged and kind == "list":
        yield "Repeat the flag for each item."
    if flagged and kind == "map":
        yield "Give KEY=VALUE, and repeat the flag for each entry."
    yield from _constraints(value_schema)


def constraint_notes(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """A schema's lengths, pattern and bounds, as sentences for help text."""
    return tuple(_constraints(schema))


def _constraints(schema: Mapping[str, Any]) -> Iterator[str]:
    if (length := length_words(schema)) is not None:
        yield f"{length[0].upper()}{length[1:]}."
    if "pattern" in schema:
        yield f"Must match {schema['pattern']}"
    bounds = [
        (">=", schema.get("minimum")),
        (">", schema.get("exclusiveMinimum")),
        ("<=", schema.get("maximum")),
        ("<", schema.get("exclusiveMaximum")),
    ]
    limits = [f"{sign} {value}" for sign, value in bounds if value is not None]
    if limits and "enum" not in schema:
        yield f"Must be {' and '.join(limits)}."


def _choices(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The enum's values that its schema's other constraints allow, as JSON text."""
    return tuple(
        value if isinstance(value, str) else json.dumps(value) for value in allowed_enum(schema)
    )


def allowed_enum(schema: Mapping[str, Any]) -> list[Any]:
    """The values of ``schema``'s enum that its bounds, lengths and pattern allow."""
    return [value for value in schema.get("enum", []) if _allowed(schema, value)]


def _allowed(schema: Mapping[str, Any], value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        checks = [
            ("minimum", operator.ge),
            ("exclusiveMinimum", operator.gt),
            ("maximum", operator.le),
            ("exclusiveMaximum", operator.lt),
        ]
        return all(bool(check(value, schema[key])) for key, check in checks if key in schema)
    if isinstance(value, str):
        length = len(value)  # JSON Schema counts code points, as Python does
        if length < schema.get("minLength", 0) or length > schema.get("maxLength", length):
            return False
        pattern = schema.get("pattern")
        if pattern is None:
            return True
        matcher = regress.Regex(pattern, "u")  # ECMA-262, as the spec's patterns are
        return bool(matcher.find(value) is not None)
    return True


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _example_at(example: Any, path: tuple[str, ...]) -> str | None:
    node = example
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, Mapping):
        return None
    return json.dumps(node, ensure_ascii=False)


def _with_short_flags(fields: tuple[BodyField, ...]) -> tuple[BodyField, ...]:
    """Top-level flags get their initial as a short flag (``-n``), first come, while free."""
    taken = set(RESERVED_SHORT_FLAGS)
    result = []
    for field in fields:
        short = f"-{field.path[0][0].lower()}" if field.flag and len(field.path) == 1 else None
        if short is not None and short not in taken and short[1:].isalpha():
            taken.add(short)
            field = replace(field, short_flag=short)
        result.append(field)
    return tuple(result)


def _check_flags(fields: tuple[BodyField, ...], reserved: frozenset[str]) -> None:
    seen: dict[str, str] = {}
    for field in fields:
        if field.flag is None:
            continue
        if field.flag in reserved:
            raise ValueError(f"the flag of {field.label}, {field.flag}, is taken by the CLI")
        if field.flag in seen:
            raise ValueError(f"{field.label} and {seen[field.flag]} would share {field.flag}")
        seen[field.flag] = field.label
