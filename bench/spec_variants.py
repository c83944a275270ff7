"""The product spec cut down to some of its operations.

The codegen benchmark times ``python -m codegen`` on the product spec (six
operations) and on it cut down to createBuildService alone, to show that the
time per operation does not grow; ``tests/test_every_shape_codegen.py`` grows
the one-operation spec by the three read and delete operations, as a user
adding them by hand would.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["METHODS", "with_operations"]

METHODS = ("get", "put", "post", "patch", "delete")


def with_operations(document: Mapping[str, Any], operation_ids: Iterable[str]) -> dict[str, Any]:
    """A copy of ``document`` holding only the operations named, in their path items.

    Response links are left out: they may name an operation that is gone.
    """
    kept = set(operation_ids)
    result = copy.deepcopy(dict(document))
    paths: dict[str, Any] = {}
    for route, item in result["paths"].items():
        operations = {
            method: operation
            for method, operation in item.items()
            if method in METHODS and operation.get("operationId") in kept
        }
        if operations:
            shared = {key: value for key, value in item.items() if key not in METHODS}
            paths[route] = {**shared, **operations}
    found = {op["operationId"] for item in paths.values() for m, op in item.items() if m in METHODS}
    if found != kept:
        raise KeyError(f"no such operations in the spec: {sorted(kept - found)}")
    result["paths"] = paths
    for item in paths.values():
        for method in METHODS:
            for response in item.get(method, {}).get("responses", {}).values():
                response.pop("links", None)
    return result
