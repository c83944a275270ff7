"""Helpers to walk and resolve the parsed spec document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .issues import pointer

__all__ = [
    "components_root",
    "dereference",
    "in_example",
    "iter_nodes",
    "path_pointer",
    "resolve_ref",
]

JsonPath = tuple[str | int, ...]


def iter_nodes(node: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Yield every (path, value) of the document, depth first, in document order."""
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from iter_nodes(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_nodes(value, (*path, index))


def resolve_ref(document: Mapping[str, Any], ref: str) -> Any:
    """The value a local ``$ref`` points at; KeyError if it points nowhere."""
    if not ref.startswith("#"):
        raise KeyError(f"only local references are supported, not {ref!r}")
    node: Any = document
    for raw in ref[1:].split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(f"the reference {ref!r} points at nothing")
    return node


def dereference(document: Mapping[str, Any], node: Any) -> Any:
    """Follow ``$ref`` until a node with content of its own (a schema, parameter, response...)."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node and str(node["$ref"]) not in seen:
        seen.add(str(node["$ref"]))
        node = resolve_ref(document, str(node["$ref"]))
    return node


def components_root(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A standalone JSON Schema 2020-12 document for ``schema`` whose refs still resolve."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document.get("components", {}),
        "allOf": [schema],
    }


def in_example(path: JsonPath) -> bool:
    """Whether ``path`` lies inside an example value, where keys are data, not keywords."""
    return "examples" in path or "example" in path


def path_pointer(path: JsonPath) -> str:
    return pointer(*path)
