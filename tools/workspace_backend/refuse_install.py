"""The root's build backend: this folder is the generator's workspace, not a package.

`pip install -e .` (or `pip install .`) at the root is often the first thing tried.
There is nothing here to install: what users install is generated into
generated/python, and the sandbox runs from this checkout. So every hook ends the
build with a message that says what to run instead, and no traceback.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

__all__ = [
    "INSTEAD",
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
]

INSTEAD = """\
This folder is the generator's workspace, not a package: there is nothing to install here.
Run instead, from this folder:
  pip install ./generated/python     the northflank-build package: client, models, nf-build
  pip install nox && nox -s sandbox  the sandbox, with the exports the README's examples need
  pip install nox && nox -s tests    the test suite (README.md, "Sessions", lists the others)
"""


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    print(INSTEAD, file=sys.stderr, end="")
    raise SystemExit(1)


get_requires_for_build_wheel = _refuse
get_requires_for_build_editable = _refuse
get_requires_for_build_sdist = _refuse
build_wheel = _refuse
build_editable = _refuse
build_sdist = _refuse
