"""The fenced examples of the READMEs, and the convention that says how each is run and checked.

* Which: every block fenced as ``sh``, ``bash``, ``console`` or ``shell`` (run with
  ``bash -euo pipefail``), ``python`` or ``py``, and ``ts`` or ``typescript`` (run with
  Node as an ES module). Fences may be indented (a block inside a list item).
* Not run: a block whose first line is ``# not run by the tests: REASON`` (``//`` in
  TypeScript), so the reason is there for every reader to see.
* Output: a comment line ``# => TEXT`` (``// => TEXT``) shows a line the block prints;
  the lines shown must appear in the output in that order, others may come between.
  ``...`` in ``TEXT`` stands for any text.
* Python blocks of one file continue each other: they run in order in one namespace,
  so a later block may use what an earlier one defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["LANGUAGES", "Block", "missing_output", "read_blocks"]

LANGUAGES: Final = {
    "sh": "sh",
    "bash": "sh",
    "console": "sh",
    "shell": "sh",
    "python": "python",
    "py": "python",
    "ts": "ts",
    "typescript": "ts",
}
_FENCE: Final = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w-]*)[ \t]*$")
_NOT_RUN: Final = re.compile(r"^(?:#|//) not run by the tests\b[^:]*: (?P<reason>\S.*)$")
_SHOWN: Final = re.compile(r"^\s*(?:#|//) => (?P<text>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced example: where it starts (the fence's line), its language and its code."""

    file: str
    line: int
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.language}"

    @property
    def not_run_because(self) -> str | None:
        first = self.code.split("\n", 1)[0]
        match = _NOT_RUN.match(first)
        return match["reason"] if match else None

    @property
    def shown_output(self) -> list[str]:
        return [m["text"] for line in self.code.splitlines() if (m := _SHOWN.match(line))]


def read_blocks(path: Path, name: str) -> list[Block]:
    """Every block of ``path`` in a language the tests run, with its dedented code."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, body = opening["indent"], []
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end].removeprefix(indent))
            end += 1
        language = LANGUAGES.get(opening["language"])
        if language is not None:
            blocks.append(Block(name, index + 1, language, "\n".join(body) + "\n"))
        index = end + 1
    return blocks


def _pattern(shown: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in shown.strip().split("...")))


def missing_output(shown: list[str], output: str) -> list[str]:
    """The shown lines not found, in order, among the output's lines (empty when all are)."""
    lines = [line.rstrip() for line in output.splitlines()]
    position = 0
    for number, text in enumerate(shown):
        pattern = _pattern(text)
        while position < len(lines) and not pattern.fullmatch(lines[position].strip()):
            position += 1
        if position == len(lines):
            return shown[number:]
        position += 1
    return []
