"""The spec a run holds the server to, and which of its operations a request was."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

__all__ = ["DEFAULT_SPEC", "Route", "SpecRoutes", "load_spec"]

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def load_spec(path: Path) -> dict[str, Any]:
    """The spec as a dict; a file that is not a YAML mapping is a ValueError naming it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "paths" not in document:
        raise ValueError(f"{path}: not an OpenAPI document (no `paths`)")
    return document


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation_id: str
    literal_segments: int
    """Fixed segments in the template: `/services/build` wins over `/services/{serviceId}`."""


@dataclass(frozen=True)
class SpecRoutes:
    """The spec's operations as routes under a base URL (which may have a path of its own)."""

    base_path: str
    routes: tuple[Route, ...]

    @classmethod
    def of(cls, spec: dict[str, Any], base_url: str) -> SpecRoutes:
        routes = []
        for template, item in spec["paths"].items():
            for method, operation in item.items():
                if method not in _METHODS or not isinstance(operation, dict):
                    continue
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                literal = sum(1 for part in template.split("/") if part and "{" not in part)
                routes.append(
                    Route(method.upper(), re.compile(pattern), operation["operationId"], literal)
                )
        routes.sort(key=lambda route: -route.literal_segments)
        return cls(urlsplit(base_url).path.rstrip("/"), tuple(routes))

    def operation_of(self, method: str, url: str) -> str | None:
        path = unquote(urlsplit(url).path)
        if not path.startswith(self.base_path):
            return None
        path = path[len(self.base_path) :]
        for route in self.routes:
            if route.method == method.upper() and route.pattern.fullmatch(path):
                return route.operation_id
        return None
