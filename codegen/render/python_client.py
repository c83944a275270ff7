"""The generated half of the client: endpoints and the ``client.create.service.build`` tree.

Each level of the tree is printed four times, once per `Flavor`: sync or
async, returning the parsed result or the raw response. The runtime's
`ClientCore` / `AsyncClientCore` do the work; these classes only name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..ir import Api
from ..templating import render_template
from . import RenderedFile

__all__ = ["FLAVORS", "Flavor", "render_python_client"]


@dataclass(frozen=True)
class Flavor:
    """One way to call: what the classes are named, what they hold and what a call returns."""

    prefix: str
    """Before a level's class stem: ``Async`` or nothing."""
    suffix: str
    """After it: ``Resource`` or ``RawResource``."""
    core: str
    """The runtime class the calls go through."""
    define: str
    """``def`` or ``async def``."""
    call: str
    """How a call reaches the core: ``self._core._call`` or ``await self._core._call``."""
    finish: str
    """What follows the call: ``.parse()`` for results, nothing for raw responses."""
    raw: bool
    root: str
    """The class at the root of the tree: the client itself, or its raw view."""


FLAVORS = (
    Flavor("", "Resource", "ClientCore", "def", "self._core._call", ".parse()", False, "Client"),
    Flavor(
        "Async",
        "Resource",
        "AsyncClientCore",
        "async def",
        "(await self._core._call",
        ").parse()",
        False,
        "AsyncClient",
    ),
    Flavor("", "RawResource", "ClientCore", "def", "self._core._call", "", True, "RawClient"),
    Flavor(
        "Async",
        "RawResource",
        "AsyncClientCore",
        "async def",
        "await self._core._call",
        "",
        True,
        "AsyncRawClient",
    ),
)


def render_python_client(api: Api) -> list[RenderedFile]:
    path = PurePosixPath("python") / api.package.import_name / "_client.py"
    content = render_template("python/_client.py.jinja", api=api, flavors=FLAVORS)
    return [RenderedFile(path, content)]
