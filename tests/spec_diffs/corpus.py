"""The corpus of spec pairs: each case is an edit of the product spec and the verdict it must get.

A case file (``cases/<name>.yaml``) says:

    title: what the edit is
    expect: {level: breaking, rule: request-property-removed}  # the bump's level, a rule it
                                                              # must report; optional: surface,
                                                              # message (a substring)
    base: [...]   # optional JSON Patch (RFC 6902) making OLD from spec/openapi.yaml
    edit: [...]   # JSON Patch making NEW from OLD

``level`` is the highest level the diff reports (``none`` when it reports nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CASES", "ROOT", "Case", "apply_patch", "cases", "write_pair"]

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
SPEC = ROOT / "spec" / "openapi.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    level: str
    rule: str | None
    surface: str | None
    message: str | None
    base: list[dict[str, Any]]
    edit: list[dict[str, Any]]


def cases() -> Iterator[Case]:
    for path in sorted(CASES.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        expect = raw["expect"]
        yield Case(
            name=path.stem,
            title=str(raw["title"]),
            level=str(expect["level"]),
            rule=expect.get("rule"),
            surface=expect.get("surface"),
            message=expect.get("message"),
            base=list(raw.get("base", [])),
            edit=list(raw["edit"]),
        )


def write_pair(case: Case, folder: Path) -> tuple[Path, Path]:
    """OLD and NEW of ``case`` as YAML files in ``folder``."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    old = apply_patch(spec, case.base)
    new = apply_patch(old, case.edit)
    old_path, new_path = folder / f"{case.name}.old.yaml", folder / f"{case.name}.new.yaml"
    for path, document in ((old_path, old), (new_path, new)):
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return old_path, new_path


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 ``add``, ``remove``, ``replace``, ``move`` and ``copy``; a missing target fails."""
    result = copy.deepcopy(document)
    for operation in operations:
        op, path = operation["op"], operation["path"]
        if op == "add":
            _put(result, path, copy.deepcopy(operation["value"]), insert=True)
        elif op == "replace":
            _get(result, path)
            _put(result, path, copy.deepcopy(operation["value"]), insert=False)
        elif op == "remove":
            _remove(result, path)
        elif op in ("move", "copy"):
            value = copy.deepcopy(_get(result, operation["from"]))
            if op == "move":
                _remove(result, operation["from"])
            _put(result, path, value, insert=True)
        else:
            raise ValueError(f"unknown JSON Patch op {op!r}")
    return result


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _get(document: Any, pointer: str) -> Any:
    node = document
    for part in _parts(pointer):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _put(document: Any, pointer: str, value: Any, *, insert: bool) -> None:
    *parents, last = _parts(pointer)
    node = _get(document, "".join(f"/{p.replace('~', '~0').replace('/', '~1')}" for p in parents))
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if insert:
            node.insert(index, value)
        else:
            node[index] = value
    else:
        node[last] = value


def _remove(document: Any, pointer: str) -> None:
    *parents, last = _parts(pointer)
    node = _get(document, "".join(f"/{p.replace('~', '~0').replace('/', '~1')}" for p in parents))
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]
