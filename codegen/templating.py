"""The one Jinja environment; every filter is registered here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

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


def _inline_code(text: str) -> markupsafe.Markup:
    """Prose for HTML: escaped, with Markdown's `code` spans as <code> elements."""
    # Safe: every part is escaped first; only the <code> tags added here are markup.
    parts = str(markupsafe.escape(text)).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: no spans at all
        return markupsafe.Markup("`".join(parts))  # noqa: S704
    spans = (part if i % 2 == 0 else f"<code>{part}</code>" for i, part in enumerate(parts))
    return markupsafe.Markup("".join(spans))  # noqa: S704


FILTERS: dict[str, Any] = {
    "inline_code": _inline_code,
    "python_literal": _python_literal,
    "python_string": _python_string,
    "toml_string": _toml_string,
}


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # Compiled templates, kept between runs in Jinja's per-user temporary folder and
        # keyed by each template's source: like Python's own bytecode, never stale.
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # Code is rendered as it is; HTML templates (*.html.jinja) escape what they print.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.jinja",), default=False),
    )
    environment.filters.update(FILTERS)
    return environment


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)
