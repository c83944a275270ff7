"""Writes are all or nothing: a failure while rendering or formatting leaves the old tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen import pipeline, write
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
