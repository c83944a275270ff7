"""The publishable package around the models: metadata, exports, the runtime."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..ir import Api
from ..templating import render_template
from . import RenderedFile

__all__ = ["RUNTIME_DIR", "render_python_package", "runtime_files"]

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime" / "python"


def runtime_files() -> list[Path]:
    """The hand-written runtime modules copied into the package."""
    return sorted(path for path in RUNTIME_DIR.rglob("*.py") if "__pycache__" not in path.parts)


def render_python_package(api: Api) -> list[RenderedFile]:
    package = api.package
    root = PurePosixPath("python")
    files = [
        RenderedFile(
            root / "pyproject.toml", render_template("python/pyproject.toml.jinja", api=api)
        ),
        RenderedFile(root / "README.md", render_template("python/README.md.jinja", api=api)),
        RenderedFile(
            root / package.import_name / "__init__.py",
            render_template("python/__init__.py.jinja", api=api),
        ),
        RenderedFile(root / package.import_name / "py.typed", ""),
    ]
    files += [
        RenderedFile(
            root / path.relative_to(RUNTIME_DIR).as_posix(),
            path.read_text(encoding="utf-8"),
        )
        for path in runtime_files()
    ]
    return files
