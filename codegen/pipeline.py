"""The stages wired together: load -> validate -> IR -> render -> write."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

import jinja2

from .compose import flatten_all_of
from .ir import Api, build_ir
from .issues import GenerationError, Level, SpecError, SpecIssue
from .load import load_spec
from .provenance import MANIFEST_NAME, manifest, stamp
from .render import RenderedFile, Renderer
from .render.docs import render_docs
from .render.python_cli import render_python_cli
from .render.python_client import render_python_client
from .render.python_models import render_python_models
from .render.python_package import render_python_package, runtime_files
from .render.typescript import render_typescript, typescript_runtime_files
from .templating import TEMPLATES_DIR
from .validate import validate_spec
from .write import replace_tree, stage, stale_files

__all__ = [
    "RENDERERS",
    "REPO_ROOT",
    "check",
    "generate",
    "load_api",
    "render_all",
    "rendered_spec",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIX = ".jinja"

RENDERERS: tuple[Renderer, ...] = (
    render_python_package,
    render_python_models,
    render_python_client,
    render_python_cli,
    render_typescript,
    render_docs,
)


def load_api(spec_path: Path) -> Api:
    """Load and validate the spec; raise SpecError listing every problem."""
    spec = load_spec(spec_path)
    document, issues = flatten_all_of(spec.document)
    issues += validate_spec(document)
    _refuse_errors(spec_path, issues)
    return build_ir(replace(spec, document=document))


def rendered_spec(spec_path: Path) -> list[RenderedFile]:
    """Every file generated from the spec: ``render_all(load_api(spec_path))``."""
    return render_all(load_api(spec_path))


def _refuse_errors(spec_path: Path, issues: Sequence[SpecIssue]) -> None:
    if any(issue.level is Level.ERROR for issue in issues):
        raise SpecError(str(spec_path), sorted(set(issues)))


def render_all(api: Api) -> list[RenderedFile]:
    """Every generated file, stamped with its provenance line, plus the manifest."""
    files = [file for renderer in RENDERERS for file in _rendered(renderer, api)]
    paths = [file.path for file in files]
    duplicates = sorted({str(p) for p in paths if paths.count(p) > 1})
    if duplicates:
        raise RuntimeError(f"two renderers wrote the same file: {', '.join(duplicates)}")
    inputs = [
        *runtime_files(),
        *typescript_runtime_files(),
        *(p for p in TEMPLATES_DIR.rglob("*") if p.is_file()),
    ]
    files.append(
        RenderedFile(
            PurePosixPath(MANIFEST_NAME),
            manifest(api.spec_sha256, inputs, REPO_ROOT, api.package.version),
        )
    )
    return [_stamped(file, api.spec_sha256) for file in files]


def _rendered(renderer: Renderer, api: Api) -> list[RenderedFile]:
    """The renderer's files; its failure becomes a GenerationError at the template line."""
    try:
        return list(renderer(api))
    except Exception as err:
        name = getattr(renderer, "__name__", repr(renderer))
        raise GenerationError(
            failure_location(err), f"{name} failed: {type(err).__name__}: {err}"
        ) from err


def _stamped(file: RenderedFile, spec_sha256: str) -> RenderedFile:
    try:
        return RenderedFile(file.path, stamp(file.path, file.content, spec_sha256))
    except ValueError as err:
        raise GenerationError(f"generated file {file.path}", str(err)) from err


def failure_location(err: BaseException) -> str:
    """Where a rendering failed: the template and line if in a template, else the code line."""
    if isinstance(err, jinja2.TemplateSyntaxError) and err.lineno:
        name = _from_root(err.filename) if err.filename else f"templates/{err.name}"
        return f"{name}, line {err.lineno}"
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):  # Jinja puts each template line in the traceback
        if frame.filename.endswith(TEMPLATE_SUFFIX):
            return f"{_from_root(frame.filename)}, line {frame.lineno}"
    for frame in reversed(frames):
        if Path(frame.filename).resolve().is_relative_to(REPO_ROOT / "codegen"):
            return f"{_from_root(frame.filename)}, line {frame.lineno}"
    return "the generator"


def _from_root(filename: str) -> str:
    path = Path(filename).resolve()
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else filename


def generate(spec_path: Path, out_dir: Path) -> int:
    """Regenerate ``out_dir`` from the spec; returns the number of files written."""
    files = rendered_spec(spec_path)
    with stage(files, out_dir) as staging:
        replace_tree(staging, out_dir)
    return len(files)


def check(spec_path: Path, out_dir: Path) -> list[str]:
    """The files of ``out_dir`` that regeneration would change."""
    files = rendered_spec(spec_path)
    with stage(files, out_dir) as staging:
        if not out_dir.is_dir():
            return [f"{out_dir.name}/ (missing)"]
        return stale_files(staging, out_dir)
