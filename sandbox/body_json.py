"""Duplicate keys in a JSON body, named by their JSON path (``$.vcsData.projectUrl``).

pydantic's parser keeps the last of two equal keys, so the body it validated
may not be the body the client meant. This runs after pydantic has read the
body as JSON (so it is well-formed and at most pydantic's nesting deep): one
pass of the standard library's C decoder with a hook that only checks each
object's keys, which costs about as much as the parse itself. Only a body
with a duplicate takes the second, slower pass that finds its path.
"""

from __future__ import annotations

import json
from typing import Any

from northflank_build._paths import json_path_step

__all__ = ["duplicate_key_path"]


class _DuplicateKeyError(Exception):
    pass


class _Pairs(list[tuple[str, Any]]):
    """An object's members in order, duplicates kept."""


def duplicate_key_path(body: bytes) -> str | None:
    """The JSON path of the first key given twice in one object of ``body``, or ``None``."""
    try:
        json.loads(body, object_pairs_hook=_unique_object)
    except _DuplicateKeyError:
        return _first_duplicate(json.loads(body, object_pairs_hook=_Pairs), "$")
    except (ValueError, RecursionError):
        return None  # not for this check to judge; the parse before it has
    return None


def _unique_object(pairs: list[tuple[str, Any]]) -> None:
    if len(dict(pairs)) != len(pairs):  # dict() in C: a fifth less than a set comprehension
        raise _DuplicateKeyError
    # Nothing is kept: the values are never read, only the keys checked.


def _first_duplicate(value: Any, path: str) -> str | None:
    """Depth-first, in document order: a duplicate in an earlier member comes first."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, member in value:
            step = path + json_path_step(key)
            if key in seen:
                return step
            seen.add(key)
            found = _first_duplicate(member, step)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_duplicate(item, path + json_path_step(index))
            if found is not None:
                return found
    return None
