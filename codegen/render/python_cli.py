"""The generated half of the ``nf-build`` command line: each operation described as data.

The IR has already flattened each request body into `BodyField` rows (flags,
help, choices, examples); the template prints them, and the runtime's
``_cli_base`` turns them into click commands.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..ir import Api
from ..templating import render_template
from . import RenderedFile

__all__ = ["render_python_cli"]


def render_python_cli(api: Api) -> list[RenderedFile]:
    path = PurePosixPath("python") / api.package.import_name / "_cli.py"
    content = render_template("python/_cli.py.jinja", api=api, cli_name=api.package.cli_name)
    return [RenderedFile(path, content)]
