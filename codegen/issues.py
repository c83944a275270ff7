"""Spec problems as values, collected and reported together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["GenerationError", "Level", "SpecError", "SpecIssue", "pointer"]


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One problem in the spec, located by its JSON pointer."""

    json_pointer: str
    message: str
    level: Level = Level.ERROR

    def __str__(self) -> str:
        return f"{self.level.value}: {self.json_pointer or '#'}: {self.message}"


class SpecError(Exception):
    """The spec cannot be generated from; carries every issue found."""

    def __init__(self, source: str, issues: Iterable[SpecIssue]) -> None:
        self.source = source
        self.issues = tuple(sorted(issues))
        count = len(self.issues)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''} in the spec"]
        lines += [f"  {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class GenerationError(Exception):
    """A bug in the generator, not in the spec: a template, a renderer or the formatter failed.

    ``where`` locates it (``templates/python/_client.py.jinja, line 12``, or the
    generated file the formatter refused); nothing is written.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) into the spec, written as a URI fragment."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "#/" + "/".join(escaped) if parts else "#"
