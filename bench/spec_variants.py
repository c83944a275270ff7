"""The product spec with more operations, in the shapes the generator supports.

The codegen benchmark times ``python -m codegen`` on the product spec (one
operation) and on this variant (six), to show that the time per operation does
not grow; ``tests/test_every_shape_codegen.py`` generates a variant too. Each
added operation has the security, error responses and extensions of the
product's own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["EXTRA_OPERATIONS", "with_more_operations"]

Document = dict[str, Any]

PRODUCT_PATH = "/v1/projects/{projectId}/services/build"
SERVICES = "/v1/projects/{projectId}/services"
SERVICE = "/v1/projects/{projectId}/services/{serviceId}"
SCHEMAS = "#/components/schemas/"
ERRORS = ("400", "401", "403", "404", "409", "413", "415", "429", "500")


def _operation(
    product: Mapping[str, Any],
    operation_id: str,
    command: str,
    permission: str,
    status: str,
    schema: str | None,
    path_parameters: tuple[Any, ...],
    **extra: Any,
) -> Document:
    """An operation shaped like the product's, with its own success response."""
    success = copy.deepcopy(product["responses"]["200"])
    success["description"] = f"The result of {command}."
    if schema is None:
        success.pop("content", None)
    else:
        success["content"] = {"application/json": {"schema": {"$ref": f"{SCHEMAS}{schema}"}}}
    extra_parameters = extra.pop("parameters", [])
    return {
        "operationId": operation_id,
        "tags": copy.deepcopy(product.get("tags", [])),
        "summary": command.capitalize(),
        "description": f"The {command} operation (a benchmark and test variant).",
        "x-required-permission": permission,
        "x-command-path": command,
        "security": copy.deepcopy(product.get("security", [])),
        "parameters": [*copy.deepcopy(path_parameters), *extra_parameters],
        **extra,
        "responses": {
            status: success,
            **{code: copy.deepcopy(product["responses"][code]) for code in ERRORS},
        },
    }


def _query(name: str, description: str, schema: Document) -> Document:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _list_services(product: Mapping[str, Any], project: Any, _: Any) -> tuple[str, str, Document]:
    pagination = [
        _query("per_page", "The number of results per page.", {"type": "integer", "minimum": 1}),
        _query("page", "The page number to access.", {"type": "integer", "minimum": 1}),
        _query("cursor", "The cursor of the next page.", {"type": "string"}),
    ]
    operation = _operation(
        product,
        "listServices",
        "list services",
        "Project > Services > General > Read",
        "200",
        "ListServicesResponse",
        (project,),
        parameters=pagination,
    )
    operation["x-paginated"] = True
    return SERVICES, "get", operation


def _get_service(
    product: Mapping[str, Any], project: Any, service: Any
) -> tuple[str, str, Document]:
    operation = _operation(
        product,
        "getService",
        "get service",
        "Project > Services > General > Read",
        "200",
        "CreateBuildServiceResponse",
        (project, service),
    )
    return SERVICE, "get", operation


def _delete_service(
    product: Mapping[str, Any], project: Any, service: Any
) -> tuple[str, str, Document]:
    flag = _query("delete_child_objects", "Also delete what it owns.", {"type": "boolean"})
    operation = _operation(
        product,
        "deleteService",
        "delete service",
        "Project > Services > General > Delete",
        "204",
        None,
        (project, service),
        parameters=[flag],
    )
    return SERVICE, "delete", operation


def _patch_service(
    product: Mapping[str, Any], project: Any, service: Any
) -> tuple[str, str, Document]:
    body = {
        "required": False,
        "content": {"application/json": {"schema": {"$ref": f"{SCHEMAS}PatchServiceRequest"}}},
    }
    operation = _operation(
        product,
        "patchService",
        "patch service",
        "Project > Services > General > Update",
        "200",
        "CreateBuildServiceResponse",
        (project, service),
        requestBody=body,
    )
    return SERVICE, "patch", operation


def _restart_service(
    product: Mapping[str, Any], project: Any, service: Any
) -> tuple[str, str, Document]:
    operation = _operation(
        product,
        "restartService",
        "restart service",
        "Project > Services > General > Update",
        "202",
        "CreateBuildServiceResponse",
        (project, service),
    )
    return f"{SERVICE}/restart", "post", operation


Maker = Callable[[Mapping[str, Any], Any, Any], tuple[str, str, Document]]

EXTRA_OPERATIONS: tuple[Maker, ...] = (
    _list_services,
    _get_service,
    _delete_service,
    _patch_service,
    _restart_service,
)
"""In the order they are added: a paginated GET, a GET, a 204 DELETE, a PATCH with an
optional body, a POST without a body answered 202."""

EXTRA_SCHEMAS: Document = {
    "ServiceList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["services"],
        "properties": {"services": {"type": "array", "items": {"$ref": f"{SCHEMAS}BuildService"}}},
    },
    "Pagination": {
        "type": "object",
        "additionalProperties": False,
        "required": ["hasNextPage", "count"],
        "properties": {
            "hasNextPage": {"type": "boolean", "description": "Is there another page?"},
            "cursor": {"type": "string", "description": "The cursor of the next page."},
            "count": {"type": "integer", "description": "How many results this page holds."},
        },
    },
    "ListServicesResponse": {
        "type": "object",
        "additionalProperties": False,
        "required": ["data", "pagination"],
        "properties": {
            "data": {"$ref": f"{SCHEMAS}ServiceList"},
            "pagination": {"$ref": f"{SCHEMAS}Pagination"},
        },
    },
    "PatchServiceRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"description": {"$ref": f"{SCHEMAS}ServiceDescription"}},
    },
}


def with_more_operations(document: Mapping[str, Any], count: int) -> Document:
    """A copy of the product spec with the first ``count`` of `EXTRA_OPERATIONS` added."""
    if not 0 <= count <= len(EXTRA_OPERATIONS):
        raise ValueError(f"count must be 0 to {len(EXTRA_OPERATIONS)}")
    result: Document = copy.deepcopy(dict(document))
    product = result["paths"][PRODUCT_PATH]["post"]
    project = next(p for p in product["parameters"] if p.get("name") == "projectId")
    service = {
        "name": "serviceId",
        "in": "path",
        "required": True,
        "description": "ID of the service",
        "schema": {"$ref": f"{SCHEMAS}ResourceSlug"},
    }
    for make in EXTRA_OPERATIONS[:count]:
        route, method, operation = make(product, project, service)
        result["paths"].setdefault(route, {})[method] = operation
    result["components"]["schemas"].update(copy.deepcopy(EXTRA_SCHEMAS))
    return result
