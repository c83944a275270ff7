"""JSON values written as source code, the way each surface's examples show them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["python_literal"]

INDENT = "    "


def python_literal(value: Any, level: int = 0) -> str:
    """A Python literal for a JSON value, one key or item a line, as ruff formats it."""
    if isinstance(value, dict) and value:
        inner = INDENT * (level + 1)
        items = [
            f"{inner}{python_literal(k)}: {python_literal(v, level + 1)}," for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + "\n" + INDENT * level + "}"
    if isinstance(value, list) and value:
        inner = INDENT * (level + 1)
        items = [f"{inner}{python_literal(v, level + 1)}," for v in value]
        return "[\n" + "\n".join(items) + "\n" + INDENT * level + "]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)
