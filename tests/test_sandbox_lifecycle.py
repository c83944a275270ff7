"""The build-service lifecycle against the live sandbox over HTTP: list, get, put, patch, delete.

Each operation's happy path and errors, permissions per operation and per project, put's
idempotence under concurrency, patch's merge, and a property test of list pagination: random
interleavings of creates, deletes and page walks never repeat an item in a walk and never
skip one that existed for the whole walk.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.sqlite_store import SqliteAdminStore, SqliteStore
from sandbox.tokens import CREATE_SERVICE, DELETE_SERVICE, READ_SERVICE, UPDATE_SERVICE
from tests.live_sandbox import LiveSandbox, create_body, run_bounded, start_sandbox
from tests.spec_data import SPEC, oracle_for
from tests.test_sandbox_http import assert_error, cli, cli_token, read_db

PROJECT = "default-project"
OTHER_PROJECT = "other-project"
SERVER_FIELDS = {"serviceType", "id", "appId", "cluster", "createdAt", "updatedAt", "status"}
_names = itertools.count()


def unique_name(prefix: str = "Svc") -> str:
    return f"{prefix} {next(_names)}"


def service_id(name: str) -> str:
    return name.lower().replace(" ", "-")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    server = start_sandbox(tmp_path_factory.mktemp("lifecycle"), "--quiet", "--rate-limit", "off")
    try:
        assert cli(server.db, "project", "create", OTHER_PROJECT).returncode == 0
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(live: LiveSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{live.url}/v1/projects/{PROJECT}", headers=live.headers, timeout=30
    ) as client:
        yield client


def created(api: httpx.Client, name: str | None = None, **changes: Any) -> dict[str, Any]:
    response = api.post("/services/build", json={**create_body(name or unique_name()), **changes})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def assert_schema(schema: str, instance: Any) -> None:
    errors = [error.message for error in oracle_for(schema).iter_errors(instance)]
    assert not errors, errors


def definition(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in SERVER_FIELDS}


# --- the chain the spec's links describe ----------------------------------------------------


def test_create_get_patch_get_delete_get_create(api: httpx.Client) -> None:
    name = unique_name("Chain")
    made = created(api, name)
    sid = made["id"]

    got = api.get(f"/services/{sid}")
    assert got.status_code == 200
    assert_schema("BuildServiceResponse", got.json())
    assert got.json()["data"] == made

    patched = api.patch(f"/services/build/{sid}", json={"description": "Patched"})
    assert patched.status_code == 200, patched.text
    assert_schema("BuildServiceResponse", patched.json())
    after = patched.json()["data"]
    assert after["description"] == "Patched"
    assert after["createdAt"] == made["createdAt"]
    assert api.get(f"/services/{sid}").json()["data"] == after

    deleted = api.delete(f"/services/{sid}")
    assert deleted.status_code == 200
    assert deleted.json() == {"data": {}}
    assert_schema("DeleteServiceResponse", deleted.json())
    assert "does not exist" in assert_error(api.get(f"/services/{sid}"), 404)["message"]
    assert created(api, name)["id"] == sid


def test_the_spec_links_the_chain() -> None:
    paths = SPEC["paths"]
    create_links = paths["/v1/projects/{projectId}/services/build"]["post"]["responses"]["200"]
    targets = {link["operationId"] for link in create_links["links"].values()}
    assert targets == {"getService", "patchBuildService", "deleteService"}
    for link in create_links["links"].values():
        assert link["parameters"]["serviceId"] == "$response.body#/data/id"


# --- get and delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_service_is_not_found(api: httpx.Client, method: str) -> None:
    response = api.request(method, "/services/no-such-service")
    assert "no-such-service" in assert_error(response, 404)["message"]


def test_unknown_project_is_not_found(live: LiveSandbox) -> None:
    with httpx.Client(base_url=f"{live.url}/v1/projects/nope-project", headers=live.headers) as c:
        for response in (
            c.get("/services"),
            c.get("/services/x"),
            c.delete("/services/x"),
            c.put("/services/build", json=create_body("Nope")),
            c.patch("/services/build/x", json={"description": "x"}),
        ):
            assert "nope-project" in assert_error(response, 404)["message"]


def test_delete_accepts_delete_child_objects(api: httpx.Client) -> None:
    sid = created(api)["id"]
    bad = api.delete(f"/services/{sid}", params={"delete_child_objects": "maybe"})
    assert assert_error(bad, 400)["details"]["fields"][0]["path"] == "$.delete_child_objects"
    assert api.delete(f"/services/{sid}", params={"delete_child_objects": "true"}).json() == {
        "data": {}
    }
    assert_error(api.delete(f"/services/{sid}"), 404)


def test_delete_removes_the_sealed_secrets(live: LiveSandbox, api: httpx.Client) -> None:
    sid = created(api)["id"]  # the seed example has build files and secret mounts
    query = f"SELECT sealed_secrets FROM services WHERE id = '{sid}'"
    [(sealed,)] = read_db(live.db, query)
    assert sealed
    assert api.delete(f"/services/{sid}").status_code == 200
    assert read_db(live.db, query) == []


# --- put -----------------------------------------------------------------------------------


def test_put_creates_then_is_idempotent_then_replaces(live: LiveSandbox, api: httpx.Client) -> None:
    name = unique_name("Put")
    body = create_body(name)
    first = api.put("/services/build", json=body)
    assert first.status_code == 200, first.text
    assert_schema("BuildServiceResponse", first.json())
    again = api.put("/services/build", json=body)
    assert again.json() == first.json()
    rows = read_db(live.db, f"SELECT count(*) FROM services WHERE id = '{service_id(name)}'")
    assert rows == [(1,)]

    changed = {**body, "description": "Replaced", "tags": ["one"]}
    del changed["buildFiles"]
    replaced = api.put("/services/build", json=changed).json()["data"]
    assert definition(replaced) == changed
    assert replaced["createdAt"] == first.json()["data"]["createdAt"]
    assert replaced["id"] == first.json()["data"]["id"]
    [(sealed,)] = read_db(
        live.db, f"SELECT sealed_secrets FROM services WHERE id = '{service_id(name)}'"
    )
    assert sealed  # the secret mounts are still there; the build files are gone
    assert "buildFiles" not in api.get(f"/services/{replaced['id']}").json()["data"]


def test_put_validates_like_create(api: httpx.Client) -> None:
    error = assert_error(api.put("/services/build", json={**create_body("x"), "name": "-xyz"}), 400)
    assert {(f["path"], f["rule"]) for f in error["details"]["fields"]} == {("$.name", "pattern")}
    assert_error(
        api.put("/services/build", content=b"{}", headers={"content-type": "text/plain"}), 415
    )


def test_concurrent_puts_leave_one_whole_body(live: LiveSandbox) -> None:
    name = unique_name("Race")
    bodies = [
        {**create_body(name), "description": f"Writer {n}", "tags": [f"writer-{n}"] * (n % 3 + 1)}
        for n in range(12)
    ]

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as client:
            url = f"/v1/projects/{PROJECT}/services/build"
            return await asyncio.gather(*(client.put(url, json=body) for body in bodies))

    responses = run_bounded(race, 60)
    assert all(response.status_code == 200 for response in responses)
    rows = read_db(live.db, f"SELECT record FROM services WHERE id = '{service_id(name)}'")
    assert len(rows) == 1
    with httpx.Client(headers=live.headers) as client:
        final = client.get(f"{live.url}/v1/projects/{PROJECT}/services/{service_id(name)}")
    assert definition(final.json()["data"]) in bodies


# --- patch -----------------------------------------------------------------------------------


def test_patch_merges_objects_and_replaces_the_rest(api: httpx.Client) -> None:
    made = created(api, tags=["aaa", "bbb"])
    sid = made["id"]
    patch = {
        "billing": {"buildPlan": "nf-compute-400-16"},
        "tags": ["ccc"],
        "buildArguments": {"ARGUMENT_3": "new"},
        "buildConfiguration": {"isAllowList": True},
    }
    after = api.patch(f"/services/build/{sid}", json=patch).json()["data"]
    assert after["billing"] == {**made["billing"], "buildPlan": "nf-compute-400-16"}
    assert after["tags"] == ["ccc"]
    assert after["buildArguments"] == {**made["buildArguments"], "ARGUMENT_3": "new"}
    assert after["buildConfiguration"] == {**made["buildConfiguration"], "isAllowList": True}
    assert after["buildFiles"] == made["buildFiles"]  # the secrets survive a patch
    assert after["updatedAt"] >= made["updatedAt"]
    same = api.patch(f"/services/build/{sid}", json=patch).json()["data"]
    assert same == after  # nothing changed: not even updatedAt


def test_patch_switches_the_build_engine(api: httpx.Client) -> None:
    sid = created(api)["id"]
    after = api.patch(
        f"/services/build/{sid}", json={"buildSettings": {"buildpack": {"builder": "HEROKU_22"}}}
    ).json()["data"]
    assert "dockerfile" not in after["buildSettings"]
    assert after["buildSettings"]["buildpack"] == {"builder": "HEROKU_22"}
    assert after["buildSettings"]["storage"]  # the rest of buildSettings is merged
    # Back to a Dockerfile: without its required fields, the merged service is invalid.
    half = api.patch(f"/services/build/{sid}", json={"buildSettings": {"dockerfile": {}}})
    fields = {(f["path"], f["rule"]) for f in assert_error(half, 400)["details"]["fields"]}
    assert ("$.buildSettings.dockerfile.dockerFilePath", "required") in fields


@pytest.mark.parametrize(
    ("patch", "path", "rule"),
    [
        ({}, "$", "minProperties"),
        ({"name": "Other Name"}, "$.name", "additionalProperties"),
        ({"description": "\u0000"}, "$.description", "pattern"),
        ({"vcsData": {"projectType": "svn"}}, "$.vcsData.projectType", "enum"),
        ({"billing": {"gpu": {"enabled": "yes"}}}, "$.billing.gpu.enabled", "type"),
    ],
)
def test_invalid_patch_is_a_bad_request(
    api: httpx.Client, patch: dict[str, Any], path: str, rule: str
) -> None:
    sid = created(api)["id"]
    error = assert_error(api.patch(f"/services/build/{sid}", json=patch), 400)
    assert (path, rule) in {(f["path"], f["rule"]) for f in error["details"]["fields"]}


def test_patch_of_unknown_service_is_not_found(api: httpx.Client) -> None:
    response = api.patch("/services/build/no-such-service", json={"description": "x"})
    assert_error(response, 404)


# --- authentication and permissions, per operation -----------------------------------------

OPERATIONS = {
    "listServices": ("GET", "/services", None, READ_SERVICE),
    "getService": ("GET", "/services/{sid}", None, READ_SERVICE),
    "deleteService": ("DELETE", "/services/{sid}", None, DELETE_SERVICE),
    "putBuildService": ("PUT", "/services/build", "put", CREATE_SERVICE),
    "patchBuildService": ("PATCH", "/services/build/{sid}", {"description": "x"}, UPDATE_SERVICE),
}


def test_operations_name_the_spec_permissions() -> None:
    for path, item in SPEC["paths"].items():
        for operation in item.values():
            if operation["operationId"] in OPERATIONS:
                permission = OPERATIONS[operation["operationId"]][3]
                assert operation["x-required-permission"] == permission, path


def call(live: LiveSandbox, operation: str, token: str | None, project: str = PROJECT) -> int:
    method, path, body, _ = OPERATIONS[operation]
    with httpx.Client(base_url=f"{live.url}/v1/projects/{project}", headers=live.headers) as api:
        sid = created(api)["id"] if project == PROJECT else "x"
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    payload = create_body(unique_name()) if body == "put" else body
    response = httpx.request(
        method,
        f"{live.url}/v1/projects/{project}{path.format(sid=sid)}",
        json=payload,
        headers=headers,
    )
    if response.status_code >= 400:
        assert_error(response, response.status_code)
    return response.status_code


@pytest.fixture(scope="module")
def tokens(live: LiveSandbox) -> dict[str, str]:
    permissions = [CREATE_SERVICE, READ_SERVICE, UPDATE_SERVICE, DELETE_SERVICE]
    made = {p: cli_token(live.db, p)[0] for p in permissions}
    for permission in permissions:
        others = [p for p in permissions if p != permission]
        made[f"not {permission}"] = cli_token(live.db, *others)[0]
    done = cli(live.db, "token", "create", "--permission", "*", "--project", OTHER_PROJECT)
    assert done.returncode == 0, done.stderr
    made["other project"] = done.stdout.strip()
    return made


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_permissions_per_operation(
    live: LiveSandbox, tokens: dict[str, str], operation: str
) -> None:
    permission = OPERATIONS[operation][3]
    assert call(live, operation, None) == 401
    assert call(live, operation, "nfsb_unknown_token_0123456789") == 401
    assert call(live, operation, tokens[permission]) == 200
    assert call(live, operation, tokens[f"not {permission}"]) == 403
    assert call(live, operation, tokens["other project"]) == 403
    # The other project's token does reach its own project (where the service is unknown).
    assert call(live, operation, tokens["other project"], OTHER_PROJECT) in {200, 404}


def test_token_create_refuses_unknown_projects(live: LiveSandbox) -> None:
    done = cli(live.db, "token", "create", "--permission", "*", "--project", "nope-project")
    assert done.returncode == 1
    assert "nope-project" in done.stderr
    listed = cli(live.db, "token", "list")
    assert OTHER_PROJECT in listed.stdout


# --- list and pagination ---------------------------------------------------------------------


def new_project(live: LiveSandbox) -> str:
    project = f"list-{next(_names)}"
    admin = SqliteAdminStore(live.db)
    try:
        admin.create_project(project)
    finally:
        admin.close()
    return project


def test_list_pages_through_every_service(live: LiveSandbox) -> None:
    project = new_project(live)
    with httpx.Client(base_url=f"{live.url}/v1/projects/{project}", headers=live.headers) as api:
        empty = api.get("/services").json()
        assert empty == {"data": {"services": []}, "pagination": {"hasNextPage": False, "count": 0}}
        names = [unique_name("Item") for _ in range(7)]
        for name in names:
            assert api.post("/services/build", json=create_body(name)).status_code == 200
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"per_page": 3, "page": 9}  # page is ignored with a cursor
            if cursor is None:
                params = {"per_page": 3}
            else:
                params["cursor"] = cursor
            page = api.get("/services", params=params).json()
            assert_schema("ListServicesResponse", page)
            items = page["data"]["services"]
            assert page["pagination"]["count"] == len(items)
            assert all(item["projectId"] == project for item in items)
            assert all(item["serviceType"] == "build" for item in items)
            seen += [item["id"] for item in items]
            if not page["pagination"]["hasNextPage"]:
                assert "cursor" not in page["pagination"]
                break
            cursor = page["pagination"]["cursor"]
        assert seen == sorted(service_id(n) for n in names)
        by_page = api.get("/services", params={"per_page": 3, "page": 3}).json()
        assert [i["id"] for i in by_page["data"]["services"]] == seen[6:]


@pytest.mark.parametrize(
    ("query", "path", "rule"),
    [
        ("per_page=0", "$.per_page", "minimum"),
        ("per_page=101", "$.per_page", "maximum"),
        ("per_page=abc", "$.per_page", "type"),
        ("per_page=1.5", "$.per_page", "type"),
        ("per_page=true", "$.per_page", "type"),
        ("per_page=" + "9" * 5000, "$.per_page", "type"),
        ("per_page=1&per_page=2", "$.per_page", "type"),
        ("page=0", "$.page", "minimum"),
        ("cursor=abc", "$.cursor", "cursor"),
        ("cursor=", "$.cursor", "cursor"),
    ],
)
def test_bad_list_parameters_are_bad_requests(
    api: httpx.Client, query: str, path: str, rule: str
) -> None:
    error = assert_error(api.get(f"/services?{query}"), 400)
    assert (path, rule) in {(f["path"], f["rule"]) for f in error["details"]["fields"]}


def test_forged_and_foreign_cursors_are_bad_requests(live: LiveSandbox, api: httpx.Client) -> None:
    for _ in range(2):
        created(api)
    cursor = api.get("/services", params={"per_page": 1}).json()["pagination"]["cursor"]
    body, _, mac = cursor.partition(".")
    forged_body = json.dumps({"p": PROJECT, "a": "zzz"}).encode()
    forged = base64.urlsafe_b64encode(forged_body).rstrip(b"=").decode() + "." + mac
    for bad in (forged, body + "." + mac[::-1], cursor + "x", body):
        assert_error(api.get("/services", params={"cursor": bad}), 400)
    other = f"{live.url}/v1/projects/{OTHER_PROJECT}/services"
    foreign = httpx.get(other, params={"cursor": cursor}, headers=live.headers)
    assert "another project" in assert_error(foreign, 400)["message"]


# --- pagination under concurrent writes: a property ------------------------------------------

Step = tuple[str, int]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "delete", "start", "next", "next", "next"]),
        st.integers(0, 10**6),
    ),
    min_size=1,
    max_size=40,
)


def check_walks(live: LiveSandbox, steps: list[Step], per_page: int) -> None:
    """Run the steps on a fresh project; every walk obeys no-repeat and no-skip."""
    project = new_project(live)
    base = f"/v1/projects/{project}/services"
    existing: set[str] = set()
    walks: list[dict[str, Any]] = []
    with httpx.Client(base_url=live.url, headers=live.headers, timeout=30) as api:
        for _ in range(3):
            name = unique_name("Seed")
            assert api.post(f"{base}/build", json=create_body(name)).status_code == 200
            existing.add(service_id(name))
        for action, pick in steps:
            if action == "create":
                name = unique_name("New")
                assert api.post(f"{base}/build", json=create_body(name)).status_code == 200
                existing.add(service_id(name))
            elif action == "delete" and existing:
                victim = sorted(existing)[pick % len(existing)]
                assert api.delete(f"{base}/{victim}").status_code == 200
                existing.discard(victim)
                for walk in walks:
                    walk["throughout"].discard(victim)
            elif action == "start" or (action == "next" and not walks):
                walks.append(
                    {"throughout": set(existing), "seen": [], "cursor": None, "done": False}
                )
            if action in {"start", "next"}:
                live_walks = [w for w in walks if not w["done"]]
                if live_walks:
                    step_walk(api, base, live_walks[pick % len(live_walks)], per_page)
        for walk in walks:
            while not walk["done"]:
                step_walk(api, base, walk, per_page)
    for walk in walks:
        assert len(walk["seen"]) == len(set(walk["seen"])), "a walk repeated an item"
        assert walk["throughout"] <= set(walk["seen"]), "a walk skipped an item"


def step_walk(api: httpx.Client, base: str, walk: dict[str, Any], per_page: int) -> None:
    params: dict[str, Any] = {"per_page": per_page}
    if walk["cursor"] is not None:
        params["cursor"] = walk["cursor"]
    page = api.get(base, params=params)
    assert page.status_code == 200, page.text
    body = page.json()
    walk["seen"] += [item["id"] for item in body["data"]["services"]]
    walk["cursor"] = body["pagination"].get("cursor")
    walk["done"] = not body["pagination"]["hasNextPage"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, per_page=st.integers(1, 4))
def test_walks_never_repeat_or_skip(live: LiveSandbox, steps: list[Step], per_page: int) -> None:
    check_walks(live, steps, per_page)


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, per_page=st.integers(1, 6))
def test_walks_never_repeat_or_skip_long(
    live: LiveSandbox, steps: list[Step], per_page: int
) -> None:
    check_walks(live, steps, per_page)


def test_every_example_of_every_operation_validates() -> None:
    """Every example of the new operations validates (load_api checks it too)."""
    for path, item in SPEC["paths"].items():
        for operation in item.values():
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                for example in media.get("examples", {}).values():
                    schema = media["schema"]["$ref"].rsplit("/", 1)[-1]
                    assert_schema(schema, example["value"]), (path, status)


def test_a_version_1_database_gives_its_tokens_every_project(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    admin = SqliteAdminStore(path)
    admin.bootstrap(project_id=PROJECT, token_hash="h" * 64, account="acct")
    admin.close()
    old = sqlite3.connect(path)
    old.execute("ALTER TABLE tokens DROP COLUMN projects")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    store = SqliteStore(path)
    try:
        principal = run_bounded(lambda: store.principal("h" * 64), 10)
    finally:
        run_bounded(store.close, 10)
    assert principal is not None
    assert principal.belongs_to(PROJECT)
    assert principal.projects == frozenset({"*"})
