"""The diff as people read it (grouped by level) and as tools read it (``--json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .changes import Change, Level, bump_for

__all__ = ["as_json", "as_text"]


def as_json(changes: Sequence[Change]) -> str:
    """``{"bump": ..., "changes": [{"level", "rule", "pointer", "surface", "message"}]}``."""
    payload = {"bump": bump_for(changes), "changes": [c.as_json() for c in changes]}
    return json.dumps(payload, indent=2, ensure_ascii=False)


def as_text(changes: Sequence[Change], old: str, new: str) -> str:
    """A heading with the bump, then each level's changes by surface."""
    counts = {level: sum(c.level is level for c in changes) for level in Level if level}
    summary = ", ".join(f"{n} {level.label}" for level, n in counts.items() if n) or "no changes"
    lines = [f"{old} -> {new}: bump {bump_for(changes)} ({summary})"]
    for level in sorted(counts, reverse=True):
        here = [c for c in changes if c.level is level]
        if not here:
            continue
        lines += ["", f"{level.label.upper()}"]
        for change in here:
            lines.append(f"  [{change.surface}] {change.message}")
            lines.append(f"      {change.rule}  {change.pointer}")
    return "\n".join(lines)
