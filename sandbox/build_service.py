"""What the API makes of valid requests: a new service's id, placement and status; a put's
replacement; a patch's merge; a list's summary of a service."""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any, Final

from northflank_build.models import CreateBuildServiceRequest

__all__ = [
    "QUEUED",
    "SERVER_FIELDS",
    "derive_service_id",
    "merge_patch",
    "replaced_data",
    "request_fields",
    "service_data",
    "service_summary",
]

# ECMA-262 `\s`, which the spec's name pattern allows between words.
_ECMA_WHITESPACE: Final = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
QUEUED: Final = "QUEUED"
"""The build status of a new service with CI on: its first build is queued."""
SERVER_FIELDS: Final = ("serviceType", "id", "appId", "cluster", "createdAt", "updatedAt", "status")
"""What the server adds to a request to make a service; the rest is the request as sent."""
_BUILD_ENGINES: Final = ("dockerfile", "buildpack")


def derive_service_id(name: str) -> str:
    """The service id the API derives from a name: lowercased, each space turned into ``-``.

    ``"Example Service"`` gives ``example-service``. Any character the name
    pattern accepts as ``\\s`` counts as a space.
    """
    return _ECMA_WHITESPACE.sub("-", name).lower()


def service_data(
    request: CreateBuildServiceRequest, *, project_id: str, account: str, now: str
) -> dict[str, Any]:
    """The response's ``data``: the request as stored, and what the server adds to it."""
    service_id = derive_service_id(request.name)
    namespace = _namespace(account, project_id)
    status: dict[str, Any] = {}
    if request.disabled_ci is not True:
        status["build"] = {"status": QUEUED, "lastTransitionTime": now}
    return {
        **request.model_dump(mode="json"),
        "serviceType": "build",
        "id": service_id,
        "appId": f"/{account}/{project_id}/{service_id}",
        "cluster": {
            "id": "nf-sandbox",
            "name": "nf-sandbox",
            "namespace": f"ns-{namespace}",
            "loadBalancers": ["lb.sandbox.localhost"],
        },
        "createdAt": now,
        "updatedAt": now,
        "status": status,
    }


@functools.lru_cache(maxsize=1024)
def _namespace(account: str, project_id: str) -> str:
    return hashlib.sha256(f"{account}/{project_id}".encode()).hexdigest()[:12]


def request_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A service's definition: its ``data`` without what the server added."""
    return {key: value for key, value in data.items() if key not in SERVER_FIELDS}


def replaced_data(current: dict[str, Any], request: dict[str, Any], *, now: str) -> dict[str, Any]:
    """A service with a new definition: id, appId, cluster and createdAt stay; updatedAt is now.

    The last build's status stays; a service without one (CI was off) gets its first
    build queued when CI is on in the new definition.
    """
    status = dict(current["status"])
    if request.get("disabledCI") is not True and "build" not in status:
        status["build"] = {"status": QUEUED, "lastTransitionTime": now}
    kept = {key: current[key] for key in ("serviceType", "id", "appId", "cluster", "createdAt")}
    return {**request, **kept, "updatedAt": now, "status": status}


def merge_patch(definition: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` merged into ``definition``: objects key by key at every depth; arrays,
    strings, numbers and booleans replace. A patch naming the other build engine in
    ``buildSettings`` switches to it (the old engine's settings are dropped)."""
    merged = _deep_merge(definition, patch)
    settings = patch.get("buildSettings")
    if isinstance(settings, dict):
        named = [engine for engine in _BUILD_ENGINES if engine in settings]
        merged["buildSettings"] = {
            key: value
            for key, value in merged["buildSettings"].items()
            if key not in _BUILD_ENGINES or key in named or not named
        }
    return merged


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def service_summary(data: dict[str, Any], *, project_id: str) -> dict[str, Any]:
    """A service as a list shows it (the spec's ``ServiceSummary``)."""
    summary: dict[str, Any] = {
        "id": data["id"],
        "appId": data["appId"],
        "projectId": project_id,
        "name": data["name"],
        "tags": data.get("tags", []),
    }
    if "description" in data:
        summary["description"] = data["description"]
    return {
        **summary,
        "serviceType": data["serviceType"],
        "disabledCI": data.get("disabledCI") is True,
        "disabledCD": False,
        "status": data["status"],
    }
