"""A request body checked as the API promises: UTF-8, JSON, each key once, then the model.

Every refusal is an `HttpError` 400 whose message names what is wrong; a body
that breaks the model's rules lists its first `MAX_LISTED_FIELDS` failing fields
and counts the rest. The check is a pure function of the bytes and the model, so
it gives the same answer on the event loop (small bodies) and in a worker
process (large ones, see `sandbox.validation_pool`).
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from northflank_build._errors import FieldError, first_field_errors
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from sandbox.body_json import duplicate_key_path
from sandbox.problems import HttpError

__all__ = ["MAX_LISTED_FIELDS", "checked_body", "field_row", "invalid_error"]

MAX_LISTED_FIELDS: Final = 100
"""A 400 lists this many failing fields and counts the rest (``details.moreFields``)."""
ModelT = TypeVar("ModelT", bound=BaseModel)


def checked_body(body: bytes, model: type[ModelT]) -> ModelT:
    """``body`` validated by ``model``, or the 400 that says why it cannot be."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HttpError(400, f"The request body is not valid UTF-8 (byte {error.start})") from None
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as error:
        _refuse_unparsable(error)
        try:  # pydantic's parser reads NaN and Infinity, which are not JSON; no field takes them
            from_json(body, allow_inf_nan=False)
        except ValueError as invalid:
            raise HttpError(400, f"The request body is not valid JSON: {invalid}") from None
        _refuse_duplicate_keys(body)
        raise invalid_error("The request body is invalid", model, error) from None
    _refuse_duplicate_keys(body)
    return parsed


def _refuse_unparsable(error: ValidationError) -> None:
    """A body pydantic could not read as JSON is a 400 saying where it broke.

    Such a body fails with exactly one error (``json_invalid``), so only a lone error
    is looked at: listing pydantic's errors costs about 4 µs each, 0.8 s for a body
    with 200,000 of them, and `invalid_error` lists them anyway.
    """
    if error.error_count() != 1:
        return
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        reason = first.get("ctx", {}).get("error", "not JSON")
        raise HttpError(400, f"The request body is not valid JSON: {reason}") from None


def _refuse_duplicate_keys(body: bytes) -> None:
    """A key given twice in one object is a 400: the CLI refuses it, and "last one wins"
    would quietly drop the first (``name`` twice created the second name)."""
    path = duplicate_key_path(body)
    if path is not None:
        raise HttpError(
            400,
            f"The request body gives the key at {path} more than once",
            details={"fields": [field_row(path, "uniqueKeys", "Give each key once")]},
        )


def field_row(path: str, rule: str, message: str) -> dict[str, str]:
    """One entry of a 400's ``details.fields``."""
    return {"path": path, "rule": rule, "message": message}


def invalid_error(what: str, model: type[BaseModel], error: ValidationError) -> HttpError:
    """A 400 listing the first `MAX_LISTED_FIELDS` failing fields and counting the rest.

    A 1 MB body can break a rule 200,000 times; listing every failure made a
    19.5 MB answer that took seconds to build. The client reads the count in
    ``details.moreFields`` (absent when every failure is listed).
    """
    listed, more = first_field_errors(model, error, MAX_LISTED_FIELDS)
    total = len(listed) + more
    message = f"{what} ({_count(total)}"
    details: dict[str, Any] = {"fields": [_row_of(found) for found in listed]}
    if more:
        message += f"; the first {len(listed)} are listed"
        details["moreFields"] = more
    return HttpError(400, message + ")", details=details)


def _row_of(found: FieldError) -> dict[str, str]:
    return field_row(found.path, found.rule, found.message)


def _count(total: int) -> str:
    return f"{total} failing field{'s' if total != 1 else ''}"
