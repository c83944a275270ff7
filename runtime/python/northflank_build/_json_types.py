"""JSON Schema's scalar types, for the generated models.

The generated models import ``StrictInt`` and ``StrictFloat`` from here instead
of from pydantic, because JSON Schema draws the lines differently:

* ``integer`` accepts any number with a zero fractional part (``2.0`` is an
  integer), and never a boolean or a numeric string;
* ``number`` accepts integers and floats, keeps an integer an integer (so a
  validated body serialises back to the same JSON), and never a boolean, a
  numeric string, NaN or an infinity.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AllowInfNan, BeforeValidator, Strict

__all__ = ["StrictFloat", "StrictInt"]


def _integral_float_to_int(value: Any) -> Any:
    """Turn a float with no fractional part into the int JSON Schema sees."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


StrictInt = Annotated[int, BeforeValidator(_integral_float_to_int), Strict()]
"""A JSON Schema ``integer``."""

StrictFloat = Annotated[int, Strict()] | Annotated[float, Strict(), AllowInfNan(False)]
"""A JSON Schema ``number``."""
