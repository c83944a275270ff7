"""The stages wired together: load -> validate -> IR -> render -> write."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path, PurePosixPath

import jinja2

from . import validate as validation
from .compose import flatten_all_of
from .ir import Api, build_ir
from .issues import GenerationError, Level, SpecError, SpecIssue
from .load import load_spec
from .provenance import MANIFEST_NAME, manifest, stamp
from .render import RenderedFile, Renderer
from .render.docs import render_docs
from .render.python_checks import render_python_checks
from .render.python_cli import render_python_cli
from .render.python_client import render_python_client
from .render.python_models import render_python_models
from .render.python_package import render_python_package, runtime_files
from .render.typescript import render_typescript, typescript_runtime_files
from .templating import TEMPLATES_DIR
from .validate import Check, Document, check_openapi, validate_spec
from .write import replace_tree, stage, stale_files

__all__ = [
    "BACKGROUND_CHECKS",
    "RENDERERS",
    "REPO_ROOT",
    "check",
    "generate",
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
    render_python_checks,
    render_typescript,
    render_docs,
)


BACKGROUND_CHECKS: tuple[Check, ...] = (check_openapi,)
"""Checks that `rendered_spec` runs in a forked process beside the others and the
rendering: OpenAPI validation costs more (importing its validator most of all) than
all the rest of validation together, and it only has to be done before anything is
written."""


def load_api(spec_path: Path) -> Api:
    """Load and validate the spec; raise SpecError listing every problem."""
    spec = load_spec(spec_path)
    document, issues = flatten_all_of(spec.document)
    issues += validate_spec(document)
    _refuse_errors(spec_path, issues)
    return build_ir(replace(spec, document=document))


def rendered_spec(spec_path: Path) -> list[RenderedFile]:
    """``render_all(load_api(spec_path))``, with `BACKGROUND_CHECKS` run meanwhile.

    The outcome is the same as in that order: every problem of the spec raises one
    SpecError listing them all, and a rendering that fails on a spec the background
    checks refuse reports the spec's problems, not the failure.
    """
    spec = load_spec(spec_path)
    document, issues = flatten_all_of(spec.document)
    background = _BackgroundChecks(document, BACKGROUND_CHECKS)
    try:
        rest = [check for check in validation.CHECKS if check not in BACKGROUND_CHECKS]
        issues += validate_spec(document, rest)
        if _has_errors(issues):
            _refuse_errors(spec_path, [*issues, *background.issues()])
        try:
            files = render_all(build_ir(replace(spec, document=document)))
        except Exception:
            _refuse_errors(spec_path, [*issues, *background.issues()])
            raise
        _refuse_errors(spec_path, [*issues, *background.issues()])
        return files
    finally:
        background.close()


def _has_errors(issues: Sequence[SpecIssue]) -> bool:
    return any(issue.level is Level.ERROR for issue in issues)


def _refuse_errors(spec_path: Path, issues: Sequence[SpecIssue]) -> None:
    if _has_errors(issues):
        raise SpecError(str(spec_path), sorted(set(issues)))


class _BackgroundChecks:
    """Some checks run in a forked child while the caller goes on; inline where a fork
    is not safe (not Linux, or other threads running)."""

    def __init__(self, document: Document, checks: Sequence[Check]) -> None:
        self._found: list[SpecIssue] | None = None
        self._process: BaseProcess | None = None
        self._receiver: Connection | None = None
        if sys.platform != "linux" or threading.active_count() != 1:
            self._found = validate_spec(document, checks)
            return
        for stream in (sys.stdout, sys.stderr):  # or the child would print it again on exit
            if stream is not None:
                stream.flush()
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_send_issues, args=(document, checks, sender), daemon=True
        )
        self._process.start()
        sender.close()

    def issues(self) -> list[SpecIssue]:
        """What the checks found; waits for them."""
        if self._found is None:
            assert self._receiver is not None
            try:
                received: list[SpecIssue] = self._receiver.recv()
            except EOFError:
                received = [SpecIssue("#", "the OpenAPI checks stopped: their process died")]
            self._found = received
        return self._found

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process = None
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None


def _send_issues(document: Document, checks: Sequence[Check], sender: Connection) -> None:
    sender.send(validate_spec(document, checks))
    sender.close()


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
