"""The sandbox's hand-written constants agree with the spec they implement."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.routing import Route

from sandbox.app import MAX_BODY_BYTES, AppSettings, create_app
from sandbox.secrets_at_rest import SecretBox
from sandbox.sqlite_store import SqliteStore
from sandbox.tokens import CREATE_BUILD_SERVICE, KNOWN_PERMISSIONS
from tests.spec_data import OPERATION, SPEC


def test_permission_is_the_operations() -> None:
    assert OPERATION["x-required-permission"] == CREATE_BUILD_SERVICE


def test_routes_serve_the_specs_operation(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "sandbox.db")
    try:
        app = create_app(store, SecretBox(bytes(32)), AppSettings(account="acct"))
        routes = {route.path: route.methods for route in app.routes if isinstance(route, Route)}
    finally:
        asyncio.run(store.close())
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            assert method.upper() in (routes[path] or set()), operation["operationId"]
            assert operation["x-required-permission"] in KNOWN_PERMISSIONS
    assert set(routes) - {"/openapi.yaml", "/docs"} == set(SPEC["paths"])


def test_every_error_status_the_sandbox_sends_is_documented() -> None:
    documented = set(OPERATION["responses"])
    assert {"400", "401", "403", "404", "409", "413", "415", "429", "500"} <= documented


def test_body_limit_is_one_mebibyte() -> None:
    assert MAX_BODY_BYTES == 1024 * 1024
