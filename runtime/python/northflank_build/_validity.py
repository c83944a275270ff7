"""The generated fast checks (``_checks``), by model name: the verdict on a request
body or a call's parameters without pydantic or the models.

`valid` says ``True`` only when the value is valid under the spec; ``False`` means
"ask the models", which then name the failing fields (or, for a value JSON cannot
hold, such as a tuple, decide as they always have). Imports nothing but the
standard library and, on first use, the generated ``_checks`` module (by name, as
`_cli_base` finds ``models``: the runtime type-checks without it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["valid"]

_CHECKS: list[dict[str, Callable[[object], bool]]] = []


def valid(model_name: str, value: object) -> bool:
    """Whether the spec admits ``value`` as a ``model_name`` (a request model or an
    ``<Op>Params``); ``False`` also when there is no fast check for it."""
    if not _CHECKS:
        _CHECKS.append(importlib.import_module(f"{__package__}._checks").CHECKS)
    check = _CHECKS[0].get(model_name)
    if check is None:
        return False
    try:
        return check(value)
    except RecursionError:  # nested deeper than the checks recurse: the models decide
        return False
