"""Two ECMA-262 patterns compared exactly where it counts: by the strings they disagree on.

oasdiff calls any edit of a pattern a possible break. Here both patterns judge
the same sample of strings, and the verdict says which way the language moved,
with the shortest string that shows it. The samples are made by hypothesis's
``from_regex`` from each pattern (through the Rust form that ``ecma_regex``
prints, which Python's ``re`` mostly shares), plus boundary strings and small
mutations of every sample, because strings just outside a language are where
two patterns usually differ. The judge is ``regress``, an ECMA-262 engine, so a
verdict never rests on a translation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import regress

from ..ecma_regex import UnsupportedPattern, to_rust_regex

__all__ = ["PatternVerdict", "compare_patterns", "matches"]

SAMPLES_PER_PATTERN = 120
BOUNDARY_STRINGS = (
    "",
    " ",
    "a",
    "A",
    "z",
    "Z",
    "0",
    "9",
    "-",
    "_",
    ".",
    "/",
    "aa",
    "ab",
    "a-b",
    "a b",
    "a.b",
    "a/b",
    "/a",
    "a/",
    "é",
    "\n",
    "a\n",
    "abc",
    "abc123",
    "https://github.com/a/b",
    "x" * 64,
)
EDITED_LENGTH = 24
"""Samples up to this long also get every character dropped and doubled."""
INSERTED = ("a", "Z", "0", "-", "_", ".", "/", " ", "\n", "é", "\u2028", "?", ":")
"""Characters tried at each position of a sample: letters, digits, separators, line breaks."""


@dataclass(frozen=True)
class PatternVerdict:
    """Which way NEW moved from OLD: ``same``, ``narrowed``, ``widened`` or ``both``."""

    kind: str
    samples: int
    """How many distinct strings both patterns judged."""
    refused: str | None
    """A string OLD accepts and NEW refuses (the shortest found), if any."""
    admitted: str | None
    """A string NEW accepts and OLD refuses (the shortest found), if any."""

    def describe(self) -> str:
        if self.kind == "same":
            return f"same on {self.samples} samples"
        parts = []
        if self.refused is not None:
            parts.append(f"now refuses {self.refused!r}")
        if self.admitted is not None:
            parts.append(f"now accepts {self.admitted!r}")
        return f"{self.kind} ({' and '.join(parts)}; {self.samples} samples)"


def matches(pattern: str | None, text: str) -> bool:
    """Whether ``text`` satisfies the ECMA-262 ``pattern`` (u flag) as JSON Schema says:
    found anywhere in it; no pattern accepts everything."""
    if pattern is None:
        return True
    return _compiled(pattern).find(text) is not None


@cache
def _compiled(pattern: str) -> regress.Regex:
    return regress.Regex(pattern, "u")


def compare_patterns(old: str | None, new: str | None, extra: Iterable[str] = ()) -> PatternVerdict:
    """Judge both patterns on samples of either, mutations of those, and ``extra`` strings."""
    return _compared(old, new, tuple(sorted(set(extra))))


@cache
def _compared(old: str | None, new: str | None, extra: tuple[str, ...]) -> PatternVerdict:
    """`compare_patterns`, once per pair: a shared schema is met once per operation."""
    pool = sorted({*_sample(old), *_sample(new), *BOUNDARY_STRINGS, *extra}, key=_shortest_first)
    candidates = sorted(
        {*pool, *(m for text in pool for m in _mutations(text))}, key=_shortest_first
    )
    refused = admitted = None
    for text in candidates:
        before, after = matches(old, text), matches(new, text)
        if before and not after and refused is None:
            refused = text
        if after and not before and admitted is None:
            admitted = text
    kind = {
        (False, False): "same",
        (True, False): "narrowed",
        (False, True): "widened",
        (True, True): "both",
    }[(refused is not None, admitted is not None)]
    return PatternVerdict(kind, len(candidates), refused, admitted)


def _shortest_first(text: str) -> tuple[int, str]:
    return len(text), text


def _mutations(text: str) -> Iterator[str]:
    """Strings one edit away: each character dropped, doubled or replaced, each inserted
    character at the ends and in the middle, the halves."""
    yield text[: len(text) // 2]
    yield text[len(text) // 2 :]
    positions = sorted({0, 1, len(text) // 2, max(len(text) - 1, 0), len(text)})
    for index in range(len(text)) if len(text) <= EDITED_LENGTH else ():
        yield text[:index] + text[index + 1 :]
        yield text[:index] + text[index] + text[index:]
    for index in positions:
        for char in INSERTED:
            yield text[:index] + char + text[index:]
            if index < len(text):
                yield text[:index] + char + text[index + 1 :]


@cache
def _sample(pattern: str | None) -> tuple[str, ...]:
    """Strings that ``pattern`` accepts, made by hypothesis; none if Python cannot read it."""
    if pattern is None:
        return ()
    python_form = _python_regex(pattern)
    if python_form is None:
        return ()
    return tuple(text for text in _generated(python_form) if matches(pattern, text))


def _python_regex(pattern: str) -> str | None:
    """The Rust form of ``pattern`` respelled for Python's ``re``; ``None`` where ``re``
    cannot say it (Unicode properties, nested classes)."""
    try:
        rust = to_rust_regex(pattern)
    except UnsupportedPattern:
        return None
    python_form = re.sub(r"\\u\{([0-9A-Fa-f]+)\}", lambda m: f"\\U{int(m[1], 16):08X}", rust)
    python_form = python_form.replace("(?-u:\\b)", "\\b").replace("(?-u:\\B)", "\\B")
    python_form = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", python_form)
    try:
        re.compile(python_form)
    except re.error:
        return None
    return python_form


def _generated(python_form: str) -> list[str]:
    """``SAMPLES_PER_PATTERN`` strings from ``from_regex``, the same ones on every run."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    found: list[str] = []

    @settings(
        max_examples=SAMPLES_PER_PATTERN,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.from_regex(python_form))
    def collect(text: str) -> None:
        found.append(text)

    try:
        collect()
    except HypothesisException:
        return found  # an unsatisfiable pattern: the boundary strings still judge it
    return found
