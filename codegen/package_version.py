"""The packages' version: one line of ``release.toml``, read by the IR and the release tool.

The spec's ``info.version`` is the API's version, which the packages do not
follow: a breaking change to a generated surface needs a major release even
when the API stays the same. Both packages are published at this version.
Only ``MAJOR.MINOR.PATCH`` is accepted, because that is the one form PEP 440
and npm's semver spell the same way.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from .issues import SpecError, SpecIssue

__all__ = [
    "RELEASE_CONFIG",
    "Bump",
    "ReleaseConfig",
    "Version",
    "read_package_version",
    "read_release_config",
]

RELEASE_CONFIG = Path(__file__).resolve().parent.parent / "release.toml"
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


class Bump(IntEnum):
    """How far a release moves the version; ordered, so a bump can be compared with another."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Bump:
        try:
            return cls[label.upper()]
        except KeyError:
            choices = ", ".join(b.label for b in cls)
            raise ValueError(f"unknown bump {label!r}: expected one of {choices}") from None


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a MAJOR.MINOR.PATCH version such as 1.2.3")
        return cls(*(int(part) for part in match.groups()))

    def bumped(self, bump: Bump) -> Version:
        if bump is Bump.MAJOR:
            return Version(self.major + 1, 0, 0)
        if bump is Bump.MINOR:
            return Version(self.major, self.minor + 1, 0)
        if bump is Bump.PATCH:
            return Version(self.major, self.minor, self.patch + 1)
        return self

    def bump_from(self, earlier: Version) -> Bump:
        """The bump that leads from ``earlier`` to this version (NONE when not above it)."""
        if self.major > earlier.major:
            return Bump.MAJOR
        if self <= earlier:
            return Bump.NONE
        return Bump.MINOR if self.minor > earlier.minor else Bump.PATCH

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class ReleaseConfig:
    """What ``release.toml`` says: the packages' version and where their metadata points."""

    version: Version
    repository: str
    """The source repository's URL; issues and the changelog are found under it."""


def read_release_config(config: Path = RELEASE_CONFIG) -> ReleaseConfig:
    """``release.toml``; a SpecError naming the file and every unusable key."""
    data = _read_toml(config)
    issues: list[SpecIssue] = []
    version = _version(data, issues)
    links = data.get("links", {})
    repository = links.get("repository") if isinstance(links, dict) else None
    if not isinstance(repository, str) or not repository.startswith("https://"):
        issues.append(SpecIssue("#/links/repository", "expected an https:// URL"))
    if issues or version is None or not isinstance(repository, str):
        raise SpecError(config.name, issues)
    return ReleaseConfig(version, repository.rstrip("/"))


def read_package_version(config: Path = RELEASE_CONFIG) -> Version:
    """The ``version`` of ``release.toml``; a SpecError naming the file and key when unusable."""
    issues: list[SpecIssue] = []
    version = _version(_read_toml(config), issues)
    if version is None:
        raise SpecError(config.name, issues)
    return version


def _read_toml(config: Path) -> dict[str, object]:
    try:
        return tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _problem(config.name, "#", "missing: it holds the packages' version") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise _problem(config.name, "#", f"unreadable: {err}") from None


def _version(data: dict[str, object], issues: list[SpecIssue]) -> Version | None:
    value = data.get("version")
    if not isinstance(value, str):
        issues.append(SpecIssue("#/version", 'expected a string such as version = "1.2.3"'))
        return None
    try:
        return Version.parse(value)
    except ValueError as err:
        issues.append(SpecIssue("#/version", str(err)))
        return None


def _problem(where: str, pointer: str, message: str) -> SpecError:
    return SpecError(where, [SpecIssue(pointer, message)])
