"""CHANGELOG.md in Keep a Changelog form: a release's section written from the spec diff.

One file covers both packages, since they are released together at one
version. A release moves what maintainers wrote by hand under
``## [Unreleased]`` into the new version's section, beside the entries the
diff gives, merged under the same ``### Added``/``### Changed``... headings.
The link lines at the bottom are rewritten from the headings every time, so
they never disagree with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "SECTION_ORDER",
    "Change",
    "ChangelogError",
    "changelog_versions",
    "new_changelog",
    "with_release",
]

SECTION_ORDER = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
"""Keep a Changelog's kinds of change, in the order it lists them."""

_HEADER = """# Changelog

All notable changes to the northflank-build packages are written here: the Python
package on PyPI and the TypeScript one on npm, released together at one version.
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and
both packages follow [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
"""
_UNRELEASED = "## [Unreleased]"
_VERSION_HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+)\]", re.MULTILINE)
_LINK_LINE = re.compile(r"^\[(?:Unreleased|\d+\.\d+\.\d+)\]: \S+$")
_SURFACE_NAMES = {"wire": "wire", "python": "Python", "cli": "CLI", "typescript": "TypeScript"}


class ChangelogError(ValueError):
    """CHANGELOG.md cannot take a release as it stands (the message says where)."""


@dataclass(frozen=True)
class Change:
    """One change the spec diff reported, as its JSON gives it."""

    level: str
    rule: str
    pointer: str
    surface: str
    message: str


def new_changelog() -> str:
    """The file a project starts with: the header and an empty Unreleased section."""
    return f"{_HEADER}\n{_UNRELEASED}\n"


def changelog_versions(text: str) -> list[str]:
    """The versions with a ``## [x.y.z]`` section, newest first as the file lists them."""
    return _VERSION_HEADING.findall(text)


def with_release(
    text: str, version: str, date: str, changes: Sequence[Change], repository: str
) -> str:
    """``text`` with a ``## [version] - date`` section: Unreleased's notes and ``changes``."""
    if version in changelog_versions(text):
        raise ChangelogError(f"CHANGELOG.md already has a section for {version}")
    body = _without_links(text)
    start = body.find(_UNRELEASED)
    if start < 0:
        raise ChangelogError(f"CHANGELOG.md has no `{_UNRELEASED}` heading to release from")
    after = start + len(_UNRELEASED)
    next_heading = _VERSION_HEADING.search(body, after)
    end = next_heading.start() if next_heading else len(body)
    prelude, sections = _parse_notes(body[after:end])
    for section, entries in _sections(changes).items():
        sections.setdefault(section, []).extend(entries)
    release = _render_release(version, date, prelude, sections)
    rest = body[end:].rstrip("\n")
    merged = body[:start] + f"{_UNRELEASED}\n\n{release}" + (f"\n{rest}\n" if rest else "")
    return merged.rstrip("\n") + "\n\n" + _links(merged, repository)


def _without_links(text: str) -> str:
    kept = [line for line in text.splitlines() if not _LINK_LINE.match(line)]
    return "\n".join(kept).rstrip("\n") + "\n"


def _parse_notes(notes: str) -> tuple[list[str], dict[str, list[str]]]:
    """Unreleased's hand-written text: lines before any ``###`` heading, then each section's."""
    prelude: list[str] = []
    sections: dict[str, list[str]] = {}
    current = prelude
    for line in notes.strip("\n").splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line.removeprefix("### ").strip(), [])
        elif line.strip() or current:
            current.append(line)
    return _trimmed(prelude), {name: _trimmed(lines) for name, lines in sections.items()}


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _sections(changes: Iterable[Change]) -> dict[str, list[str]]:
    """The diff's changes as entries, one per change however many surfaces it touches."""
    merged: dict[tuple[str, str, str, str], list[str]] = {}
    for change in changes:
        key = (change.level, change.rule, change.pointer, change.message)
        surfaces = merged.setdefault(key, [])
        if change.surface not in surfaces:
            surfaces.append(change.surface)
    sections: dict[str, list[str]] = {}
    for (level, rule, pointer, message), surfaces in merged.items():
        sections.setdefault(_section(level, rule), []).append(
            _entry(level, rule, pointer, message, surfaces)
        )
    return sections


def _section(level: str, rule: str) -> str:
    if "deprecat" in rule:
        return "Deprecated"
    if level == "breaking" and "removed" in rule:
        return "Removed"
    return "Added" if level == "additive" else "Changed"


def _entry(level: str, rule: str, pointer: str, message: str, surfaces: list[str]) -> str:
    shown = ", ".join(_SURFACE_NAMES.get(s, s) for s in surfaces)
    mark = "**Breaking:** " if level == "breaking" else ""
    return f"- {mark}{message} ({shown}; `{rule}` at `{pointer}`)"


def _render_release(
    version: str, date: str, prelude: list[str], sections: dict[str, list[str]]
) -> str:
    lines = [f"## [{version}] - {date}", ""]
    if prelude:
        lines += [*prelude, ""]
    ordered = [s for s in SECTION_ORDER if s in sections]
    ordered += sorted(s for s in sections if s not in SECTION_ORDER)
    for name in ordered:
        if sections[name]:
            lines += [f"### {name}", "", *sections[name], ""]
    if not prelude and not any(sections.values()):
        lines += ["No change to the API's surfaces: a release of the packages' runtime.", ""]
    return "\n".join(lines)


def _links(text: str, repository: str) -> str:
    """Keep a Changelog's link lines: each version compared with the one before it."""
    versions = changelog_versions(text)
    if not versions:
        return f"[Unreleased]: {repository}/commits/HEAD\n"
    lines = [f"[Unreleased]: {repository}/compare/v{versions[0]}...HEAD"]
    for newer, older in zip(versions, [*versions[1:], None], strict=True):
        target = (
            f"{repository}/compare/v{older}...v{newer}"
            if older
            else f"{repository}/releases/tag/v{newer}"
        )
        lines.append(f"[{newer}]: {target}")
    return "\n".join(lines) + "\n"
