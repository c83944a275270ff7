"""The operations of a spec as every stage reads them: methods, command paths, parameters.

A shared leaf: validation and the IR both read operations through these helpers,
so they agree on which operations there are and what each one's parameters are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .names import ClassName
from .spec_walk import dereference

__all__ = [
    "METHODS",
    "PAGINATED_KEY",
    "PAGINATION_QUERY",
    "command_path",
    "iter_operations",
    "parameters_model_name",
    "raw_parameters",
]

PAGINATED_KEY = "x-paginated"
"""The operation extension that marks a list in Northflank's pagination convention."""
PAGINATION_QUERY = ("per_page", "page", "cursor")
"""The query parameters of a paginated list; ``cursor`` moves to the next page."""
METHODS = ("get", "put", "post", "patch", "delete")
"""The HTTP methods an operation may have."""


def iter_operations(
    document: Mapping[str, Any],
) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]:
    """Each (route, method, operation, path item) of the spec, routes sorted, methods in
    `METHODS` order."""
    for route, item in sorted(document.get("paths", {}).items()):
        if not isinstance(item, Mapping):
            continue
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                yield str(route), method, operation, item


def command_path(operation: Mapping[str, Any]) -> tuple[str, ...]:
    """``x-command-path`` as words: written as one string (``create service build``) or a list."""
    raw = operation.get("x-command-path")
    if isinstance(raw, str):
        return tuple(raw.split())
    if isinstance(raw, list):
        return tuple(str(word) for word in raw)
    return ()


def parameters_model_name(operation: Mapping[str, Any]) -> ClassName:
    """``listServices`` -> ``ListServicesParams``: the model of every parameter of the call.

    Not ``...Parameters``: the official JS client names its path parameters' type
    ``ListServicesParameters``, and the TypeScript client keeps that name free.
    """
    return ClassName(f"{operation.get('operationId', '')} params")


def raw_parameters(
    document: Mapping[str, Any], operation: Mapping[str, Any], item: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The operation's parameters, dereferenced: its path's first, its own replacing any
    of the same name and location; then ordered path, query, header."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = _resolved(document, raw)
        merged[(str(parameter.get("name")), str(parameter.get("in")))] = parameter
    order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
    return sorted(merged.values(), key=lambda p: order.get(str(p.get("in")), 4))


def _resolved(document: Mapping[str, Any], node: Any) -> Mapping[str, Any]:
    try:
        resolved = dereference(document, node)
    except KeyError:  # a dangling $ref: validation reports it
        return {}
    return resolved if isinstance(resolved, Mapping) else {}
