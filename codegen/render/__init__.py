"""Stage 4: one renderer per surface, each turning the IR into files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..ir import Api

__all__ = ["LICENSE_SOURCE", "RenderedFile", "Renderer", "license_file"]

LICENSE_SOURCE = Path(__file__).resolve().parents[2] / "LICENSE"
"""The project's own licence, the one text both packages ship."""


@dataclass(frozen=True)
class RenderedFile:
    """A file for ``generated/``, its path relative to that folder, without its header."""

    path: PurePosixPath
    content: str


Renderer = Callable[[Api], list[RenderedFile]]


def license_file(package_root: PurePosixPath) -> RenderedFile:
    """The project's LICENSE inside a package: both declare MIT, and MIT asks for its text."""
    text = LICENSE_SOURCE.read_text(encoding="utf-8")
    return RenderedFile(package_root / "LICENSE", "\n" + text)
