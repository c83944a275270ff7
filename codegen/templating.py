"""The one Jinja environment; every filter is registered here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["TEMPLATES_DIR", "render_template"]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _python_string(value: str) -> str:
    """A Python string literal (JSON's escaping is valid Python)."""
    return json.dumps(value, ensure_ascii=False)


def _toml_string(value: str) -> str:
    """A TOML basic string."""
    return json.dumps(value, ensure_ascii=False)


def _python_literal(value: str | bool | None) -> str:
    """A string, boolean or ``None`` as Python source."""
    if value is None or isinstance(value, bool):
        return repr(value)
    return _python_string(value)


FILTERS: dict[str, Any] = {
    "python_literal": _python_literal,
    "python_string": _python_string,
    "toml_string": _toml_string,
}


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - renders code, not HTML
    )
    environment.filters.update(FILTERS)
    return environment


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)
