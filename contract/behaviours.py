"""The behaviours the spec states in words but cannot encode in a schema, each a named check.

Each check makes its own services, named from the run's prefix, and judges the answers. A
step that only prepares (the first create of the duplicate check) accepts any 2xx, so that a
wrong success status is reported once, by Schemathesis' status_code_conformance, and not again
by every check that creates something.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from contract.client import NO_TOKEN, ApiClient
from contract.results import CheckResult
from contract.traffic import Exchange

__all__ = ["BEHAVIOURS", "TRAFFIC_CHECKS", "Behaviour", "Context", "judge_traffic"]

MAX_LIST_PAGES = 25
"""Pages a list walk may read; on a big project the walk stops there, judged as far as it got."""
WALK_PAGE_SIZE = 2
PAGINATION_SERVICES = 3


@dataclass
class Context:
    client: ApiClient
    prefix: str
    weak_token: str | None


@dataclass(frozen=True)
class Behaviour:
    name: str
    description: str
    run: Callable[[Context, CheckResult], None]


def _ok(x: Exchange) -> bool:
    return 200 <= x.status < 300


def _envelope_problem(x: Exchange, status: int) -> str | None:
    """Why the answer is not a ``status`` error in the spec's envelope; None when it is."""
    if x.status != status:
        return f"expected {status}, got {x.status}"
    body = x.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"the {status} body is not the error envelope {{'error': {{...}}}}"
    if error.get("status") != status:
        return f"error.status is {error.get('status')!r}, not {status}"
    if not isinstance(error.get("message"), str):
        return "error.message is missing"
    return None


def _service_id(x: Exchange) -> str | None:
    body = x.json()
    data = body.get("data") if isinstance(body, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _made(ctx: Context, check: CheckResult, suffix: str) -> tuple[str, Exchange] | None:
    """A fresh service for ``check``: its id and the create's answer; None (and a finding)
    when the server would not make one."""
    x = ctx.client.create(ctx.client.body(f"{ctx.prefix}-{suffix}"))
    check.runs += 1
    service_id = _service_id(x)
    if not _ok(x) or service_id is None:
        check.fail(f"a valid create was answered {x.status} without data.id", x)
        return None
    return service_id, x


def duplicate_create(ctx: Context, check: CheckResult) -> None:
    made = _made(ctx, check, "dup")
    if made is None:
        return
    service_id, _ = made
    again = ctx.client.create(ctx.client.body(f"{ctx.prefix}-dup"))
    check.runs += 1
    if problem := _envelope_problem(again, 409):
        check.fail(f"a second create of {service_id!r}: {problem}", again)
        return
    details = (again.json()["error"].get("details") or {}) if isinstance(again.json(), dict) else {}
    named = details.get("serviceId") if isinstance(details, dict) else None
    if named is not None and named != service_id:
        check.fail(f"the 409 names {named!r}, not the existing {service_id!r}", again)


def get_after_create(ctx: Context, check: CheckResult) -> None:
    made = _made(ctx, check, "get")
    if made is None:
        return
    service_id, created = made
    got = ctx.client.get(service_id)
    check.runs += 1
    if got.status != 200:
        check.fail(f"get of the created {service_id!r} got {got.status}, expected 200", got)
    elif _service_id(got) != service_id:
        check.fail(f"get of {service_id!r} returned the service {_service_id(got)!r}", got)
    elif got.json()["data"] != created.json()["data"]:
        check.fail(f"get of {service_id!r} returned another service than the create did", got)


def _walk(ctx: Context, check: CheckResult, per_page: int) -> Iterator[tuple[Exchange, list[str]]]:
    """Each page of the list by cursor, with its ids, until the last or MAX_LIST_PAGES."""
    cursor: str | None = None
    for _ in range(MAX_LIST_PAGES):
        page = ctx.client.list_page(per_page=per_page, cursor=cursor)
        check.runs += 1
        body = page.json()
        try:
            ids = [str(s["id"]) for s in body["data"]["services"]]
            pagination = body["pagination"]
        except (KeyError, TypeError):
            check.fail(f"a list page got {page.status}, not a page of services", page)
            return
        yield page, ids
        if not pagination.get("hasNextPage"):
            return
        cursor = pagination.get("cursor")
        if not isinstance(cursor, str):
            check.fail("hasNextPage is true but the page has no cursor", page)
            return


def listed_after_create(ctx: Context, check: CheckResult) -> None:
    made = _made(ctx, check, "listed")
    if made is None:
        return
    service_id, _ = made
    seen = 0
    for _, ids in _walk(ctx, check, per_page=100):
        seen += len(ids)
        if service_id in ids:
            return
    if seen < 100 * MAX_LIST_PAGES:
        check.fail(f"the created {service_id!r} is not on any of the {seen} listed services")


def get_after_delete(ctx: Context, check: CheckResult) -> None:
    made = _made(ctx, check, "deleted")
    if made is None:
        return
    service_id, _ = made
    deleted = ctx.client.delete(service_id)
    check.runs += 1
    if not _ok(deleted):
        check.fail(f"delete of the created {service_id!r} got {deleted.status}", deleted)
        return
    got = ctx.client.get(service_id)
    check.runs += 1
    if problem := _envelope_problem(got, 404):
        check.fail(f"get after deleting {service_id!r}: {problem}", got)


def pagination_walk(ctx: Context, check: CheckResult) -> None:
    ours = []
    for n in range(1, PAGINATION_SERVICES + 1):
        made = _made(ctx, check, f"page-{n}")
        if made is None:
            return
        ours.append(made[0])
    seen: list[str] = []
    complete = False
    for page, ids in _walk(ctx, check, per_page=WALK_PAGE_SIZE):
        repeated = sorted(set(ids) & set(seen))
        if repeated:
            check.fail(f"the walk repeats {repeated} on a later page", page)
            return
        if len(ids) > WALK_PAGE_SIZE:
            check.fail(f"per_page={WALK_PAGE_SIZE} gave {len(ids)} services", page)
        count = (page.json().get("pagination") or {}).get("count")
        if count != len(ids):
            check.fail(f"pagination.count is {count!r} on a page of {len(ids)}", page)
        seen.extend(ids)
        complete = not page.json()["pagination"].get("hasNextPage")
    missing = [service_id for service_id in ours if service_id not in seen]
    if complete and missing:
        check.fail(f"the walk never reached {missing}, which existed for the whole walk")


def missing_token(ctx: Context, check: CheckResult) -> None:
    attempts = (
        ("no Authorization header", NO_TOKEN),
        ("a made-up token", "ct-not-a-real-token-" + ctx.prefix),
    )
    for what, token in attempts:
        for x in (
            ctx.client.list_page(per_page=1, token=token),
            ctx.client.create(ctx.client.body(f"{ctx.prefix}-noauth"), token=token),
        ):
            check.runs += 1
            if problem := _envelope_problem(x, 401):
                check.fail(f"{x.method} with {what}: {problem}", x)


def weak_token(ctx: Context, check: CheckResult) -> None:
    if ctx.weak_token is None:
        check.skipped_because = "no --weak-token-env given"
        return
    x = ctx.client.create(ctx.client.body(f"{ctx.prefix}-weak"), token=ctx.weak_token)
    check.runs += 1
    if problem := _envelope_problem(x, 403):
        check.fail(f"create with the weak token: {problem}", x)


INVALID_BODIES: tuple[tuple[str, str, Callable[[ApiClient, str], Any]], ...] = (
    ("an unknown field", "$.unknownField", lambda c, p: c.body(f"{p}-unknown", unknownField=1)),
    ("a name breaking its pattern", "$.name", lambda c, p: c.body(f"{p}-bad--name")),
)


def invalid_body(ctx: Context, check: CheckResult) -> None:
    for what, path, make in INVALID_BODIES:
        x = ctx.client.create(make(ctx.client, ctx.prefix))
        check.runs += 1
        if problem := _envelope_problem(x, 400):
            check.fail(f"a create with {what} ({path}): {problem}", x)
            continue
        details = x.json()["error"].get("details") or {}
        fields = details.get("fields") if isinstance(details, dict) else None
        paths = [f.get("path") for f in fields or () if isinstance(f, dict)]
        if path not in paths:
            check.fail(f"the 400 for {what} names {paths}, not {path}", x)


BEHAVIOURS = (
    Behaviour(
        "duplicate_create_conflicts",
        "A second create of the same derived id is 409 in the error envelope.",
        duplicate_create,
    ),
    Behaviour(
        "get_after_create",
        "A created service is returned by get, as the create returned it.",
        get_after_create,
    ),
    Behaviour("listed_after_create", "A created service is found by list.", listed_after_create),
    Behaviour("get_after_delete_is_404", "After a delete, a get is 404.", get_after_delete),
    Behaviour(
        "pagination_without_repeats",
        "Walking the list by cursor repeats no item and reaches every service.",
        pagination_walk,
    ),
    Behaviour(
        "unauthorized_without_token",
        "Without a token, or with a made-up one, the answer is 401.",
        missing_token,
    ),
    Behaviour(
        "forbidden_with_weak_token",
        "A token lacking the permission (--weak-token-env) is 403 on create.",
        weak_token,
    ),
    Behaviour(
        "invalid_body_rejected",
        "An invalid create body is 400, naming the failing field.",
        invalid_body,
    ),
)


# --- Checks over all the traffic of a run --------------------------------------------------


def request_id_matches(exchanges: list[Exchange], check: CheckResult) -> None:
    for x in exchanges:
        check.runs += 1
        request_id = x.header("X-Request-Id")
        if not request_id:
            check.fail(f"{x.method} {x.operation or x.url}: no X-Request-Id header", x)
            continue
        body = x.json()
        error = body.get("error") if isinstance(body, dict) and x.status >= 400 else None
        if isinstance(error, dict) and error.get("id") != request_id:
            check.fail(f"error.id {error.get('id')!r} is not X-Request-Id {request_id!r}", x)


_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _rate_headers(x: Exchange) -> dict[str, int] | str | None:
    """The three headers as numbers, or why they are not consistent; ``None`` when the
    answer has none of them (the spec: absent where the server applies no rate limit)."""
    values = {name: x.header(name) for name in _RATE_HEADERS}
    missing = [name for name, value in values.items() if value is None]
    if len(missing) == len(_RATE_HEADERS):
        return None
    if missing:
        return f"missing {', '.join(missing)} (the others are there)"
    try:
        numbers = {name: int(str(value)) for name, value in values.items()}
    except ValueError:
        return f"not integers: {values}"
    if any(n < 0 for n in numbers.values()):
        return f"negative: {numbers}"
    if numbers["x-ratelimit-remaining"] > numbers["x-ratelimit-limit"]:
        return f"remaining above the limit: {numbers}"
    if numbers["x-ratelimit-reset"] < time.time() - 24 * 3600 * 365:
        return f"x-ratelimit-reset is not a time in seconds since the epoch: {numbers}"
    return numbers


def ratelimit_headers(exchanges: list[Exchange], check: CheckResult) -> None:
    """All three or none on each answer (none: no rate limit applies, which the spec
    allows), and well-formed; within one window, for one caller, in the order sent,
    ``remaining`` never goes up and ``limit`` never changes. Skipped when no answer had
    them."""
    last: dict[tuple[str, int], dict[str, int]] = {}
    for x in exchanges:
        numbers = _rate_headers(x)
        if numbers is None:
            continue
        check.runs += 1
        if isinstance(numbers, str):
            check.fail(
                f"{x.method} {x.operation or x.url} ({x.status}): x-ratelimit-* {numbers}", x
            )
            continue
        caller = x.request_headers.get("Authorization", "")
        key = (caller, numbers["x-ratelimit-reset"])
        before = last.get(key)
        if before is not None and (
            numbers["x-ratelimit-remaining"] > before["x-ratelimit-remaining"]
            or numbers["x-ratelimit-limit"] != before["x-ratelimit-limit"]
        ):
            check.fail(f"x-ratelimit-* went from {before} to {numbers} in one window", x)
        last[key] = numbers
    if check.runs == 0 and exchanges:
        check.skipped_because = (
            "no answer had x-ratelimit-* headers: the server applies no rate limit here,"
            " which the spec allows"
        )


TRAFFIC_CHECKS: tuple[tuple[str, str, Callable[[list[Exchange], CheckResult], None]], ...] = (
    (
        "request_id_matches_error_id",
        "Every answer has X-Request-Id; an error's error.id equals it.",
        request_id_matches,
    ),
    (
        "ratelimit_headers_consistent",
        "x-ratelimit-limit, -remaining and -reset: all three or none on each answer, and"
        " consistent.",
        ratelimit_headers,
    ),
)


def judge_traffic(exchanges: list[Exchange]) -> list[CheckResult]:
    """The checks over every answer of the run, clean-up included."""
    results = []
    for name, description, judge in TRAFFIC_CHECKS:
        result = CheckResult(name, description)
        judge(exchanges, result)
        results.append(result)
    return results
