"""Stage 1: read the spec file into a plain JSON-like document."""

from __future__ import annotations

import hashlib
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
    """A safe YAML loader that refuses duplicate keys instead of keeping the last."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def load_spec(path: Path) -> LoadedSpec:
    """Read and parse the spec; raise SpecError if it is not a YAML mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(str(path), [SpecIssue("#", f"cannot read the spec: {err}")]) from err
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
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
