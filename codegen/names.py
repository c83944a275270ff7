"""Names are values: each kind of name sanitises itself once."""

from __future__ import annotations

import keyword
import re

__all__ = ["ClassName", "PythonIdentifier", "TsIdentifier", "split_words"]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9]|$)|[A-Z]?[a-z0-9]+|[A-Z]+")


def split_words(text: str) -> list[str]:
    """``buildSettings`` -> [build, Settings]; ``disabledCI`` -> [disabled, CI]."""
    return _WORD.findall(text)


class PythonIdentifier(str):
    """A snake_case Python name that is never a keyword."""

    __slots__ = ()

    def __new__(cls, text: str) -> PythonIdentifier:
        name = "_".join(word.lower() for word in split_words(text)) or "value"
        if name[0].isdigit():
            name = f"n_{name}"
        if keyword.iskeyword(name) or keyword.issoftkeyword(name):
            name = f"{name}_"
        return super().__new__(cls, name)


class ClassName(str):
    """A PascalCase Python class name."""

    __slots__ = ()

    def __new__(cls, text: str) -> ClassName:
        words = split_words(text)
        name = "".join(word[:1].upper() + word[1:] for word in words) or "Model"
        if name[0].isdigit():
            name = f"M{name}"
        return super().__new__(cls, name)


class TsIdentifier(str):
    """A camelCase TypeScript name: ``widget-status`` -> ``widgetStatus``."""

    __slots__ = ()

    def __new__(cls, text: str) -> TsIdentifier:
        words = split_words(text) or ["call"]
        name = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
        if name[0].isdigit():
            name = f"n{name}"
        return super().__new__(cls, name)
