"""What a diff finds: changes at a level, on a surface, and the version bump they call for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

__all__ = ["BUMPS", "SURFACES", "Change", "Level", "bump_for", "merged"]

SURFACES = ("wire", "python", "cli", "typescript")
"""Where users meet the API: requests and responses, the Python client, ``nf-build``, TS types."""


class Level(IntEnum):
    """How much a change matters; ordered, so ``max`` of several is the one that decides."""

    NONE = 0
    PATCH = 1
    ADDITIVE = 2
    BREAKING = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.upper()]


BUMPS = {Level.NONE: "none", Level.PATCH: "patch", Level.ADDITIVE: "minor", Level.BREAKING: "major"}
"""The semantic-version bump each level calls for."""


@dataclass(frozen=True, order=True)
class Change:
    """One change as one surface sees it.

    A spec edit is reported once per surface it affects, each in that surface's
    words (a wire property, a Python field, a CLI flag, a TypeScript member), so a
    changelog can say what changed for the users of each package.
    """

    level: Level
    rule: str
    pointer: str
    """A JSON pointer into the composed NEW spec, or into OLD for what NEW no longer has."""
    surface: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "level": self.level.label,
            "rule": self.rule,
            "pointer": self.pointer,
            "surface": self.surface,
            "message": self.message,
        }


def bump_for(changes: Iterable[Change]) -> str:
    """``major``, ``minor``, ``patch`` or ``none``: what the highest level calls for."""
    return BUMPS[max((change.level for change in changes), default=Level.NONE)]


def merged(found: Iterable[tuple[Change, str]]) -> list[Change]:
    """Each change once, most severe first; a wire change lists the operations it touches.

    ``found`` pairs a change with the operation it was seen in: a shared schema
    (``VcsData``) is seen once per operation that uses it.
    """
    operations: dict[Change, list[str]] = {}
    for change, operation in found:
        seen = operations.setdefault(change, [])
        if operation and operation not in seen:
            seen.append(operation)
    result = []
    for change, where in operations.items():
        if change.surface == "wire" and where:
            change = Change(
                change.level,
                change.rule,
                change.pointer,
                change.surface,
                f"{change.message} ({', '.join(sorted(where))})",
            )
        result.append(change)
    surface_order = {surface: index for index, surface in enumerate(SURFACES)}
    return sorted(
        result,
        key=lambda c: (-c.level, surface_order[c.surface], c.pointer, c.rule, c.message),
    )
