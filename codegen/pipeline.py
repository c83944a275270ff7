"""The stages wired together: load -> validate -> IR -> render -> write."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .ir import Api, build_ir
from .issues import Level, SpecError
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

__all__ = ["RENDERERS", "REPO_ROOT", "check", "generate", "render_all"]

REPO_ROOT = Path(__file__).resolve().parent.parent

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
    issues = validate_spec(spec.document)
    if any(issue.level is Level.ERROR for issue in issues):
        raise SpecError(str(spec_path), issues)
    return build_ir(spec)


def render_all(api: Api) -> list[RenderedFile]:
    """Every generated file, stamped with its provenance line, plus the manifest."""
    files = [file for renderer in RENDERERS for file in renderer(api)]
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
        RenderedFile(PurePosixPath(MANIFEST_NAME), manifest(api.spec_sha256, inputs, REPO_ROOT))
    )
    return [
        RenderedFile(file.path, stamp(file.path, file.content, api.spec_sha256)) for file in files
    ]


def generate(spec_path: Path, out_dir: Path) -> int:
    """Regenerate ``out_dir`` from the spec; returns the number of files written."""
    files = render_all(load_api(spec_path))
    with stage(files, out_dir) as staging:
        replace_tree(staging, out_dir)
    return len(files)


def check(spec_path: Path, out_dir: Path) -> list[str]:
    """The files of ``out_dir`` that regeneration would change."""
    files = render_all(load_api(spec_path))
    with stage(files, out_dir) as staging:
        if not out_dir.is_dir():
            return [f"{out_dir.name}/ (missing)"]
        return stale_files(staging, out_dir)
