"""The package's public API does not drift unnoticed.

`public_api.txt` lists every name in ``northflank_build.__all__`` with the
signature of everything callable a user reaches from it. A change to the
public surface fails here until the snapshot is rewritten
(``UPDATE_SNAPSHOTS=1``) and the diff reviewed, as a changelog entry would be.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import northflank_build
from northflank_build import AsyncClient, Client

SNAPSHOT = Path(__file__).with_name("public_api.txt")
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def _signature(value: object) -> str:
    try:
        return str(inspect.signature(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def describe_public_api() -> str:
    lines = []
    for name in northflank_build.__all__:
        value = getattr(northflank_build, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            bases = ", ".join(base.__name__ for base in value.__bases__)
            lines.append(f"{name}({bases})")
        elif inspect.isclass(value) and name.endswith("Client"):
            lines.append(f"{name}{_signature(value)}")
        elif inspect.isclass(value) or callable(value):
            lines.append(f"{name}")
        else:
            lines.append(f"{name} = {value!r}")
    for client in (Client, AsyncClient):
        call = client.create.fget(client(token="t")).service.build  # type: ignore[attr-defined]
        lines.append(f"{client.__name__}.create.service.build{_signature(call)}")
        lines.append(f"{client.__name__}.with_options{_signature(client.with_options)}")
    return "\n".join(lines) + "\n"


def test_all_is_explicit() -> None:
    assert len(set(northflank_build.__all__)) == len(northflank_build.__all__)
    for name in northflank_build.__all__:
        assert hasattr(northflank_build, name), name


def test_public_api_matches_snapshot() -> None:
    described = describe_public_api()
    if UPDATE:
        SNAPSHOT.write_text(described, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot; run with UPDATE_SNAPSHOTS=1 to write {SNAPSHOT}"
    assert described == SNAPSHOT.read_text(encoding="utf-8"), (
        "the public API changed: review it, then rewrite the snapshot with UPDATE_SNAPSHOTS=1"
    )
