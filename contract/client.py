"""The plain requests the behaviour checks and the clean-up send, through the bounded session."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from contract.traffic import BoundedSession, Exchange

__all__ = ["NO_TOKEN", "ApiClient"]

NO_TOKEN = ""
"""Pass as ``token`` to send no Authorization header at all."""


@dataclass
class ApiClient:
    """The spec's six operations by hand, each answer returned as the recorded `Exchange`."""

    session: BoundedSession
    base_url: str
    project_id: str
    token: str
    create_example: dict[str, Any]
    """A valid create body (the spec's example), renamed for each service a check makes."""

    def body(self, name: str, **changes: Any) -> dict[str, Any]:
        return {**copy.deepcopy(self.create_example), "name": name, **changes}

    def services_url(self, *parts: str) -> str:
        project = quote(self.project_id, safe="")
        tail = "".join(f"/{quote(part, safe='')}" for part in parts)
        return f"{self.base_url.rstrip('/')}/v1/projects/{project}/services{tail}"

    def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> Exchange:
        chosen = self.token if token is None else token
        headers = {"Authorization": f"Bearer {chosen}"} if chosen else {}
        before = len(self.session.exchanges)
        self.session.request(method, url, json=json, params=params, headers=headers)
        assert len(self.session.exchanges) > before, "the session recorded no exchange"
        return self.session.exchanges[-1]

    def create(self, body: Any, *, token: str | None = None) -> Exchange:
        return self.send("POST", self.services_url("build"), json=body, token=token)

    def get(self, service_id: str) -> Exchange:
        return self.send("GET", self.services_url(service_id))

    def delete(self, service_id: str) -> Exchange:
        return self.send("DELETE", self.services_url(service_id))

    def list_page(
        self, *, per_page: int, cursor: str | None = None, token: str | None = None
    ) -> Exchange:
        params: dict[str, Any] = {"per_page": per_page}
        if cursor is not None:
            params["cursor"] = cursor
        return self.send("GET", self.services_url(), params=params, token=token)
