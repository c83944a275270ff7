"""Stage 1: read the spec file into a plain JSON-like document."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .issues import SpecError, SpecIssue

__all__ = ["LoadedSpec", "load_spec"]


@dataclass(frozen=True)
class LoadedSpec:
    """The spec as read: its text, its hash and the parsed document."""

    path: Path
    text: str
    document: Mapping[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML 1.2 loader (the core schema) that refuses duplicate keys.

    OpenAPI 3.1 documents are YAML 1.2: ``no``, ``on`` and ``yes`` are strings,
    ``2021-11-29`` is a string, ``012`` is twelve. PyYAML reads YAML 1.1, so its
    implicit types are replaced by the core schema's.
    """


_CLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictCLoader(_CLoader):  # type: ignore[valid-type,misc]
    """`_StrictLoader` with libyaml's parser, where PyYAML has it: the same nodes,
    resolvers and constructors, several times faster. On a YAML error the spec is
    read again with `_StrictLoader`, so messages do not depend on libyaml."""


_LOADERS: tuple[type[yaml.SafeLoader], ...] = (_StrictLoader, _StrictCLoader)

for _loader in _LOADERS:  # each loader's own table of implicit types; the base's stays as it is
    _loader.yaml_implicit_resolvers = {}


_CORE_SCALARS: tuple[tuple[str, str, list[str]], ...] = (
    ("tag:yaml.org,2002:null", r"(?:~|null|Null|NULL|)\Z", [*"~nN", ""]),
    ("tag:yaml.org,2002:bool", r"(?:true|True|TRUE|false|False|FALSE)\Z", [*"tTfF"]),
    ("tag:yaml.org,2002:int", r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z", [*"-+0123456789"]),
    (
        "tag:yaml.org,2002:float",
        r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z",
        [*"-+.0123456789"],
    ),
)
"""(tag, pattern, possible first characters) of the YAML 1.2 core schema's plain scalars;
``""`` is the empty scalar, which is null."""

for _loader in _LOADERS:
    for _tag, _pattern, _first in _CORE_SCALARS:
        _loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _core_int(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _core_float(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower().lstrip("+")
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


for _loader in _LOADERS:
    _loader.add_constructor("tag:yaml.org,2002:int", _core_int)
    _loader.add_constructor("tag:yaml.org,2002:float", _core_float)


def _mapping_without_duplicates(
    loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


for _loader in _LOADERS:
    _loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
    )


def load_spec(path: Path) -> LoadedSpec:
    """Read and parse the spec; raise SpecError if it is not a YAML mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(str(path), [SpecIssue("#", f"cannot read the spec: {err}")]) from err
    try:
        document = _parse(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "unreadable"
        raise SpecError(str(path), [SpecIssue("#", f"not valid YAML{where}: {problem}")]) from err
    except yaml.YAMLError as err:
        raise SpecError(str(path), [SpecIssue("#", f"not valid YAML: {err}")]) from err
    if not isinstance(document, dict):
        raise SpecError(str(path), [SpecIssue("#", "the spec must be a YAML mapping")])
    return LoadedSpec(path=path, text=text, document=document)


def _parse(text: str) -> Any:
    """The document, by libyaml if it can; any error is the pure-Python loader's own."""
    try:
        return yaml.load(text, Loader=_StrictCLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
