"""What creating a build service makes of a valid request: its id, placement and status."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

from northflank_build.models import CreateBuildServiceRequest

__all__ = ["QUEUED", "derive_service_id", "service_data"]

# ECMA-262 `\s`, which the spec's name pattern allows between words.
_ECMA_WHITESPACE: Final = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
QUEUED: Final = "QUEUED"
"""The build status of a new service with CI on: its first build is queued."""


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
    namespace = hashlib.sha256(f"{account}/{project_id}".encode()).hexdigest()[:12]
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
