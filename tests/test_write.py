"""Writes are all or nothing: a failure while rendering or formatting leaves the old tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from codegen import pipeline, templating, write
from codegen.ir import Api
from codegen.issues import GenerationError
from codegen.render import RenderedFile
from codegen.templating import TEMPLATES_DIR
from tests.conftest import ROOT

SPEC = ROOT / "spec" / "openapi.yaml"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    target = tmp_path / "generated"
    target.mkdir()
    (target / "old.txt").write_text("from an earlier run\n")
    return target


def test_a_failure_while_formatting_leaves_the_old_tree(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(out)

    def broken_formatter(root: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(write, "format_python", broken_formatter)
    with pytest.raises(OSError, match="disk full"):
        pipeline.generate(SPEC, out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]


def test_a_failing_swap_puts_the_old_tree_back(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(out)
    real_replace = write.os.replace

    def replace_failing_on_staging(source: Path, target: Path) -> None:
        if ".staging-" in str(source):
            raise OSError("rename refused")
        real_replace(source, target)

    monkeypatch.setattr(write.os, "replace", replace_failing_on_staging)
    with pytest.raises(OSError, match="rename refused"):
        pipeline.generate(SPEC, out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]


def test_a_successful_run_replaces_the_whole_tree(out: Path) -> None:
    pipeline.generate(SPEC, out)
    assert not (out / "old.txt").exists()
    assert (out / "MANIFEST.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]


# --- Build outputs: `npm run build`, `python -m build` and `pip install -e` leave these ---

BUILD_OUTPUTS = {
    "typescript/node_modules/typescript/package.json": b'{"name": "typescript"}\n',
    "typescript/dist/esm/index.js": b"export {};\n",
    "typescript/package-lock.json": b'{"lockfileVersion": 3}\n',
    "python/build/lib/northflank_build/__init__.py": b"",
    "python/dist/northflank_build-1.0.0-py3-none-any.whl": b"PK",
    "python/northflank_build.egg-info/PKG-INFO": b"Name: northflank-build\n",
}


def test_build_outputs_survive_regeneration_and_check_ignores_them(out: Path) -> None:
    pipeline.generate(SPEC, out)
    for name, content in BUILD_OUTPUTS.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)

    assert pipeline.check(SPEC, out) == []
    pipeline.generate(SPEC, out)

    assert {name: (out / name).read_bytes() for name in BUILD_OUTPUTS} == BUILD_OUTPUTS
    assert pipeline.check(SPEC, out) == []
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]
    (out / "typescript" / "stray.ts").write_text("// not generated\n")
    assert pipeline.check(SPEC, out) == ["typescript/stray.ts (not generated; remove it)"]


# --- A bug in a template, a renderer or the formatter: located, nothing written ---------


def _broken_templates(tmp_path: Path, template: str, line: int, text: str) -> Path:
    """A copy of templates/ whose ``template`` has ``text`` in place of line ``line``."""
    copy = tmp_path / "broken" / "templates"
    shutil.copytree(TEMPLATES_DIR, copy)
    lines = (copy / template).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = f"{text}\n"
    (copy / template).write_text("".join(lines), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ api.no_such_attribute }}", "has no attribute 'no_such_attribute'"),
        ("{% for x in %}", "TemplateSyntaxError"),
    ],
    ids=["undefined", "syntax"],
)
def test_a_broken_template_is_located(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    before = _snapshot(out)
    copy = _broken_templates(tmp_path, "python/_client.py.jinja", 8, text)
    environment = templating._environment()
    monkeypatch.setattr(environment.loader, "searchpath", [str(copy)])
    monkeypatch.setattr(environment, "cache", None)  # templates loaded by earlier tests

    with pytest.raises(GenerationError) as caught:
        pipeline.generate(SPEC, out)

    assert caught.value.where == f"{copy / 'python' / '_client.py.jinja'}, line 8"
    assert message in caught.value.message
    assert "render_python_client" in caught.value.message
    assert _snapshot(out) == before


def test_a_renderer_writing_invalid_python_names_the_file(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(out)

    def invalid_python(api: Api) -> list[RenderedFile]:
        # Line 2 once stamped: the provenance line comes first.
        return [RenderedFile(PurePosixPath("python/northflank_build/broken.py"), "def f(:\n")]

    monkeypatch.setattr(pipeline, "RENDERERS", (*pipeline.RENDERERS, invalid_python))
    with pytest.raises(GenerationError) as caught:
        pipeline.generate(SPEC, out)

    assert caught.value.where == "generated file python/northflank_build/broken.py"
    assert "python/northflank_build/broken.py:2:7: invalid-syntax" in caught.value.message
    assert ".staging-" not in caught.value.message
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]


PATCHED_CODEGEN = """
import runpy, sys
import codegen.templating as templating
templating._environment().loader.searchpath = [sys.argv.pop(1)]
runpy.run_module("codegen", run_name="__main__", alter_sys=True)
"""
"""``python -m codegen`` with the templates read from another folder (the first argument)."""


@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
def test_python_m_codegen_reports_a_broken_template_with_exit_2(
    out: Path, tmp_path: Path, check: bool
) -> None:
    before = _snapshot(out)
    copy = _broken_templates(tmp_path, "typescript/client.ts.jinja", 3, "{{ operation }}")
    result = subprocess.run(
        [sys.executable, "-c", PATCHED_CODEGEN, str(copy), "--out", str(out)]
        + (["--check"] if check else []),
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"A bug in the generator, not in the spec: {copy}/typescript/client.ts.jinja, line 3:"
        " render_typescript failed: UndefinedError: 'operation' is undefined",
        f"Nothing was written; {out} is unchanged.",
    ]
    assert "Traceback" not in result.stderr
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["broken", "generated"]


BROKEN_MODELS = """
import runpy
import codegen.render.python_models as models
models.DMCG_OPTIONS["target_python_version"] = "no such version"
runpy.run_module("codegen", run_name="__main__", alter_sys=True)
"""
"""``python -m codegen`` with datamodel-code-generator given an option it refuses."""


def test_a_model_generator_failure_is_located_as_without_the_fork(out: Path) -> None:
    """The models are generated in a forked child; its failure is raised by the parent,
    located in the renderer, as when the models are generated inline."""
    before = _snapshot(out)
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_MODELS, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        "A bug in the generator, not in the spec: codegen/render/python_models.py, line "
    )
    assert "render_python_models failed: ValidationError:" in first
    assert "Traceback" not in result.stderr
    assert _snapshot(out) == before
