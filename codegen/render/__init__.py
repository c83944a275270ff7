"""Stage 4: one renderer per surface, each turning the IR into files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..ir import Api

__all__ = ["RenderedFile", "Renderer"]


@dataclass(frozen=True)
class RenderedFile:
    """A file for ``generated/``, its path relative to that folder, without its header."""

    path: PurePosixPath
    content: str


Renderer = Callable[[Api], list[RenderedFile]]
