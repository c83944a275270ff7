"""``python -m codegen diff OLD NEW``: what changed between two specs, and the bump it needs.

Each change is classified ``breaking``, ``additive`` or ``patch`` by what it
does to each surface (the wire, the Python client, the ``nf-build`` CLI, the
TypeScript types) and reported once per surface it touches, in that surface's
words; the bump is the highest level's (major, minor, patch, or none). Rule ids
follow oasdiff's where oasdiff has the rule.
"""

from __future__ import annotations

from .changes import Change, Level, bump_for
from .main import diff_sides, main
from .sources import SourceError, load_side

__all__ = ["Change", "Level", "SourceError", "bump_for", "diff_sides", "load_side", "main"]
